"""Pipeline: config validation, detection handling and end-to-end tracking on synthetic frames."""
import numpy as np
import pytest

from deepsort_ros.core import Tracks
from deepsort_ros.core.linear_assignment import iou_matrix
from deepsort_ros.pipeline import STAGES, Pipeline, sanitise_detections
from deepsort_ros.tools.synthetic_scene import SyntheticScene

EXTERNAL = {"detector": {"backend": "external", "class_names": ["person", "car"]}}


def test_motion_and_histogram_track_synthetic_people_with_stable_ids():
    scene = SyntheticScene(people=4, seed=1, empty_frames=30)
    pipeline = Pipeline.from_config({"detector": {"backend": "motion"}, "reid": {"backend": "histogram"},
                                     "motion_compensation": True})
    assert pipeline.class_names == ["person"]
    ids_per_person: dict[int, list[int]] = {}
    for index, (bgr, boxes, ids) in enumerate(scene.frames(80)):
        result = pipeline.process(bgr, timestamp=index / 10.0)
        assert set(result.timings_ms) == set(STAGES) and all(v >= 0 for v in result.timings_ms.values())
        assert isinstance(result.tracks, Tracks) and result.warp.shape == (2, 3)
        if index < 40:
            continue  # background learnt, people walked in, tracks confirmed
        tracks = result.tracks
        overlap = iou_matrix(boxes, tracks.boxes_xyxy) if len(tracks) else np.zeros((len(boxes), 1))
        for person, row in zip(ids, overlap):
            if row.max() > 0.5:
                ids_per_person.setdefault(int(person), []).append(int(tracks.ids[row.argmax()]))
    assert len(ids_per_person) == 4
    for track_ids in ids_per_person.values():
        # A person turning at the border overlaps itself and may be missed for a frame or two.
        assert len(track_ids) >= 36  # of 40 frames
        assert len(set(track_ids)) == 1  # one id per person for the whole run
    assert len({ids[0] for ids in ids_per_person.values()}) == 4


def test_external_detections_nan_rows_dropped_and_counted():
    pipeline = Pipeline.from_config(EXTERNAL)
    bgr = np.zeros((100, 100, 3), np.uint8)
    boxes = np.array([[10, 10, 30, 60], [np.nan, 0, 5, 5], [40, 40, 40, 70], [50, 10, 70, 60]], float)
    result = pipeline.process(bgr, 0.0, detections=(boxes, [0.9, 0.9, 0.9, 0.8], [0, 0, 1, 1]))
    assert result.dropped_detections == 2
    kept_boxes, kept_scores, kept_classes = result.detections
    np.testing.assert_array_equal(kept_boxes, boxes[[0, 3]].astype(np.float32))
    np.testing.assert_array_equal(kept_classes, [0, 1])
    assert result.class_names == ["person", "car"]
    assert result.timings_ms["embed"] == 0.0 and result.warp is None
    with pytest.raises(ValueError, match="needs detections"):
        pipeline.process(bgr, 0.1)


def test_zero_detections_and_two_element_detections():
    pipeline = Pipeline.from_config({**EXTERNAL, "reid": {"backend": "histogram"}})
    bgr = np.zeros((50, 50, 3), np.uint8)
    result = pipeline.process(bgr, 0.0, detections=(np.zeros((0, 4)), np.zeros(0), None))
    assert len(result.tracks) == 0 and result.detections[0].shape == (0, 4)
    result = pipeline.process(bgr, 0.1, detections=([[1, 1, 20, 40]], [0.9]))
    np.testing.assert_array_equal(result.detections[2], [0])


@pytest.mark.parametrize("detections, match", [
    ((np.zeros((2, 3)), np.zeros(2), None), r"shape \(N, 4\)"),
    ((np.zeros((2, 4)), np.zeros(3), None), "2 boxes but 3 scores"),
    ((np.zeros((2, 4)), np.zeros(2), [0]), "2 boxes but 1 classes"),
    ((np.ones((1, 4)), np.ones(1), [0.5]), "classes must be integers"),
])
def test_malformed_detections_raise(detections, match):
    with pytest.raises(ValueError, match=match):
        sanitise_detections(*detections)


