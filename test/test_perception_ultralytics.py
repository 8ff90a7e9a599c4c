"""ultralytics detector with models built from their YAML (random weights): pre/post-processing only."""
import cv2
import numpy as np
import pytest

pytest.importorskip("ultralytics")

from deepsort_ros.perception import build_detector  # noqa: E402
from deepsort_ros.perception.ultralytics_detector import resolve_classes  # noqa: E402

CAR = 2


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """yolov8n from its YAML, random weights, with class biases set so every anchor scores 'car'."""
    from ultralytics import YOLO

    model = YOLO("yolov8n.yaml")
    head = model.model.model[-1]
    for branch in head.cv3:
        branch[-1].bias.data[:] = -10.0
        branch[-1].bias.data[CAR] = 4.0
    names = {index: f"class{index}" for index in range(80)}
    names.update({0: "person", CAR: "car"})
    model.model.names = names
    path = tmp_path_factory.mktemp("yolo") / "yolov8n_random.pt"
    model.save(str(path))
    return path


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    small = cv2.resize(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), (320, 240),
                       interpolation=cv2.INTER_CUBIC)
    return small


def _detector(model_file, **overrides):
    config = {"backend": "ultralytics", "model": str(model_file), "device": "cpu", "imgsz": 320,
              "confidence": 0.5, "warmup": False, **overrides}
    return build_detector(config)


def test_missing_model_file_names_path_and_how_to_get_weights(tmp_path):
    missing = tmp_path / "yolo11n.pt"
    with pytest.raises(ValueError, match=r"yolo11n.pt not found.*nothing is downloaded"):
        build_detector({"backend": "ultralytics", "model": str(missing)})
    assert not missing.exists()


def test_outputs_and_class_names(model_file, frames):
    detector = _detector(model_file, warmup=True, max_detections=25)
    assert detector.class_names[CAR] == "car" and len(detector.class_names) == 80
    (boxes, scores, classes), = detector.detect([frames])
    assert boxes.dtype == np.float32 and scores.dtype == np.float32 and classes.dtype == np.int64
    assert 0 < len(boxes) <= 25 and boxes.shape == (len(scores), 4) == (len(classes), 4)
    assert np.all(classes == CAR) and np.all(scores >= 0.5)
    assert np.all(boxes >= 0) and np.all(boxes[:, [0, 2]] <= 320) and np.all(boxes[:, [1, 3]] <= 240)
    assert detector.detect([]) == []


def test_class_filter_by_name_or_index_and_empty_output(model_file, frames):
    by_name = _detector(model_file, classes=["car", "person"])
    by_index = _detector(model_file, classes=[CAR])
    assert by_name.classes == [0, CAR] and by_index.classes == [CAR]
    np.testing.assert_array_equal(by_name.detect([frames])[0][0], by_index.detect([frames])[0][0])
    boxes, scores, classes = _detector(model_file, classes=["person"]).detect([frames])[0]
    assert boxes.shape == (0, 4) and scores.shape == (0,) and classes.shape == (0,)
    with pytest.raises(ValueError, match="'unicorn' is not a class"):
        _detector(model_file, classes=["unicorn"])
    with pytest.raises(ValueError, match="not a class index"):
        resolve_classes([80], {0: "person"})


def test_letterbox_mapping_back_to_original_pixels(model_file, frames):
    # Three frames the letterbox turns into the same 320x320 network input: the original (padded by
    # 40 rows above and below), a 2x nearest-neighbour enlargement (resized by 0.5, then padded) and
    # the original already padded with the letterbox grey. Boxes must map back accordingly.
    detector = _detector(model_file)
    enlarged = cv2.resize(frames, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    padded = cv2.copyMakeBorder(frames, 40, 40, 0, 0, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    (base, base_scores, _), (big, _, _), (pad, _, _) = detector.detect([frames, enlarged, padded])
    assert len(base) > 0 and len(big) == len(base) == len(pad)
    np.testing.assert_allclose(big, 2 * base, atol=1e-3)
    # Boxes of the original are clipped to its 240 rows; the padded frame's reach into the padding.
    unpadded = np.clip(pad - [0, 40, 0, 40], 0, [320, 240, 320, 240])
    np.testing.assert_allclose(unpadded, base, atol=1e-3)
    # A frame the letterbox leaves alone gives the same boxes alone as in a batch.
    (single, _, _), = detector.detect([padded])
    np.testing.assert_allclose(single, pad, atol=1e-3)


def test_rejects_non_images(model_file):
    detector = _detector(model_file)
    with pytest.raises(ValueError, match="BGR uint8"):
        detector.detect([np.zeros((10, 10), np.uint8)])
