"""The vision_msgs built into the venv must be wire-identical to vision_msgs 4.1.x of Humble/Jazzy/Kilted."""
import json
from pathlib import Path

import pytest

ament_index = pytest.importorskip("ament_index_python.packages")

# RIHS01 type hashes of the upstream vision_msgs 4.1.x messages.
UPSTREAM_HASHES = {
    "BoundingBox2D": "RIHS01_008eacbb0cf8f26e83795547bed013eec3675485ef386ec056d80eaaf1c1ce2f",
    "BoundingBox2DArray": "RIHS01_2464e82838009386d371b523211c21c91d74d313fcdd6788223c531d621cf691",
    "BoundingBox3D": "RIHS01_bbb73a65c163d7f9bb29009c7bde9f7faa576bd2d23299c4511d19230dab4698",
    "BoundingBox3DArray": "RIHS01_a81938db9576b10c2eecd7c5a5da3eac496efd00221b25ed051dfbc81fb56da6",
    "Classification": "RIHS01_f74db28d0eaef3afb78f48bf2161cd709a1383a0309d3454383b25be11345143",
    "Detection2D": "RIHS01_0d12b69df5c593b3455b7346fac8205437a7d4bcb09b9e0e0b2dde787ded38ea",
    "Detection2DArray": "RIHS01_214274120007f4a683866481336b70310268cfa107aebe9d594a6acf75bda968",
    "Detection3D": "RIHS01_ddd703be132ab0b69d33121f1bb034132bfbb3b0ac5f9fb1516005ba1c8a265b",
    "Detection3DArray": "RIHS01_793f5eab9595ac1c0da07873cc859db42eae51f0ee76056db8562515d830e018",
    "LabelInfo": "RIHS01_3d37df4015cdf660cc851c51897f2acd957e1ca6205ba0a99aebffb9406b0783",
    "ObjectHypothesis": "RIHS01_51da43cec11c01957a64d1e05a24acd18aae7745ec30b74348ad5f6d634f7f90",
    "ObjectHypothesisWithPose": "RIHS01_41c12344c0396c48b81df12467c192d99b2a0eb1463c5c37194e4223251c80bc",
    "Point2D": "RIHS01_eab0e83f44ab4de92ceaf76dd7d0e7638f2bdd1d16ffbe16c7a136c48e407247",
    "Pose2D": "RIHS01_b0b5d1d7b4c20dd4fcde3ed1d4b289a919290572007d67a97043814db25d3648",
    "VisionClass": "RIHS01_1e4a11f0fed50b5623cb8ff26ca0e37952a48a9c074d16f804b44e9164c2037a",
    "VisionInfo": "RIHS01_95d3116a17484ad91c9a2686e1d54890bbfc3ff6c6a2de137738c4950d45d284",
}


def generated_hashes():
    msg_dir = Path(ament_index.get_package_share_directory("vision_msgs")) / "msg"
    hashes = {}
    for path in sorted(msg_dir.glob("*.json")):
        description = json.loads(path.read_text())
        # The first entry describes the message itself; the rest are the types it refers to.
        hashes[path.stem] = description["type_hashes"][0]["hash_string"]
    return hashes


def test_every_message_hash_matches_upstream():
    assert generated_hashes() == UPSTREAM_HASHES


def test_every_message_imports_in_python():
    import vision_msgs.msg

    missing = [name for name in UPSTREAM_HASHES if not hasattr(vision_msgs.msg, name)]
    assert missing == []
    detection = vision_msgs.msg.Detection2D()
    assert list(detection.get_fields_and_field_types()) == ["header", "results", "bbox", "id"]
