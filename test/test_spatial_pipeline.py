"""Tracks in metres through the pipeline on the synthetic RGB-D scene (depth mode) and on a ground plane."""
import numpy as np
import pytest

from deepsort_ros.core.camera_geometry import CameraModel
from deepsort_ros.core.linear_assignment import iou_matrix
from deepsort_ros.core.spatial_estimator import SpatialFrame
from deepsort_ros.pipeline import STAGES, Pipeline
from deepsort_ros.tools.synthetic_depth import DepthScene

FPS = 15.0


def run_depth_scene(frames=60, visible=0.3):
    """Track the scene from its true boxes (1 px noise; people less than ``visible`` in view are missed as a
    detector would); returns per-frame (result, rendered frame)."""
    scene = DepthScene()
    camera = scene.camera
    pipeline = Pipeline.from_config({"detector": {"backend": "external"}, "spatial": {"mode": "depth"}})
    rng = np.random.default_rng(3)
    out = []
    for index in range(frames):
        frame = scene.render(index / FPS)
        seen = frame.visible > visible
        boxes = frame.boxes[seen] + rng.normal(0, 1.0, (seen.sum(), 4))
        result = pipeline.process(frame.bgr, index / FPS, detections=(boxes, np.full(len(boxes), 0.9)),
                                  spatial=SpatialFrame(camera, frame.depth_mm, 0.001))
        out.append((result, frame))
    return out


def test_depth_mode_positions_and_velocities_match_the_scene():
    position_errors, velocity_errors = [], []
    for result, frame in run_depth_scene():
        states = result.spatial.states
        assert np.array_equal(states.ids, result.tracks.ids)        # one metric row per reported track
        assert result.spatial_error is None and STAGES[-1] == "spatial" and result.timings_ms["spatial"] > 0
        if not len(states):
            continue
        iou = iou_matrix(result.tracks.boxes_xyxy, frame.boxes)
        person = iou.argmax(axis=1)
        matched = (iou.max(axis=1) > 0.5) & states.known
        position_errors += list(np.linalg.norm(states.positions[matched] - frame.centres[person[matched]], axis=1))
        settled = matched & (states.ages_s > 1.0)
        velocity_errors += list(np.linalg.norm(states.velocities[settled] - frame.velocities[person[settled]], axis=1))
    assert len(position_errors) > 150 and len(velocity_errors) > 60
    assert np.median(position_errors) <= 0.05
    assert np.median(velocity_errors) <= 0.1


def test_depth_holes_everywhere_predict_and_flag_instead_of_failing():
    scene = DepthScene()
    camera = scene.camera
    pipeline = Pipeline.from_config({"detector": {"backend": "external"}, "spatial": {"mode": "depth"}})
    for index in range(10):
        frame = scene.render(index / FPS)
        depth = frame.depth_mm if index < 8 else np.zeros_like(frame.depth_mm)
        result = pipeline.process(frame.bgr, index / FPS, detections=(frame.boxes, np.ones(4)),
                                  spatial=SpatialFrame(camera, depth, 0.001))
    states = result.spatial.states
    assert len(states) == 4 and states.known.all() and not states.measured.any()
    # Missing inputs: the tracks are predicted and the reason is given, the 2D tracks still come.
    result = pipeline.process(frame.bgr, 10 / FPS, detections=(frame.boxes, np.ones(4)), spatial=None)
    assert len(result.tracks) == 4 and result.spatial_error and result.spatial.states.known.all()


def test_ground_plane_mode_from_config():
    pipeline = Pipeline.from_config({"detector": {"backend": "external"},
                                     "spatial": {"mode": "ground_plane", "camera_z": 1.2}})
    camera = CameraModel.create([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]], [], 640, 480)
    # Camera level, 1.2 m up: a box bottom 100 px below the centre is 6 m ahead.
    boxes = np.array([[300.0, 100.0, 340.0, 340.0]])
    for index in range(6):
        result = pipeline.process(np.zeros((480, 640, 3), np.uint8), index * 0.1, detections=(boxes, [0.9]),
                                  spatial=SpatialFrame(camera))
    assert result.spatial.states.positions[0] == pytest.approx([6.0, 0.0, 0.0], abs=1e-6)
    with pytest.raises(ValueError, match="spatial"):
        Pipeline.from_config({"detector": {"backend": "external"}, "spatial": {"mode": "stereo"}})


def test_reset_forgets_the_metric_state_so_a_replay_from_an_earlier_time_tracks_again():
    pipeline = Pipeline.from_config({"detector": {"backend": "external"},
                                     "spatial": {"mode": "ground_plane", "camera_z": 1.2}})
    camera = CameraModel.create([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]], [], 640, 480)
    image = np.zeros((480, 640, 3), np.uint8)

    def walk(start_s):
        """A person 6 m ahead crossing at 5 px (0.06 m) per 0.1 s frame: 0.6 m/s."""
        for index in range(25):
            boxes = np.array([[300.0 + 5 * index, 100.0, 340.0 + 5 * index, 340.0]])
            result = pipeline.process(image, start_s + index * 0.1, detections=(boxes, [0.9]),
                                      spatial=SpatialFrame(camera))
        return result

    first = walk(100.0)
    pipeline.reset()
    again = walk(0.0)  # the replay starts again, 100 s earlier
    assert again.tracks.ids[0] > first.tracks.ids[0]  # ids continue
    states = again.spatial.states
    assert states.known.all() and states.ages_s[0] < 2.5
    assert np.linalg.norm(states.velocities[0]) == pytest.approx(0.6, abs=0.15)
