"""Assignment of tracks to detections on a cost matrix: IoU costs, gating, global assignment and DeepSORT's
matching cascade."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

# Cost given to forbidden pairs; far above any real cost so the solver only picks them when it must.
GATED_COST = 1e5


def iou_matrix(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) intersection over union of corner boxes."""
    width = np.minimum(a_xyxy[:, 2, None], b_xyxy[None, :, 2]) - np.maximum(a_xyxy[:, 0, None], b_xyxy[None, :, 0])
    height = np.minimum(a_xyxy[:, 3, None], b_xyxy[None, :, 3]) - np.maximum(a_xyxy[:, 1, None], b_xyxy[None, :, 1])
    inter = np.maximum(width, 0.0, out=width) * np.maximum(height, 0.0, out=height)
    area_a = (a_xyxy[:, 2] - a_xyxy[:, 0]) * (a_xyxy[:, 3] - a_xyxy[:, 1])
    area_b = (b_xyxy[:, 2] - b_xyxy[:, 0]) * (b_xyxy[:, 3] - b_xyxy[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-12)


def min_cost_matching(cost: np.ndarray, max_cost: float) -> tuple[np.ndarray, np.ndarray]:
    """Optimal one-to-one assignment, keeping pairs whose cost is at most ``max_cost``.

    Parameters
    ----------
    cost : (M, N) float
        Pair costs; ``inf`` (or anything above ``max_cost``) marks a forbidden pair.
    max_cost : float

    Returns
    -------
    rows, cols : (K,) int64
        Matched row and column indices.
    """
    empty = np.zeros(0, dtype=np.int64)
    if cost.size == 0:
        return empty, empty
    allowed = cost <= max_cost
    if not np.count_nonzero(allowed):                  # cheaper than allowed.any() on small matrices
        return empty, empty
    rows, cols = linear_sum_assignment(np.where(allowed, cost, GATED_COST))   # intp: int64 on 64-bit
    good = allowed[rows, cols]
    return rows[good], cols[good]


def matching_cascade(cost: np.ndarray, max_cost: float, track_ages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeepSORT's matching cascade: tracks seen more recently pick their detections first.

    Parameters
    ----------
    cost : (M, N) float
        Gated costs of every track against every detection.
    max_cost : float
    track_ages : (M,) int
        Steps each track has missed since its last match (the tracker's one unit of time: frames, or
        reference frames of 1 / kalman_fps seconds with timestamps); one assignment per distinct age,
        youngest first.

    Returns
    -------
    rows, cols : (K,) int64
    """
    rows_out, cols_out = [], []
    free_cols = np.ones(cost.shape[1], dtype=bool)
    # One solve per distinct age (a handful), never per track.
    for age in np.unique(track_ages):
        if not free_cols.any():
            break
        level_rows = np.flatnonzero(track_ages == age)
        col_index = np.flatnonzero(free_cols)
        rows, cols = min_cost_matching(cost[np.ix_(level_rows, col_index)], max_cost)
        rows_out.append(level_rows[rows])
        cols_out.append(col_index[cols])
        free_cols[col_index[cols]] = False
    if not rows_out:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(rows_out).astype(np.int64), np.concatenate(cols_out).astype(np.int64)
