"""Recall and precision of a detector against MOTChallenge ground truth (IoU matching per frame).

Used by ``deepsort-bench --gt`` and the tests to tune and check detectors such as the motion backend
(ground truth read with :func:`deepsort_ros.tools.mot.read_mot_rows`, whose ``scores`` column is the
'consider' flag). Ground-truth rows with ``consider == 0`` are not scored, and detections that overlap them are ignored,
as MOTChallenge does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from deepsort_ros.core.linear_assignment import iou_matrix


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
