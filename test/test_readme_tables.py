"""The README's topic and parameter tables are exactly what the node declares."""
from pathlib import Path

import pytest

pytest.importorskip("rclpy")
from deepsort_ros.ros import interface_docs  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def sections():
    return interface_docs.generated_sections()


@pytest.mark.parametrize("name", ["topics", "parameters"])
def test_readme_section_matches_the_node(sections, name):
    found = interface_docs.section_pattern(name).search(README.read_text())
    assert found, f"README.md lacks the generated {name} section"
    assert found.group(1) == sections[name], (
        f"README.md's {name} table is out of date: run python -m deepsort_ros.ros.interface_docs --write README.md")


def test_topics_cover_inputs_and_outputs(sections):
    table = sections["topics"]
    for row in ("| subscribes | `image` | `sensor_msgs/Image`", "| subscribes | `detections` |",
                "| publishes | `tracks` | `vision_msgs/Detection2DArray`", "| publishes | `tracks/image` |",
                "| publishes | `label_info` | `vision_msgs/LabelInfo`", "| publishes | `/diagnostics` |"):
        assert row in table


def test_rewrite_replaces_only_the_marked_section():
    begin, end = (marker.format(name="topics") for marker in (interface_docs.BEGIN, interface_docs.END))
    text = f"intro\n{begin}\nold table\n{end}\noutro\n"
    assert interface_docs.rewrite(text, {"topics": "new table"}) == f"intro\n{begin}\nnew table\n{end}\noutro\n"
    with pytest.raises(ValueError, match="parameters"):
        interface_docs.rewrite(text, {"parameters": "x"})
