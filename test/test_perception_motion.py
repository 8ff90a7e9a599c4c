"""Motion (background subtraction) detector and camera motion estimator."""
import cv2
import numpy as np
import pytest

from deepsort_ros.perception.camera_motion import CameraMotionEstimator
from deepsort_ros.perception.detection_quality import DetectionCounts
from deepsort_ros.perception.motion_detector import MotionDetector
from deepsort_ros.tools.mot import read_mot_rows
from deepsort_ros.tools.synthetic_scene import SyntheticScene


def test_finds_moving_synthetic_people():
    # MOG2 learns fast from its first frames; 30 background frames settle it before people walk in.
    scene = SyntheticScene(people=4, seed=5, empty_frames=30)
    detector = MotionDetector()
    counts = DetectionCounts()
    for index, (bgr, boxes, _) in enumerate(scene.frames(70)):
        found, scores, classes = detector.detect([bgr])[0]
        assert found.dtype == np.float32 and scores.dtype == np.float32 and classes.dtype == np.int64
        if index < 30:
            assert len(found) == 0  # background only
        else:
            counts.add(found, boxes, np.ones(len(boxes), bool))
            assert np.all(classes == 0) and np.all((scores > 0) & (scores <= 1))
    assert counts.recall > 0.95
    assert counts.precision > 0.95


def test_static_objects_and_small_blobs_are_not_people():
    detector = MotionDetector()
    background = SyntheticScene(people=0, seed=6, noise=1.0).frame(0)[0]
    for _ in range(5):
        assert len(detector.detect([background])[0][0]) == 0
    blob = background.copy()
    cv2.rectangle(blob, (100, 100), (110, 108), (0, 0, 255), -1)      # too small
    cv2.rectangle(blob, (300, 200), (500, 240), (255, 0, 0), -1)      # wide, not person-like
    assert len(detector.detect([blob])[0][0]) == 0


def test_finds_people_in_pets09(vtest_avi, mot_data):
    gt = read_mot_rows(mot_data / "PETS09-S2L1" / "gt" / "gt.txt")
    starts = gt.frame_slices(200)
    capture = cv2.VideoCapture(str(vtest_avi))
    detector = MotionDetector()
    counts = DetectionCounts()
    for frame in range(1, 201):
        ok, bgr = capture.read()
        assert ok
        here = slice(starts[frame], starts[frame + 1])
        counts.add(detector.detect([bgr])[0][0], gt.boxes_xyxy[here], gt.scores[here] != 0)
    capture.release()
    # Over the whole video (deepsort-bench --gt --num-frames 795) recall is 0.70 at precision 0.87; the first 200
    # frames include learning the background.
    assert counts.recall > 0.5
    assert counts.precision > 0.75


def test_detection_counts_ignore_unscored_people():
    counts = DetectionCounts()
    gt = np.array([[0, 0, 10, 20], [50, 50, 60, 70]], float)
    detections = np.array([[0, 0, 10, 20], [50, 50, 60, 70], [100, 100, 110, 120]], float)
    counts.add(detections, gt, np.array([True, False]))
    assert (counts.matched, counts.ground_truth, counts.detections) == (1, 1, 2)
    assert (counts.recall, counts.precision) == (1.0, 0.5)


def _textured(height=360, width=480, seed=0):
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(height // 8, width // 8))
    grey = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    grey = np.clip(128 + 50 * grey, 0, 255).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


@pytest.mark.parametrize("model", ["partial", "affine"])
def test_estimator_recovers_known_shift_with_moving_object_masked(model):
    first = _textured()
    shift = np.array([[1.0, 0.0, 3.3], [0.0, 1.0, -2.1]])
    second = cv2.warpAffine(first, shift, (first.shape[1], first.shape[0]), borderMode=cv2.BORDER_REFLECT)
    # A person-sized patch moving on its own, which the estimator is told to ignore.
    person_first, person_second = (200, 100, 240, 200), (230, 110, 270, 210)
    cv2.rectangle(first, person_first[:2], person_first[2:], (0, 0, 255), -1)
    cv2.rectangle(second, person_second[:2], person_second[2:], (0, 0, 255), -1)
    estimator = CameraMotionEstimator(model=model)
    np.testing.assert_array_equal(estimator.estimate(first, np.array([person_first])), np.eye(2, 3))
    warp = estimator.estimate(second, np.array([person_second]))
    assert warp.shape == (2, 3)
    assert np.abs(warp[:, 2] - shift[:, 2]).max() < 0.5
    np.testing.assert_allclose(warp[:, :2], np.eye(2), atol=0.01)
    assert estimator.inliers >= estimator.min_inliers


def test_estimator_gives_identity_without_texture_and_after_reset():
    estimator = CameraMotionEstimator()
    flat = np.full((120, 160, 3), 90, np.uint8)
    estimator.estimate(flat)
    np.testing.assert_array_equal(estimator.estimate(flat), np.eye(2, 3))
    textured = _textured()
    estimator.estimate(textured)
    estimator.reset()
    np.testing.assert_array_equal(estimator.estimate(textured), np.eye(2, 3))
