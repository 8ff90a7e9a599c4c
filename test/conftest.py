"""Shared test fixtures.

Every test process talks DDS on loopback only and on a domain of its own, so tests never reach other
machines and parallel runs never see each other's nodes. The settings are applied at import time, before
any test module can import rclpy, and inherited by every process a test starts.
"""
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
MOT_DATA = REPO_ROOT.parent / "shared" / "data" / "mot"
VTEST_AVI = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ["ROS_LOCALHOST_ONLY"] = "1"
# One domain per pytest run (1..101 are valid on every platform); an outer per-run choice wins.
os.environ.setdefault("ROS_DOMAIN_ID", str(os.getpid() % 101 + 1))
# A venv holding the ROS 2 wheels is itself a ROS prefix; apt installs set this by sourcing setup.bash.
if (Path(sys.prefix) / "share" / "ament_index").is_dir():
    os.environ.setdefault("AMENT_PREFIX_PATH", sys.prefix)


@pytest.fixture(scope="session")
def ros_env():
    """Environment for child processes that start ROS: loopback-only DDS on this run's domain."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    # The venv's bin directory holds the entry points (tracker_node, video_publisher, ...).
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def mot_data():
    """The shared MOT15 sequences, or a skip when this checkout has none beside it."""
    if not MOT_DATA.is_dir():
        pytest.skip(f"MOT data not found at {MOT_DATA}")
    return MOT_DATA


@pytest.fixture(scope="session")
def vtest_avi():
    """PETS09-S2L1 as a video (Debian's opencv-doc), or a skip naming how to get it."""
    if not VTEST_AVI.is_file():
        pytest.skip(f"{VTEST_AVI} missing: install Debian's opencv-doc (make setup does when apt is available)")
    return VTEST_AVI
