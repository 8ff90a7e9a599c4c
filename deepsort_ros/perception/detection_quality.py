"""Recall and precision of a detector against MOTChallenge ground truth (IoU matching per frame).

Used by ``deepsort-bench --gt`` and the tests to tune and check detectors such as the motion backend.
Ground-truth rows with ``consider == 0`` are not scored, and detections that overlap them are ignored,
as MOTChallenge does.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from deepsort_ros.core.linear_assignment import iou_matrix


def load_mot_gt(path: str | Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Read a MOTChallenge ``gt.txt`` into ``{frame: (boxes_xyxy (N, 4), consider (N,) bool)}``."""
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    if rows.shape[1] < 7:
        raise ValueError(f"{path}: expected at least 7 comma-separated columns, got {rows.shape[1]}")
    frames = rows[:, 0].astype(np.int64)
    boxes = np.concatenate([rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]], axis=1)
    consider = rows[:, 6] != 0
    order = np.argsort(frames, kind="stable")
    frames, boxes, consider = frames[order], boxes[order], consider[order]
    starts = np.flatnonzero(np.r_[True, frames[1:] != frames[:-1]])
    ends = np.r_[starts[1:], len(frames)]
    return {int(frames[s]): (boxes[s:e], consider[s:e]) for s, e in zip(starts, ends)}


@dataclass
class DetectionCounts:
    """Accumulated matches over frames."""

    matched: int = 0
    ground_truth: int = 0
    detections: int = 0

    @property
    def recall(self) -> float:
        return self.matched / self.ground_truth if self.ground_truth else 0.0

    @property
    def precision(self) -> float:
        return self.matched / self.detections if self.detections else 0.0

    def add(self, detections: np.ndarray, gt_boxes: np.ndarray, consider: np.ndarray,
            iou_threshold: float = 0.5) -> None:
        """Score one frame: one-to-one matching of ``detections`` (N, 4) xyxy to ground truth."""
        detections = np.asarray(detections, dtype=np.float64).reshape(-1, 4)
        gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
        consider = np.asarray(consider, dtype=bool)
        scored, ignored = gt_boxes[consider], gt_boxes[~consider]
        if len(ignored) and len(detections):
            overlap = iou_matrix(detections, ignored).max(axis=1) >= iou_threshold
            # A detection that also matches a scored person is kept; only pure distractor hits go.
            if len(scored):
                overlap &= iou_matrix(detections, scored).max(axis=1) < iou_threshold
            detections = detections[~overlap]
        self.ground_truth += len(scored)
        self.detections += len(detections)
        if len(scored) and len(detections):
            iou = iou_matrix(detections, scored)
            rows, cols = linear_sum_assignment(-iou)
            self.matched += int(np.count_nonzero(iou[rows, cols] >= iou_threshold))
