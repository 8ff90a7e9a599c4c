"""Kalman filter against values worked out by hand."""
import numpy as np
import pytest

from deepsort_ros.core.kalman_filter import KalmanFilter, measurement_to_xyxy, xyxy_to_measurement

POS, VEL = 0.05, 1.0 / 160


def test_box_conversions_round_trip():
    boxes = np.array([[10.0, 20.0, 50.0, 120.0]])
    assert np.allclose(xyxy_to_measurement(boxes, "xyah"), [[30.0, 70.0, 0.4, 100.0]])
    assert np.allclose(xyxy_to_measurement(boxes, "xywh"), [[30.0, 70.0, 40.0, 100.0]])
    for space in ("xyah", "xywh"):
        assert np.allclose(measurement_to_xyxy(xyxy_to_measurement(boxes, space), space), boxes)


def test_initiate_xyah_uses_height_scaled_deviations():
    kf = KalmanFilter("xyah", POS, VEL)
    mean, cov = kf.initiate(np.array([[10.0, 20.0, 0.5, 100.0]]))
    assert np.allclose(mean, [[10, 20, 0.5, 100, 0, 0, 0, 0]])
    std = [10.0, 10.0, 0.02, 10.0, 6.25, 6.25, 1e-4, 6.25]   # 2*0.05*100, 2*1e-2, 10*100/160, 10*1e-5
    assert np.allclose(cov[0], np.diag(np.square(std)))


def test_initiate_xywh_scales_with_width_and_height():
    kf = KalmanFilter("xywh", POS, VEL)
    _, cov = kf.initiate(np.array([[0.0, 0.0, 40.0, 100.0]]))
    std = [4.0, 10.0, 4.0, 10.0, 2.5, 6.25, 2.5, 6.25]
    assert np.allclose(np.diag(cov[0]), np.square(std))


def test_predict_moves_mean_and_grows_covariance():
    kf = KalmanFilter("xyah", POS, VEL)
    mean = np.array([[10.0, 20.0, 0.5, 100.0, 1.0, 2.0, 0.0, 3.0]])
    variances = np.arange(1.0, 9.0)
    cov = np.diag(variances)[None]
    new_mean, new_cov = kf.predict(mean, cov)
    assert np.allclose(new_mean, [[11, 22, 0.5, 103, 1, 2, 0, 3]])
    h = 103.0                                                # noise uses the predicted height
    q_pos, q_vel = (POS * h) ** 2, (VEL * h) ** 2
    assert new_cov[0, 0, 0] == pytest.approx(variances[0] + variances[4] + q_pos)
    assert new_cov[0, 0, 4] == pytest.approx(variances[4])
    assert new_cov[0, 4, 4] == pytest.approx(variances[4] + q_vel)
    assert new_cov[0, 2, 2] == pytest.approx(variances[2] + variances[6] + 1e-4)
    assert np.allclose(new_cov, new_cov.transpose(0, 2, 1))


def test_predict_dt_scales_motion_and_noise():
    kf = KalmanFilter("xywh", POS, VEL)
    mean = np.array([[0.0, 0.0, 10.0, 10.0, 1.0, 0.0, 0.0, 0.0]])
    cov = np.eye(8)[None]
    new_mean, new_cov = kf.predict(mean, cov, dt=2.0)
    assert new_mean[0, 0] == pytest.approx(2.0)
    assert new_cov[0, 0, 0] == pytest.approx(1 + 4 * 1 + 2 * (POS * 10) ** 2)


def test_update_matches_scalar_kalman_equations():
    kf = KalmanFilter("xyah", POS, VEL)
    mean = np.array([[10.0, 20.0, 0.5, 100.0, 1.0, 0.0, 0.0, 0.0]])
    cov = np.diag([4.0, 4.0, 0.01, 4.0, 1.0, 1.0, 1e-4, 1.0])[None]
    cov[0, 0, 4] = cov[0, 4, 0] = 0.5                        # position-velocity correlation on x
    z = np.array([[14.0, 20.0, 0.5, 100.0]])
    new_mean, new_cov = kf.update(mean, cov, z)
    r_x = (POS * 100.0) ** 2                                 # measurement noise of x, from the track's height
    s = 4.0 + r_x
    assert new_mean[0, 0] == pytest.approx(10.0 + 4.0 / s * 4.0)
    assert new_mean[0, 4] == pytest.approx(1.0 + 0.5 / s * 4.0)
    assert new_cov[0, 0, 0] == pytest.approx(4.0 - 4.0 ** 2 / s)
    assert new_cov[0, 4, 4] == pytest.approx(1.0 - 0.5 ** 2 / s)
    assert new_mean[0, 1] == pytest.approx(20.0)


