"""config/tracker.rviz shows what the node publishes for RViz: tracks/image, tracks/markers, target_pose."""
from pathlib import Path

import yaml

RVIZ = Path(__file__).resolve().parents[1] / "config" / "tracker.rviz"


def test_rviz_config_shows_the_image_markers_and_target():
    config = yaml.safe_load(RVIZ.read_text())
    displays = {d["Class"]: d for d in config["Visualization Manager"]["Displays"]}
    assert displays["rviz_default_plugins/Image"]["Topic"]["Value"] == "/tracks/image"
    assert displays["rviz_default_plugins/MarkerArray"]["Topic"]["Value"] == "/tracks/markers"
    assert displays["rviz_default_plugins/Pose"]["Topic"]["Value"] == "/target_pose"
    assert config["Visualization Manager"]["Global Options"]["Fixed Frame"] == "base_footprint"