@pytest.mark.parametrize("config, match", [
    ({}, "missing key 'detector'"),
    ({**EXTERNAL, "tracking": {}}, r"unknown key\(s\) \['tracking'\]"),
    ({**EXTERNAL, "tracker": {"max_ages": 3}}, "max_ages"),
    ({**EXTERNAL, "tracker": 5}, "tracker must be a dict"),
    ({**EXTERNAL, "motion_compensation": "yes"}, "motion_compensation='yes'"),
    ({**EXTERNAL, "motion_compensation": {"enabled": 1}}, "enabled=1"),
    ({**EXTERNAL, "motion_compensation": {"scale": 7.0}}, r"scale=7.0"),
    ({**EXTERNAL, "reid": {"backend": "colour"}}, "backend='colour'"),
    ([], "must be a dict"),
])
def test_config_errors_name_the_problem(config, match):
    with pytest.raises(ValueError, match=match):
        Pipeline.from_config(config)


def test_motion_compensation_settings_and_switch():
    on = Pipeline.from_config({**EXTERNAL, "motion_compensation": {"model": "affine", "scale": 0.25}})
    assert on.motion_estimator is not None and on.motion_estimator.model == "affine"
    off = Pipeline.from_config({**EXTERNAL, "motion_compensation": {"enabled": False, "scale": 0.25}})
    assert off.motion_estimator is None


def test_rejects_non_image():
    pipeline = Pipeline.from_config(EXTERNAL)
    with pytest.raises(ValueError, match="BGR uint8"):
        pipeline.process(np.zeros((10, 10, 3), np.float32), 0.0, detections=(np.zeros((0, 4)), np.zeros(0)))


def test_reset_forgets_tracks_background_and_camera_motion_but_not_ids():
    scene = SyntheticScene(people=2, seed=3, empty_frames=20)
    pipeline = Pipeline.from_config({"detector": {"backend": "motion"}, "reid": {"backend": "histogram"},
                                     "motion_compensation": True})
    frames = list(scene.frames(45))
    for index, (bgr, _, _) in enumerate(frames[:40]):
        result = pipeline.process(bgr, timestamp=index / 10.0)
    ids_before = set(result.tracks.ids.tolist())
    assert len(ids_before) == 2
    pipeline.reset()
    # The background model is new: the first frame after a reset is all background, so nothing is found;
    # without the reset the walkers would be detected (they are mid-scene).
    bgr = frames[40][0]
    assert len(pipeline.detector.detect([bgr])[0][0]) == 0
    # Camera motion starts over: no previous frame to compare with.
    assert np.allclose(pipeline.motion_estimator.estimate(bgr), np.eye(2, 3))
    # Tracks are gone, the clock too (an earlier timestamp is fine), and new tracks get new ids.
    pipeline.reset()
    for index, (bgr, _, _) in enumerate(frames[:40]):
        result = pipeline.process(bgr, timestamp=index / 10.0)
    assert len(result.tracks) == 2 and min(result.tracks.ids.tolist()) > max(ids_before)


def test_set_tracker_config_changes_settings_but_not_build_time_ones():
    pipeline = Pipeline.from_config(EXTERNAL)
    config = pipeline.tracker.config
    applied = pipeline.set_tracker_config({**config.to_dict(), "n_init": 1, "max_age_s": 0.5})
    assert pipeline.tracker.config == applied and (applied.n_init, applied.max_age_s) == (1, 0.5)
    bgr = np.zeros((100, 100, 3), np.uint8)
    tracks = pipeline.process(bgr, 1.0, detections=(np.array([[10.0, 10, 30, 60]]), np.array([0.9]))).tracks
    assert len(tracks) == 1  # n_init 1: confirmed at once
    with pytest.raises(ValueError, match="state_space"):
        pipeline.set_tracker_config({**applied.to_dict(), "state_space": "xywh" if config.state_space != "xywh" else "xyah"})
    with pytest.raises(ValueError, match="n_init"):
        pipeline.set_tracker_config({**applied.to_dict(), "n_init": 0})
    assert pipeline.tracker.config == applied
