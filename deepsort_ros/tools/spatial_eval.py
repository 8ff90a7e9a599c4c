"""Tracks in metres offline: ground positions and velocities of a MOT sequence's tracks, scored against
ground-truth world positions (``deepsort-eval --calibration``).

The tracker runs as usual (:func:`deepsort_ros.tools.eval.run_sequence`); each frame's reported tracks go
through the same :class:`~deepsort_ros.core.spatial_estimator.SpatialEstimator` the node uses, in
``ground_plane`` mode with the camera of a Tsai calibration (:mod:`deepsort_ros.tools.calibration`).

Scoring: each frame, track boxes are matched one-to-one to considered ground-truth boxes (Hungarian, IoU >=
0.5, as the MOT metrics do). Position error: horizontal distance between a matched track's position and its
person's world position (gt.txt columns 8-9, metres). Velocity error: distance between the track's velocity
and the person's ground-truth velocity, the centred difference of their positions over +-3 frames, for
tracks whose metric state is older than ``min_velocity_age_s``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from deepsort_ros.core.linear_assignment import iou_matrix
from deepsort_ros.core.spatial_estimator import SpatialConfig, SpatialEstimator, SpatialFrame
from deepsort_ros.tools import mot
from deepsort_ros.tools.calibration import camera_from_tsai, read_tsai, spatial_settings

# MOT boxes are 1-based (the first pixel is 1); camera models are 0-based.
MOT_PIXEL_OFFSET = 1.0
MATCH_IOU = 0.5
GT_VELOCITY_HALF_SPAN = 3
MIN_VELOCITY_AGE_S = 1.0
VELOCITY_FORMAT = "%d,%d,%.4f,%.4f,%.4f"


class MetricRecorder:
    """Per-frame callback for :func:`deepsort_ros.tools.eval.run_sequence`: puts every frame's reported
    tracks through a SpatialEstimator and keeps their metric rows.

    Parameters
    ----------
    calibration : path
        Tsai calibration XML (world frame = ground frame, z up).
    settings : dict, optional
        Further SpatialConfig fields (filter noise ...); the mode and camera pose come from the calibration.
    """

    def __init__(self, calibration: str | Path, settings: dict | None = None):
        self.camera, pose, self.fit_error_px = camera_from_tsai(read_tsai(calibration))
        config = SpatialConfig.from_dict({**(settings or {}), "mode": "ground_plane", **spatial_settings(pose)})
        self.estimator = SpatialEstimator(config)
        self.frame = SpatialFrame(camera=self.camera)
        self._rows: list[tuple] = []

    def __call__(self, frame: int, timestamp: float, tracks) -> None:
        shifted = dataclasses.replace(tracks, boxes_xyxy=np.asarray(tracks.boxes_xyxy) - MOT_PIXEL_OFFSET)
        metric = self.estimator.update(shifted, timestamp, self.frame).states
        self._rows.append((np.full(len(tracks), frame), np.asarray(tracks.ids), metric.positions,
                           metric.velocities, metric.ages_s))

    def rows(self) -> dict[str, np.ndarray]:
        """``frames, ids, positions (N, 3), velocities (N, 3), ages_s`` of every reported track row, in the
        order of :func:`run_sequence`'s results."""
        if not self._rows:
            return {"frames": np.zeros(0, np.int64), "ids": np.zeros(0, np.int64), "positions": np.zeros((0, 3)),
                    "velocities": np.zeros((0, 3)), "ages_s": np.zeros(0)}
        columns = list(zip(*self._rows))
        return {"frames": np.concatenate(columns[0]).astype(np.int64), "ids": np.concatenate(columns[1]),
                "positions": np.concatenate(columns[2]).reshape(-1, 3),
                "velocities": np.concatenate(columns[3]).reshape(-1, 3), "ages_s": np.concatenate(columns[4])}


class VelocityFile:
    """``frame,id,vx,vy,vz`` rows (m/s) of tracks with a known velocity, written one frame at a time."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("w", encoding="ascii")

    def write(self, frame_number: int, states) -> None:
        """Append one frame's :class:`~deepsort_ros.core.metric_filter.MetricStates`."""
        known = states.known
        if known.any():
            np.savetxt(self._file, np.column_stack([np.full(known.sum(), frame_number), states.ids[known],
                                                    states.velocities[known]]), fmt=VELOCITY_FORMAT)
            self._file.flush()

    def close(self) -> None:
        self._file.close()


