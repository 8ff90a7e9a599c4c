"""The package builds with colcon as on a robot, and installs what `ros2 run` and `ros2 launch` need."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_colcon_build_installs_node_launch_and_config(tmp_path, ros_env):
    colcon = shutil.which("colcon", path=str(Path(sys.executable).parent)) or shutil.which("colcon")
    if colcon is None:
        pytest.skip("colcon is not installed (make setup installs colcon-common-extensions)")
    result = subprocess.run(
        [colcon, "--log-base", str(tmp_path / "log"), "build",
         "--paths", str(REPO_ROOT),
         "--build-base", str(tmp_path / "build"), "--install-base", str(tmp_path / "install")],
        cwd=tmp_path, env=ros_env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    install = tmp_path / "install"
    node = install / "deepsort_ros" / "lib" / "deepsort_ros" / "tracker_node"
    share = install / "deepsort_ros" / "share" / "deepsort_ros"
    assert node.is_file() and os.access(node, os.X_OK)
    assert (share / "package.xml").is_file()
    assert sorted(p.name for p in (share / "launch").glob("*.launch.py"))
    assert sorted(p.name for p in (share / "config").glob("*.yaml"))
    index = install / "deepsort_ros" / "share" / "ament_index" / "resource_index" / "packages" / "deepsort_ros"
    assert index.is_file()
