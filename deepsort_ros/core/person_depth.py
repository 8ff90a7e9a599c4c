"""A robust depth of each boxed object from a depth image registered to the colour image.

Three things lie inside a person's box besides the person: the background between the legs and beside the
arms, holes (0 or NaN where the sensor saw nothing), and whatever stands in front (an occluder). So:

1. depth is sampled on a fixed grid over the *torso* (the central half of the width, 15-55 % of the height):
   no legs, little background; a fixed number of samples keeps the cost independent of the image size;
2. holes (0, NaN, infinities, negatives) are dropped;
3. samples inside a box in front are dropped (people stand on a floor, so the box reaching lower in the
   image is nearer), so a detected occluder never lends its depth to the person behind it (one covered
   entirely gets no depth: the metric filter predicts it);
4. the samples are clustered by depth: the densest ``cluster_width`` window (most samples) is the object,
   so a background or an undetected occluder covering less of the torso than the object does is ignored;
   the window's median is the depth.

Vectorised over boxes (one gather of ``rows x cols`` samples per box); numpy only.
"""
from __future__ import annotations

import numpy as np

GRID_ROWS = 10
GRID_COLS = 8
# Torso window as fractions of the box: (left, right) and (top, bottom).
TORSO_X = (0.25, 0.75)
TORSO_Y = (0.15, 0.55)
# Stand-in depth for holes (metres) and the lift separating rows in one sorted array: far beyond any sensor.
_BEYOND = 1e5
_ROW_OFFSET = 1e6
# Fewest samples a depth is taken from.
MIN_SAMPLES = 4


def box_depths(depth: np.ndarray, boxes_xyxy: np.ndarray, scale: float = 1.0, image_size=None,
               cluster_width: float = 0.4, min_fraction: float = 0.2) -> np.ndarray:
    """The depth of each box's object, metres (NaN where unknown).

    Parameters
    ----------
    depth : (H, W) array
        Depth image, uint16 (millimetres, with ``scale=0.001``) or float (metres); 0 and NaN are holes.
    boxes_xyxy : (N, 4) array
        Boxes in pixels of the colour image.
    scale : float
        Metres per depth unit.
    image_size : (width, height), optional
        Size of the colour image the boxes belong to when the (registered) depth image has another size;
        None when both are the same.
    cluster_width : float
        Width in metres of the depth window that collects the object's samples.
    min_fraction : float
        Least fraction of a box's samples (those not behind a box in front) the densest window must hold,
        and at least ``MIN_SAMPLES``; below it the depth is unknown (mostly holes).

    Returns
    -------
    (N,) float64
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    n = len(boxes)
    if n == 0:
        return np.zeros(0)
    height, width = depth.shape[:2]
    if image_size is not None:
        boxes = boxes * np.tile([width / image_size[0], height / image_size[1]], 2)
    fx = np.linspace(TORSO_X[0], TORSO_X[1], GRID_COLS)
    fy = np.linspace(TORSO_Y[0], TORSO_Y[1], GRID_ROWS)
    xs = boxes[:, 0:1] + (boxes[:, 2:3] - boxes[:, 0:1]) * fx            # (N, C)
    ys = boxes[:, 1:2] + (boxes[:, 3:4] - boxes[:, 1:2]) * fy            # (N, R)
    cols = np.clip(np.round(xs), 0, width - 1).astype(np.intp)
    rows = np.clip(np.round(ys), 0, height - 1).astype(np.intp)
    samples = depth[rows[:, :, None], cols[:, None, :]].reshape(n, -1).astype(np.float64) * scale
    holes = ~(np.isfinite(samples) & (samples > 0))
    occluded = np.zeros_like(holes)
    if n > 1:
        px = np.broadcast_to(xs[:, None, :], (n, GRID_ROWS, GRID_COLS)).reshape(n, -1, 1)
        py = np.broadcast_to(ys[:, :, None], (n, GRID_ROWS, GRID_COLS)).reshape(n, -1, 1)
        inside = (px >= boxes[:, 0]) & (px <= boxes[:, 2]) & (py >= boxes[:, 1]) & (py <= boxes[:, 3])  # (N, K, N)
        # Only boxes in front count: on a floor, the box reaching lower in the image is nearer.
        inside &= (boxes[:, 3][None, :] >= boxes[:, 3][:, None])[:, None, :]
        inside[np.arange(n), :, np.arange(n)] = False
        occluded = inside.any(axis=2)
        holes |= occluded
    # Holes sort last, beyond any depth and any window.
    samples[holes] = _BEYOND
    samples.sort(axis=1)
    k = samples.shape[1]
    valid_counts = k - np.count_nonzero(holes, axis=1)
    # For every sample taken as a window's near edge: the samples within cluster_width behind it. Rows are
    # sorted, so the window is a contiguous run; one searchsorted over all rows, each lifted by its own offset.
    lifted = (samples + np.arange(n)[:, None] * _ROW_OFFSET).ravel()
    ends = np.searchsorted(lifted, lifted + cluster_width, side="right").reshape(n, k) - np.arange(n)[:, None] * k
    counts = np.where(np.arange(k) < valid_counts[:, None], ends - np.arange(k), 0)
    best = counts.argmax(axis=1)
    best_count = counts[np.arange(n), best]
    middle = np.minimum(best + np.maximum(best_count - 1, 0) // 2, k - 1)
    upper = np.minimum(best + np.maximum(best_count, 1) // 2, k - 1)
    median = 0.5 * (samples[np.arange(n), middle] + samples[np.arange(n), upper])
    # Enough of what the box shows of its own object (samples behind a box in front do not count).
    enough = best_count >= np.maximum(MIN_SAMPLES, min_fraction * (k - np.count_nonzero(occluded, axis=1)))
    return np.where(enough, median, np.nan)