def write_velocities(path: Path, metric: dict[str, np.ndarray]) -> None:
    """``frame,id,vx,vy,vz`` rows (m/s) of :meth:`MetricRecorder.rows` with a known velocity."""
    known = np.isfinite(metric["velocities"]).all(axis=1)
    np.savetxt(path, np.column_stack([metric["frames"], metric["ids"], metric["velocities"]])[known],
               fmt=VELOCITY_FORMAT)


def gt_world(gt: mot.MotRows, gt_path: Path) -> np.ndarray | None:
    """World ground positions (N, 2) of gt rows (columns 8-9, metres, in :class:`MotRows` order), or None
    when the ground truth has none."""
    table = np.loadtxt(gt_path, delimiter=",", ndmin=2)
    if table.shape[1] < 9:
        return None
    world = table[gt.order, 7:9]
    if (world == -1).all():
        return None
    return world


def gt_velocities(gt: mot.MotRows, world: np.ndarray, frame_rate: float) -> np.ndarray:
    """(N, 2) ground-truth velocities: centred differences over +-GT_VELOCITY_HALF_SPAN frames (NaN where
    the person is missing in either frame)."""
    index = {(int(f), int(i)): row for row, (f, i) in enumerate(zip(gt.frames.tolist(), gt.ids.tolist()))}
    span = GT_VELOCITY_HALF_SPAN
    velocities = np.full((len(gt), 2), np.nan)
    for row, (frame, person) in enumerate(zip(gt.frames.tolist(), gt.ids.tolist())):
        before, after = index.get((frame - span, person)), index.get((frame + span, person))
        if before is not None and after is not None:
            velocities[row] = (world[after] - world[before]) * frame_rate / (2 * span)
    return velocities


def spatial_errors(seq_dir: Path, results: mot.MotRows, metric: dict[str, np.ndarray], seq_length: int,
                   frame_rate: float) -> dict | None:
    """Position and velocity errors (median, p90, count) against gt world positions, or None without them."""
    gt_path = seq_dir / "gt" / "gt.txt"
    gt = mot.read_mot_rows(gt_path)
    world = gt_world(gt, gt_path)
    if world is None:
        return None
    gt_velocity = gt_velocities(gt, world, frame_rate)
    gt_starts, res_starts = gt.frame_slices(seq_length), results.frame_slices(seq_length)
    position_errors, velocity_errors = [], []
    for frame in range(1, seq_length + 1):
        g = np.arange(gt_starts[frame], gt_starts[frame + 1])
        g = g[gt.scores[g] != 0]
        r = np.arange(res_starts[frame], res_starts[frame + 1])
        if not len(g) or not len(r):
            continue
        iou = iou_matrix(gt.boxes_xyxy[g], results.boxes_xyxy[r])
        rows, cols = linear_sum_assignment(-iou)
        ok = iou[rows, cols] >= MATCH_IOU
        gi, ri = g[rows[ok]], r[cols[ok]]
        position = metric["positions"][ri, :2]
        known = np.isfinite(position).all(axis=1)
        position_errors.append(np.hypot(*(position[known] - world[gi[known]]).T))
        velocity = metric["velocities"][ri, :2]
        usable = known & (metric["ages_s"][ri] > MIN_VELOCITY_AGE_S) & np.isfinite(gt_velocity[gi]).all(axis=1)
        velocity_errors.append(np.hypot(*(velocity[usable] - gt_velocity[gi[usable]]).T))

    def summary(errors: list[np.ndarray]) -> dict:
        values = np.concatenate(errors) if errors else np.zeros(0)
        if not len(values):
            return {"median": None, "p90": None, "count": 0}
        return {"median": round(float(np.median(values)), 4), "p90": round(float(np.percentile(values, 90)), 4),
                "count": int(len(values))}

    return {"position_error_m": summary(position_errors), "velocity_error_mps": summary(velocity_errors)}