def test_confidence_scaled_noise_trusts_confident_detections():
    plain = KalmanFilter("xyah", POS, VEL, confidence_scaled_noise=False)
    nsa = KalmanFilter("xyah", POS, VEL, confidence_scaled_noise=True)
    mean = np.array([[0.0, 0.0, 0.5, 100.0, 0, 0, 0, 0]])
    cov = np.diag([25.0] * 4 + [1.0] * 4)[None]
    z = np.array([[10.0, 0.0, 0.5, 100.0]])
    score = np.array([0.9])
    r = (POS * 100.0) ** 2
    assert plain.update(mean, cov, z, score)[0][0, 0] == pytest.approx(10 * 25 / (25 + r))
    assert nsa.update(mean, cov, z, score)[0][0, 0] == pytest.approx(10 * 25 / (25 + 0.1 * r))


def test_gating_distance_is_squared_mahalanobis():
    kf = KalmanFilter("xywh", POS, VEL)
    mean = np.array([[0.0, 0.0, 10.0, 10.0, 0, 0, 0, 0], [100.0, 0.0, 10.0, 10.0, 0, 0, 0, 0]])
    cov = np.tile(np.diag([3.75, 3.75, 3.75, 3.75, 1, 1, 1, 1]), (2, 1, 1))
    r = (POS * 10.0) ** 2                                     # 0.25: innovation variance 4 on every axis
    z = np.array([[2.0, 0.0, 10.0, 10.0], [0.0, 4.0, 12.0, 10.0]])
    d2 = kf.gating_distance(mean, cov, z)
    assert 3.75 + r == pytest.approx(4.0)
    assert d2.shape == (2, 2)
    assert d2[0, 0] == pytest.approx(4.0 / 4.0)
    assert d2[0, 1] == pytest.approx((16.0 + 4.0) / 4.0)
    assert d2[1, 0] == pytest.approx(98.0 ** 2 / 4.0)


def test_gating_distance_is_the_same_for_small_and_crowded_scenes():
    rng = np.random.default_rng(5)
    kf = KalmanFilter("xyah", POS, VEL)
    boxes = np.column_stack([rng.uniform(0, 1500, (90, 2)), rng.uniform(0, 1500, (90, 2)) + 1600])
    mean, cov = kf.predict(*kf.initiate(xyxy_to_measurement(boxes, "xyah")))
    z = xyxy_to_measurement(boxes[::-1] + rng.normal(0, 5, boxes.shape), "xyah")
    crowded = kf.gating_distance(mean, cov, z)                    # 8100 pairs: the expanded form
    for row in range(0, 90, 7):
        direct = kf.gating_distance(mean[row:row + 1], cov[row:row + 1], z[:40])   # 40 pairs: direct form
        assert np.allclose(direct[0], crowded[row, :40], rtol=1e-6, atol=1e-6)


def test_warp_moves_centres_scales_sizes_and_velocities():
    kf = KalmanFilter("xyah", POS, VEL)
    mean = np.array([[10.0, 20.0, 0.5, 100.0, 1.0, 2.0, 0.0, 3.0]])
    cov = np.diag(np.arange(1.0, 9.0))[None]
    affine = np.array([[2.0, 0.0, 5.0], [0.0, 2.0, -7.0]])
    new_mean, new_cov = kf.warp(mean, cov, affine)
    assert np.allclose(new_mean, [[25.0, 33.0, 0.5, 200.0, 2.0, 4.0, 0.0, 6.0]])
    assert np.allclose(np.diag(new_cov[0]), [4, 8, 3, 16, 20, 24, 7, 32])
    shift_only = kf.warp(mean, cov, np.array([[1.0, 0.0, 50.0], [0.0, 1.0, 0.0]]))
    assert np.allclose(shift_only[0], mean + [[50, 0, 0, 0, 0, 0, 0, 0]])
    assert np.allclose(shift_only[1], cov)


