"""Camera geometry, robust box depth, the metric Kalman filter and the spatial estimator (numpy only)."""
import numpy as np
import pytest

from deepsort_ros.core.camera_geometry import CameraModel, CameraPose, ground_points
from deepsort_ros.core.metric_filter import MetricFilter
from deepsort_ros.core.person_depth import box_depths
from deepsort_ros.core.spatial_estimator import SpatialConfig, SpatialEstimator, SpatialFrame, SpatialInputError
from deepsort_ros.core.track import Tracks, TrackState

K = [[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]]


def test_undistortion_inverts_plumb_bob_distortion():
    camera = CameraModel.create(K, [-0.3, 0.12, 0.001, -0.002, -0.02], 640, 480)
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.uniform(-0.6, 0.6, (200, 2)), np.ones(200)])
    pixels = camera.project(points)
    assert np.abs(camera.normalise(pixels) - points[:, :2]).max() < 1e-6


def test_zero_focal_length_is_rejected():
    with pytest.raises(ValueError, match="focal"):
        CameraModel.create([[0.0, 0, 320], [0, 500, 240], [0, 0, 1]])


def test_pose_round_trips_and_ground_rays_meet_known_points():
    pose = CameraPose.from_body_rpy(1.0, -2.0, 1.5, 0.05, 0.3, 0.7)
    assert np.allclose(CameraPose.from_body_rpy(1.0, -2.0, 1.5, *pose.body_rpy()).rotation, pose.rotation)
    camera = CameraModel.create(K, [-0.2, 0.05], 640, 480)
    ground = np.array([[4.0, 1.0, 0.0], [6.0, 0.0, 0.0], [3.0, 2.0, 0.0]])
    pixels = camera.project(pose.to_optical(ground))
    points, valid = ground_points(camera, pose, pixels)
    assert valid.all() and np.abs(points - ground).max() < 1e-6
    # Looking up (pitch -0.3): rays through the image centre never meet the ground.
    up = CameraPose.from_body_rpy(0, 0, 1.5, 0, -0.3, 0)
    points, valid = ground_points(camera, up, np.array([[320.0, 240.0]]))
    assert not valid.any() and np.isnan(points).all()


def test_box_depth_ignores_background_holes_and_a_smaller_occluder():
    depth = np.full((480, 640), 6000, np.uint16)               # wall at 6 m
    depth[100:400, 200:300] = 3000                              # person at 3 m
    depth[250:400, 240:260] = 6000                              # wall seen between the legs
    depth[150:200, 200:300] = 0                                 # hole across the chest
    depth[180:230, 270:300] = 1500                              # an arm of someone in front
    boxes = np.array([[200.0, 100.0, 300.0, 400.0], [400.0, 50.0, 450.0, 60.0]])
    depth[50:60, 400:450] = 0                                   # only holes
    values = box_depths(depth, boxes, 0.001)
    assert values[0] == pytest.approx(3.0) and np.isnan(values[1])
    # A half-resolution float depth image registered to the same view gives the same answer.
    half = depth[::2, ::2].astype(np.float32) * 0.001
    half[half == 0] = np.nan
    assert box_depths(half, boxes[:1], 1.0, image_size=(640, 480))[0] == pytest.approx(3.0)


def test_metric_filter_estimates_velocity_coasts_and_drops_ended_ids():
    rng = np.random.default_rng(1)
    metric = MetricFilter(accel_std=0.5)
    velocity = np.array([1.0, -0.5, 0.0])
    cov = np.broadcast_to(np.eye(3) * 0.05 ** 2, (2, 3, 3))
    for step in range(40):
        t = step * 0.1
        truth = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 0.0]]) + velocity * t
        states = metric.update([3, 7], t, truth + rng.normal(0, 0.05, (2, 3)), cov, [True, True])
    assert np.abs(states.velocities - velocity).max() < 0.15
    assert np.abs(states.positions - truth).max() < 0.1
    # Rows follow the ids given, in any order.
    swapped = metric.update([7, 3], 3.9, truth[::-1], cov, [True, True])
    assert np.abs(swapped.positions - truth[::-1]).max() < 0.1
    # Id 3 coasts: predicted along its velocity and flagged; id 9 is new without a measurement: unknown.
    states = metric.update([3, 9], 4.0, np.full((2, 3), np.nan), np.full((2, 3, 3), np.nan), [False, False])
    assert states.known.tolist() == [True, False] and not states.measured.any()
    assert np.abs(states.positions[0] - velocity * 4.0).max() < 0.15
    assert len(metric) == 1   # id 7 ended, id 9 has no state


def tracks(ids, boxes, states=None):
    n = len(ids)
    return Tracks(ids=np.asarray(ids, np.int64), boxes_xyxy=np.asarray(boxes, float).reshape(-1, 4),
                  scores=np.ones(n), classes=np.zeros(n, np.int64),
                  states=np.asarray(states if states is not None else [TrackState.CONFIRMED] * n, np.int8))


def test_ground_plane_estimator_measures_box_bottoms_and_reports_bad_frames():
    config = SpatialConfig.from_dict({"mode": "ground_plane", "camera_z": 2.0, "camera_pitch": 0.3})
    estimator = SpatialEstimator(config)
    camera = CameraModel.create(K, [], 640, 480)
    foot = np.array([[5.0, 0.5, 0.0]])
    u, v = camera.project(config.camera_pose().to_optical(foot))[0]
    result = estimator.update(tracks([1], [[u - 20, v - 150, u + 20, v]]), 0.0, SpatialFrame(camera))
    assert np.abs(result.states.positions[0] - foot[0]).max() < 1e-6
    assert result.sizes[0, 2] == pytest.approx(150 * config.camera_pose().to_optical(foot)[0, 2] / 500)
    with pytest.raises(SpatialInputError) as error:
        estimator.update(tracks([1], [[u - 20, v - 150, u + 20, v]]), 0.1, None)
    assert error.value.result.states.known.all() and not error.value.result.states.measured.any()


def test_spatial_config_rejects_bad_values():
    with pytest.raises(ValueError, match="mode"):
        SpatialConfig.from_dict({"mode": "lidar"})
    with pytest.raises(ValueError, match="unknown"):
        SpatialConfig.from_dict({"camera_height": 1.0})


def test_feet_behind_a_nearer_box_are_not_measured():
    from deepsort_ros.core.spatial_estimator import feet_hidden

    boxes = np.array([[100.0, 100.0, 140.0, 200.0],     # far person: feet at y 200, inside the near box
                      [90.0, 80.0, 150.0, 260.0],       # near person reaching lower
                      [300.0, 100.0, 340.0, 200.0]])    # alone
    assert feet_hidden(boxes).tolist() == [True, False, False]
