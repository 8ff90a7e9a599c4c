"""A robust depth of each boxed object from a depth image registered to the colour image.

Three things lie inside a person's box besides the person: the background between the legs and beside the
arms, holes (0 or NaN where the sensor saw nothing), and whatever stands in front (an occluder). So:

1. depth is sampled on a fixed grid over the *torso* (the central half of the width, 15-55 % of the height):
   no legs, little background; a fixed number of samples keeps the cost independent of the image size;
2. holes (0, NaN, infinities, negatives) are dropped;
3. the samples are clustered by depth: the densest ``cluster_width`` window (most samples) is the person,
   so a background or an occluder covering less of the torso than the person does is ignored; its median
   is the depth.

Vectorised over boxes (one gather of ``rows x cols`` samples per box); numpy only.
"""
from __future__ import annotations

import numpy as np

GRID_ROWS = 10
GRID_COLS = 8
# Torso window as fractions of the box: (left, right) and (top, bottom).
TORSO_X = (0.25, 0.75)
TORSO_Y = (0.15, 0.55)


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
        Least fraction of a box's samples the densest window must hold; below it the depth is unknown
        (mostly holes).

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
    samples[~(np.isfinite(samples) & (samples > 0))] = np.inf
    samples.sort(axis=1)
    valid = np.isfinite(samples)
    # For every sample taken as a window's near edge: how many samples lie within cluster_width behind it.
    within = (samples[:, None, :] >= samples[:, :, None]) & (samples[:, None, :] <= samples[:, :, None] + cluster_width)
    counts = np.where(valid, within.sum(axis=2), 0)
    best = counts.argmax(axis=1)
    best_count = counts[np.arange(n), best]
    near = samples[np.arange(n), best]
    in_window = (samples >= near[:, None]) & (samples <= near[:, None] + cluster_width)
    cluster = np.where(in_window, samples, np.nan)
    with np.errstate(all="ignore"):
        result = np.nanmedian(np.where(in_window.any(axis=1, keepdims=True), cluster, 0.0), axis=1)
    enough = best_count >= max(1, int(np.ceil(min_fraction * samples.shape[1])))
    return np.where(enough, result, np.nan)