def test_batched_operations_equal_one_by_one():
    rng = np.random.default_rng(3)
    kf = KalmanFilter("xyah", POS, VEL, confidence_scaled_noise=True)
    boxes = np.column_stack([rng.uniform(0, 500, (5, 2)), rng.uniform(0, 500, (5, 2)) + 600])
    mean, cov = kf.initiate(xyxy_to_measurement(boxes, "xyah"))
    mean, cov = kf.predict(mean, cov)
    z = xyxy_to_measurement(boxes + rng.normal(0, 3, boxes.shape), "xyah")
    scores = rng.uniform(0.5, 1.0, 5)
    all_mean, all_cov = kf.update(mean, cov, z, scores)
    for i in range(5):
        one_mean, one_cov = kf.update(mean[i:i + 1], cov[i:i + 1], z[i:i + 1], scores[i:i + 1])
        assert np.allclose(one_mean, all_mean[i:i + 1])
        assert np.allclose(one_cov, all_cov[i:i + 1])


def test_unknown_state_space_is_rejected():
    with pytest.raises(ValueError, match="state_space"):
        KalmanFilter("xyxy")


def _blockwise_states(state_space, count=12, seed=7):
    """States after initiate, predicts and updates: blockwise covariances with non-zero correlations."""
    rng = np.random.default_rng(seed)
    kf = KalmanFilter(state_space, POS, VEL, confidence_scaled_noise=True)
    boxes = np.column_stack([rng.uniform(0, 500, (count, 2)), rng.uniform(0, 500, (count, 2)) + 600])
    mean, cov = kf.initiate(xyxy_to_measurement(boxes, state_space))
    for _ in range(3):
        mean, cov = kf.predict(mean, cov, dt=1.5)
        z = xyxy_to_measurement(boxes + rng.normal(0, 3, boxes.shape), state_space)
        mean, cov = kf.update(mean, cov, z, rng.uniform(0.5, 1.0, count))
    return kf, mean, cov, rng


@pytest.mark.parametrize("state_space", ["xyah", "xywh"])
def test_blockwise_update_equals_the_general_update(state_space):
    kf, mean, cov, rng = _blockwise_states(state_space)
    outside_blocks = np.ones((8, 8), dtype=bool)
    for i in range(4):
        outside_blocks[np.ix_([i, i + 4], [i, i + 4])] = False
    assert np.all(cov[:, outside_blocks] == 0.0)              # what blockwise=True relies on
    assert np.all(cov[:, 0, 4] != 0.0)                        # value-velocity correlations are real
    z = xyxy_to_measurement(measurement_to_xyxy(mean, state_space) + rng.normal(0, 4, (len(mean), 4)), state_space)
    scores = rng.uniform(0.5, 1.0, len(mean))
    general = kf.update(mean, cov, z, scores)
    blockwise = kf.update(mean, cov, z, scores, blockwise=True)
    assert np.allclose(blockwise[0], general[0], rtol=1e-12, atol=1e-9)
    assert np.allclose(blockwise[1], general[1], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("count", [5, 90])                   # 90 x 90 pairs: the expanded crowd form
def test_blockwise_gating_distance_equals_the_general_one(count):
    kf, mean, cov, rng = _blockwise_states("xyah", count)
    z = xyxy_to_measurement(measurement_to_xyxy(mean, "xyah")[::-1] + rng.normal(0, 4, (count, 4)), "xyah")
    general = kf.gating_distance(mean, cov, z)
    assert np.allclose(kf.gating_distance(mean, cov, z, blockwise=True), general, rtol=1e-6, atol=1e-6)


def test_only_rotating_or_shearing_warps_break_the_blocks():
    kf = KalmanFilter("xyah", POS, VEL)
    mean, cov = kf.initiate(np.array([[10.0, 20.0, 0.5, 100.0]]))
    pan_and_zoom = np.array([[1.2, 0.0, 5.0], [0.0, 1.2, -3.0]])
    assert kf.keeps_blocks(pan_and_zoom)
    assert kf.warp(mean, cov, pan_and_zoom)[1][0, 0, 1] == 0.0
    angle = 0.1
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0]])
    assert not kf.keeps_blocks(rotation)
    assert kf.warp(mean, cov, rotation)[1][0, 0, 1] != 0.0  # x and y are now correlated
