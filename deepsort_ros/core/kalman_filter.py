"""Constant-velocity Kalman filter over boxes, batched over all tracks.

State (8,): the 4 measured values and their velocities. The measurement is either DeepSORT's
``(cx, cy, aspect = w / h, h)`` or ``(cx, cy, w, h)``. Noise standard deviations are proportional to the box
size, so the filter behaves the same for near and far objects.

Every noise matrix is diagonal, so a covariance made by :meth:`KalmanFilter.initiate` stays *blockwise* through
any number of predicts and updates: each measured value is correlated with its own velocity only (four
independent 2x2 blocks), and the innovation covariance is diagonal. :meth:`KalmanFilter.update` and
:meth:`KalmanFilter.gating_distance` use that with ``blockwise=True``: elementwise reciprocals instead of
LAPACK's batched 4x4 solves and inverses, whose per-call cost dominates on the few tracks of a typical frame.
Only a warp that rotates or shears the image couples x and y (:meth:`KalmanFilter.keeps_blocks`).
"""
from __future__ import annotations

import numpy as np

STATE_SPACES = ("xyah", "xywh")
# Below this many track-detection pairs the direct Mahalanobis form is faster than the expanded one.
_SMALL_PAIRS = 4096


def _diagonal(matrices: np.ndarray) -> np.ndarray:
    """Writable (M, K) view of the diagonals of C-contiguous (M, K, K) matrices (no fancy-index copies)."""
    count, size = matrices.shape[:2]
    return matrices.reshape(count, size * size)[:, ::size + 1]


def xyxy_to_measurement(boxes_xyxy: np.ndarray, state_space: str) -> np.ndarray:
    """(N, 4) corner boxes to (N, 4) measurements in ``state_space``."""
    size = boxes_xyxy[:, 2:] - boxes_xyxy[:, :2]
    measurement = np.concatenate([boxes_xyxy[:, :2] + 0.5 * size, size], axis=1)
    if state_space == "xyah":
        measurement[:, 2] /= measurement[:, 3]
    return measurement


def measurement_to_xyxy(measurements: np.ndarray, state_space: str) -> np.ndarray:
    """(N, >=4) states or measurements in ``state_space`` to (N, 4) corner boxes."""
    half = 0.5 * measurements[:, 2:4]
    if state_space == "xyah":
        half[:, 0] *= measurements[:, 3]
    centre = measurements[:, :2]
    return np.concatenate([centre - half, centre + half], axis=1)


