"""A constant-velocity Kalman filter in metres for every track, batched, keyed by track id.

State per track: position (3) and velocity (3), with a 6x6 covariance; process noise is white
acceleration (``accel_std`` m/s^2, the piecewise-constant model). Each frame the caller passes the ids
reported by the tracker, which of them were detected, and a measured position with its covariance for
those that have one. Tracks not detected (coasting) or without a usable measurement are predicted only and
flagged; ids no longer reported are dropped. All tracks are predicted and updated in one batched step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A new track's velocity is unknown: a walking person rarely exceeds 2 m/s, so 2 m/s standard deviation.
INITIAL_VELOCITY_STD = 2.0


@dataclass(frozen=True)
class MetricStates:
    """Metric state of the reported tracks of one frame, row i = the tracker's row i.

    Attributes
    ----------
    ids : (M,) int64
    known : (M,) bool
        Whether the track has ever had a metric measurement; other rows are NaN.
    measured : (M,) bool
        Whether this frame's measurement updated the track (False: predicted only, e.g. coasting).
    positions, velocities : (M, 3) float64
        Metres and metres per second in the output frame.
    position_covariances, velocity_covariances : (M, 3, 3) float64
    ages_s : (M,) float64
        Seconds since the track's first metric measurement.
    """

    ids: np.ndarray
    known: np.ndarray
    measured: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    position_covariances: np.ndarray
    velocity_covariances: np.ndarray
    ages_s: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def empty(cls, ids=()) -> "MetricStates":
        """Every row unknown (no metric output this frame)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        m = len(ids)
        nan3, nan33 = np.full((m, 3), np.nan), np.full((m, 3, 3), np.nan)
        return cls(ids, np.zeros(m, bool), np.zeros(m, bool), nan3, nan3.copy(), nan33, nan33.copy(),
                   np.full(m, np.nan))


class MetricFilter:
    """Constant-velocity Kalman filters in metres, one per track id.

    Parameters
    ----------
    accel_std : float
        Standard deviation of the unmodelled acceleration, m/s^2 (people: about 1).
    max_coast_s : float
        A track predicted this long without a measurement forgets its state (its position is unknown until
        measured again), so a long-lost track does not drift away on a stale velocity.
    """

    def __init__(self, accel_std: float = 1.0, max_coast_s: float = 2.0):
        if not accel_std > 0 or not max_coast_s > 0:
            raise ValueError(f"accel_std={accel_std} and max_coast_s={max_coast_s} must be positive")
        self.accel_std = float(accel_std)
        self.max_coast_s = float(max_coast_s)
        self.reset()

    def reset(self) -> None:
        """Forget every track."""
        self._ids = np.zeros(0, dtype=np.int64)
        self._x = np.zeros((0, 6))
        self._p = np.zeros((0, 6, 6))
        self._born = np.zeros(0)
        self._last_measured = np.zeros(0)
        self._time: float | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def _predict(self, dt: float) -> None:
        if dt <= 0 or not len(self._ids):
            return
        f = np.eye(6)
        f[:3, 3:] = np.eye(3) * dt
        q = self.accel_std ** 2 * np.block([[np.eye(3) * dt ** 4 / 4, np.eye(3) * dt ** 3 / 2],
                                            [np.eye(3) * dt ** 3 / 2, np.eye(3) * dt ** 2]])
        self._x = self._x @ f.T
        self._p = f @ self._p @ f.T + q

    def update(self, ids, timestamp: float, positions: np.ndarray, covariances: np.ndarray,
               measured: np.ndarray) -> MetricStates:
        """Advance to ``timestamp`` and fuse this frame's measurements.

        Parameters
        ----------
        ids : (M,) int
            Ids the tracker reports this frame; state of other ids is dropped.
        timestamp : float
            Seconds; a time not after the previous one predicts nothing.
        positions : (M, 3) float
            Measured positions (rows with ``measured`` False are ignored and may be NaN).
        covariances : (M, 3, 3) float
            Their covariances.
        measured : (M,) bool
            Rows that carry a measurement this frame.

        Returns
        -------
        MetricStates
        """
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        covariances = np.asarray(covariances, dtype=np.float64).reshape(-1, 3, 3)
        measured = np.asarray(measured, dtype=bool).reshape(-1) & np.isfinite(positions).all(axis=1) \
            & np.isfinite(covariances).all(axis=(1, 2))
        if self._time is not None:
            self._predict(timestamp - self._time)
        self._time = timestamp if self._time is None else max(self._time, timestamp)

        # Keep the state of reported ids, in the tracker's row order; new ids start empty.
        order = np.argsort(self._ids, kind="stable")
        slots = np.minimum(np.searchsorted(self._ids[order], ids), max(len(order) - 1, 0))
        had = (self._ids[order][slots] == ids) if len(order) else np.zeros(len(ids), bool)
        old_rows = np.where(had, order[slots] if len(order) else 0, -1)
        x = np.full((len(ids), 6), np.nan)
        p = np.full((len(ids), 6, 6), np.nan)
        born = np.full(len(ids), np.nan)
        last = np.full(len(ids), np.nan)
        x[had], p[had], born[had], last[had] = (self._x[old_rows[had]], self._p[old_rows[had]],
                                                self._born[old_rows[had]], self._last_measured[old_rows[had]])
        # Forget tracks coasted too long.
        stale = had & (timestamp - last > self.max_coast_s)
        had &= ~stale

        start = measured & ~had
        if start.any():
            x[start, :3] = positions[start]
            x[start, 3:] = 0.0
            p[start] = 0.0
            p[start, :3, :3] = covariances[start]
            p[start, 3:, 3:] = np.eye(3) * INITIAL_VELOCITY_STD ** 2
            born[start] = timestamp
        fuse = measured & had
        if fuse.any():
            # H = [I 0]: S = P_pp + R and K = P H^T S^-1, i.e. K^T = S^-1 P[:3, :] (S and P symmetric).
            pf, xf = p[fuse], x[fuse]
            innovation = positions[fuse] - xf[:, :3]
            s = pf[:, :3, :3] + covariances[fuse]
            gain = np.linalg.solve(s, pf[:, :3, :]).transpose(0, 2, 1)
            x[fuse] = xf + np.einsum("nij,nj->ni", gain, innovation)
            p[fuse] = pf - gain @ pf[:, :3, :]
        last[measured] = timestamp
        known = had | measured
        x[~known] = np.nan
        p[~known] = np.nan
        self._ids, self._x, self._p = ids[known], x[known], p[known]
        self._born, self._last_measured = born[known], last[known]
        p_sym = 0.5 * (p + p.transpose(0, 2, 1))
        return MetricStates(ids=ids, known=known, measured=measured & known, positions=x[:, :3].copy(),
                            velocities=x[:, 3:].copy(), position_covariances=p_sym[:, :3, :3].copy(),
                            velocity_covariances=p_sym[:, 3:, 3:].copy(),
                            ages_s=np.where(known, timestamp - born, np.nan))