class KalmanFilter:
    """Batched constant-velocity Kalman filter.

    Parameters
    ----------
    state_space : {'xyah', 'xywh'}
    std_weight_position, std_weight_velocity : float
        Process noise standard deviations per step as fractions of the box size (DeepSORT: 1/20 and 1/160).
    confidence_scaled_noise : bool
        Scale a measurement's covariance by ``1 - score`` (NSA Kalman, GIAOTracker), trusting confident
        detections more.
    std_weight_measurement : float, optional
        Measurement noise standard deviation as a fraction of the box size; defaults to
        ``std_weight_position`` as in DeepSORT.
    """

    def __init__(self, state_space: str = "xyah", std_weight_position: float = 1.0 / 20,
                 std_weight_velocity: float = 1.0 / 160, confidence_scaled_noise: bool = False,
                 std_weight_measurement: float | None = None):
        if state_space not in STATE_SPACES:
            raise ValueError(f"state_space={state_space!r}: allowed {STATE_SPACES}")
        self.state_space = state_space
        self.confidence_scaled_noise = confidence_scaled_noise
        self._transition_dt = 1.0
        self._transition = np.eye(8)
        self._transition[:4, 4:] = np.eye(4)
        position, velocity = std_weight_position, std_weight_velocity
        measurement = position if std_weight_measurement is None else std_weight_measurement
        if state_space == "xyah":
            # Every deviation scales with the height, except the aspect ratio's (fixed, small). A slice keeps
            # the height an (N, 1) view that broadcasts, cheaper than gathering it into 4 columns.
            self._size_columns = slice(3, 4)
            self._pos_scale, self._pos_const = np.array([position, position, 0.0, position]), np.array([0, 0, 1e-2, 0])
            self._vel_scale, self._vel_const = np.array([velocity, velocity, 0.0, velocity]), np.array([0, 0, 1e-5, 0])
            self._meas_scale = np.array([measurement, measurement, 0.0, measurement])
            self._meas_const = np.array([0, 0, 1e-1, 0])
        else:
            self._size_columns = np.array([2, 3, 2, 3])
            self._pos_scale, self._pos_const = np.full(4, position), np.zeros(4)
            self._vel_scale, self._vel_const = np.full(4, velocity), np.zeros(4)
            self._meas_scale, self._meas_const = np.full(4, measurement), np.zeros(4)
        # Smallest size values a state may hold (aspect ratio and height, or width and height): long coasting
        # with a shrinking box would otherwise reach zero or negative sizes.
        self._min_size = np.array([1e-2, 1.0]) if state_space == "xyah" else np.array([1.0, 1.0])
        # Process noise of all 8 state entries in one expression: (2, 4) rows for positions and velocities.
        self._process_scale = np.stack([self._pos_scale, self._vel_scale])
        self._process_const = np.stack([self._pos_const, self._vel_const])

    def _sizes(self, values: np.ndarray) -> np.ndarray:
        """(N, 4) box size each deviation scales with, or (N, 1) when that is the height for all, taken from
        states or measurements."""
        return values[:, self._size_columns]

    def _clamp_sizes(self, mean: np.ndarray) -> np.ndarray:
        """Raise sizes below the minimum to it and stop them shrinking further (in place; returns ``mean``)."""
        size = mean[:, 2:4]
        small = size < self._min_size
        if np.count_nonzero(small):
            np.maximum(size, self._min_size, out=size)
            velocity = mean[:, 6:8]
            velocity[small] = np.maximum(velocity[small], 0.0)
        return mean

    def initiate(self, measurements: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New states from (N, 4) measurements: zero velocity, wide velocity uncertainty.

        Returns
        -------
        mean : (N, 8)
        covariance : (N, 8, 8)
        """
        n = len(measurements)
        mean = np.concatenate([measurements, np.zeros((n, 4))], axis=1)
        sizes = self._sizes(measurements)
        std = np.concatenate([2.0 * (self._pos_scale * sizes + self._pos_const),
                              10.0 * (self._vel_scale * sizes + self._vel_const)], axis=1)
        covariance = np.zeros((n, 8, 8))
        diagonal = np.arange(8)
        covariance[:, diagonal, diagonal] = std * std
        return mean, covariance

    def predict(self, mean: np.ndarray, covariance: np.ndarray, dt: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Advance (M, 8) means and (M, 8, 8) covariances by ``dt`` frames (process noise grows with dt)."""
        if dt != self._transition_dt:             # rebuilt only when the step changes
            self._transition = np.eye(8)
            self._transition[:4, 4:] = dt * np.eye(4)
            self._transition_dt = dt
        transition = self._transition
        mean = self._clamp_sizes(mean @ transition.T)
        std = (self._process_scale * self._sizes(mean)[:, None, :] + self._process_const).reshape(len(mean), 8)
        covariance = np.matmul(np.matmul(transition, covariance), transition.T)      # a new C-contiguous array
        _diagonal(covariance)[...] += dt * (std * std)
        return mean, covariance

    def measurement_noise(self, mean: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
        """(M, 4) measurement variances for tracks at ``mean``, scaled by ``1 - scores`` under NSA."""
        std = self._meas_scale * self._sizes(mean) + self._meas_const
        variance = std * std
        if self.confidence_scaled_noise and scores is not None:
            # Scores clipped to [0, 0.999] (np.clip's wrapper costs more than these two ufuncs).
            variance = variance * (1.0 - np.maximum(np.minimum(scores, 0.999), 0.0))[:, None]
        return variance

    def project(self, mean: np.ndarray, covariance: np.ndarray,
                scores: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Measurement-space means (M, 4) and innovation covariances (M, 4, 4)."""
        innovation_cov = covariance[:, :4, :4].copy()
        _diagonal(innovation_cov)[...] += self.measurement_noise(mean, scores)
        return mean[:, :4], innovation_cov

    def update(self, mean: np.ndarray, covariance: np.ndarray, measurements: np.ndarray,
               scores: np.ndarray | None = None, blockwise: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Correct (M, 8) states with their (M, 4) measurements (row i updates state i).

        ``blockwise=True`` promises blockwise covariances (see the module notes): the innovation covariance
        is then diagonal and its inverse the reciprocal of its diagonal, which skips the 4x4 solves.
        """
        cross = covariance[:, :, :4]                                       # P H^T, (M, 8, 4)
        if blockwise:
            # Multiplying by the reciprocal rounds as LAPACK's solve does on a diagonal matrix.
            innovation_var = covariance.diagonal(0, 1, 2)[:, :4] + self.measurement_noise(mean, scores)
            gain = cross * (1.0 / innovation_var)[:, None, :]
        else:
            _, innovation_cov = self.project(mean, covariance, scores)
            gain = np.linalg.solve(innovation_cov, cross.transpose(0, 2, 1)).transpose(0, 2, 1)
        innovation = measurements - mean[:, :4]
        new_mean = self._clamp_sizes(mean + np.matmul(gain, innovation[:, :, None])[:, :, 0])
        new_covariance = covariance - np.matmul(gain, cross.transpose(0, 2, 1))
        return new_mean, new_covariance

    def gating_distance(self, mean: np.ndarray, covariance: np.ndarray, measurements: np.ndarray,
                        blockwise: bool = False) -> np.ndarray:
        """(M, N) squared Mahalanobis distances between every track and every (N, 4) measurement.

        ``blockwise=True`` promises blockwise covariances (see the module notes): the innovation covariance
        is then diagonal and the distance a weighted sum of squares.
        """
        if blockwise:
            # Innovation variances: the measured values' variances plus the measurement noise.
            weight = 1.0 / (covariance.diagonal(0, 1, 2)[:, :4] + self.measurement_noise(mean))   # (M, 4)
            projected = mean[:, :4]
            if len(projected) * len(measurements) <= _SMALL_PAIRS:
                residual = measurements[None, :, :] - projected[:, None, :]                    # (M, N, 4)
                return np.einsum("mni,mni->mn", residual * weight[:, None, :], residual)
            # Crowds: expanded as in the general case below.
            weighted_x = projected * weight
            return (weight @ (measurements * measurements).T - 2.0 * (weighted_x @ measurements.T)
                    + np.einsum("mi,mi->m", weighted_x, projected)[:, None])
        projected, innovation_cov = self.project(mean, covariance)
        inverse = np.linalg.inv(innovation_cov)                              # (M, 4, 4)
        if len(projected) * len(measurements) <= _SMALL_PAIRS:
            residual = measurements[None, :, :] - projected[:, None, :]      # (M, N, 4)
            return np.einsum("mni,mni->mn", np.matmul(residual, inverse), residual)
        # Crowds: expand (z - x)^T S^-1 (z - x) so the big products are (4, 4) x (4, N) per track instead of
        # N tiny (1, 4) x (4, 4) ones; float64 keeps the cancellation error far below any gate.
        inverse_z = np.matmul(inverse, measurements.T)                       # (M, 4, N)
        inverse_x = np.einsum("mij,mj->mi", inverse, projected)              # (M, 4)
        return (np.einsum("in,min->mn", measurements.T, inverse_z) - 2.0 * (inverse_x @ measurements.T)
                + np.einsum("mi,mi->m", projected, inverse_x)[:, None])

    @staticmethod
    def keeps_blocks(affine: np.ndarray) -> bool:
        """Whether :meth:`warp` by the 2x3 ``affine`` keeps blockwise covariances blockwise: it does unless
        it rotates or shears, mixing x and y."""
        return bool(affine[0, 1] == 0.0 and affine[1, 0] == 0.0)

    def warp(self, mean: np.ndarray, covariance: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply a 2x3 image affine (camera motion) to every state and covariance.

        Centres move by the full affine, velocities by its linear part, widths and heights scale by its
        area scale; the aspect ratio is unchanged.
        """
        linear, shift = affine[:, :2], affine[:, 2]
        scale = float(np.sqrt(abs(np.linalg.det(linear))))
        size_block = np.diag([1.0, scale]) if self.state_space == "xyah" else np.eye(2) * scale
        half = np.zeros((4, 4))
        half[:2, :2], half[2:, 2:] = linear, size_block
        transform = np.zeros((8, 8))
        transform[:4, :4], transform[4:, 4:] = half, half
        new_mean = mean @ transform.T
        new_mean[:, :2] += shift
        new_covariance = transform @ covariance @ transform.T
        return new_mean, new_covariance
