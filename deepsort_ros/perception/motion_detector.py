"""Person-like moving blobs from a fixed camera: MOG2 background subtraction, morphology, components.

Needs no weights, so demos and CI run without downloads. Works on a downscaled image for speed; boxes
are returned in original image pixels. The background model is stateful: frames must arrive in order
from one camera.
"""
from __future__ import annotations

from types import MappingProxyType

import cv2
import numpy as np

from .input_checks import check_image
from .params import Param

PARAMS = (
    Param("scale", 0.5, float, "Downscale factor applied before background subtraction.", range=(0.1, 1.0)),
    Param("history", 1000, int, "Frames of history in the MOG2 background model.", range=(1, 100000)),
    Param("var_threshold", 16.0, float, "MOG2 squared Mahalanobis distance threshold.", range=(1.0, 1000.0)),
    Param("learning_rate", -1.0, float, "MOG2 learning rate; -1 lets OpenCV pick 1/history.",
          range=(-1.0, 1.0)),
    Param("shadows", True, bool, "Detect shadows and exclude them from the foreground."),
    Param("open_size", 3, int, "Opening kernel (pixels at the working scale) that removes speckle.",
          range=(0, 51)),
    Param("close_width", 1, int, "Closing kernel width (working scale); 1 joins parts vertically without merging neighbours.",
          range=(0, 51)),
    Param("close_height", 9, int, "Closing kernel height (working scale); taller than wide for people.",
          range=(0, 101)),
    Param("min_height", 40.0, float, "Smallest blob height in original pixels.", range=(0.0, 100000.0)),
    Param("max_height", 400.0, float, "Largest blob height in original pixels.", range=(0.0, 100000.0)),
    Param("min_aspect", 1.5, float, "Smallest height/width ratio of a person-like blob.", range=(0.0, 100.0)),
    Param("max_aspect", 5.0, float, "Largest height/width ratio of a person-like blob.", range=(0.0, 100.0)),
    Param("min_fill", 0.4, float, "Smallest fraction of the box covered by foreground.", range=(0.0, 1.0)),
)

# Tracker settings for these detections, replacing TrackerConfig defaults that were tuned for a CNN detector:
# scores are foreground fractions (median 0.56), not confidences, so at high_score 0.6 most blobs could never
# start a track; blobs flicker, split and merge, so tracks confirm after 3 matches and are matched by IoU
# with less weight on appearance. Chosen together with PARAMS' defaults and the histogram embedder by HOTA
# on PETS09-S2L1 (``deepsort-track vtest.avi --fps 10``: 26.6 with the plain TrackerConfig defaults, 53.6
# with these). Pipeline.from_config applies them to tracker settings the config leaves unset, and the ROS
# node declares them as its tracker.* defaults when detector.backend is motion. They apply over the
# embedder's preset (``perception.tracker_preset``): the histogram embedder's tightens the IoU stage gate to
# 0.6, which suits Faster R-CNN boxes but not blobs that split and merge (53.1 instead of 53.6, 33 id switches
# instead of 27), so this preset states the looser gate these settings were chosen with.
TRACKER_SETTINGS = MappingProxyType({"high_score": 0.4, "n_init": 3, "motion_cost": "iou", "appearance_weight": 0.6,
                                     "max_iou_distance": 0.8})


class MotionDetector:
    """Detects person-like moving blobs with OpenCV MOG2.

    Parameters
    ----------
    scale, history, var_threshold, learning_rate, shadows, open_size, close_width, close_height,
    min_height, max_height, min_aspect, max_aspect, min_fill
        See :data:`PARAMS`.

    Notes
    -----
    Scores are the fraction of the box covered by foreground, so compact blobs rank above ragged ones.
    All detections have class 0, ``person``.
    """

    class_names = ["person"]

    def __init__(self, scale=0.5, history=1000, var_threshold=16.0, learning_rate=-1.0, shadows=True,
                 open_size=3, close_width=1, close_height=9, min_height=40.0, max_height=400.0,
                 min_aspect=1.5, max_aspect=5.0, min_fill=0.4):
        if min_height > max_height:
            raise ValueError(f"motion detector: min_height={min_height} exceeds max_height={max_height}")
        if min_aspect > max_aspect:
            raise ValueError(f"motion detector: min_aspect={min_aspect} exceeds max_aspect={max_aspect}")
        self.scale = float(scale)
        self.learning_rate = float(learning_rate)
        self.min_height, self.max_height = float(min_height), float(max_height)
        self.min_aspect, self.max_aspect = float(min_aspect), float(max_aspect)
        self.min_fill = float(min_fill)
        self._subtractor_settings = dict(history=int(history), varThreshold=float(var_threshold),
                                         detectShadows=bool(shadows))
        self._subtractor = cv2.createBackgroundSubtractorMOG2(**self._subtractor_settings)
        self._open = (cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (open_size, open_size))
                      if open_size > 1 else None)
        self._close = (cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(close_width, 1), max(close_height, 1)))
                       if max(close_width, close_height) > 1 else None)

    def reset(self) -> None:
        """Forget the background model (the camera moved or a new sequence starts); it is relearned from
        the next frames."""
        self._subtractor = cv2.createBackgroundSubtractorMOG2(**self._subtractor_settings)

    def detect(self, images):
        """Detect blobs in each frame, in order.

        Parameters
        ----------
        images : sequence of ndarray
            BGR uint8 frames (H, W, 3) from one fixed camera.

        Returns
        -------
        list of tuple
            Per frame ``(boxes_xyxy (N, 4) float32, scores (N,) float32, classes (N,) int64)``.
        """
        return [self._detect_one(image) for image in images]

    def foreground(self, bgr: np.ndarray) -> np.ndarray:
        """Update the background model with ``bgr`` and return the cleaned foreground mask (working scale)."""
        check_image(bgr, "motion detector")
        small = bgr if self.scale == 1.0 else cv2.resize(
            bgr, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
        raw = self._subtractor.apply(small, learningRate=self.learning_rate)
        # Shadows are marked 127 by MOG2; only confident foreground (255) counts.
        _, mask = cv2.threshold(raw, 200, 255, cv2.THRESH_BINARY)
        if self._open is not None:
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._open)
        if self._close is not None:
            mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self._close)
        return mask

    def _detect_one(self, bgr: np.ndarray):
        mask = self.foreground(bgr)
        _, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        stats = stats[1:].astype(np.float32)  # row 0 is the background
        x, y, w, h, area = stats.T
        inv = 1.0 / self.scale
        height = h * inv
        aspect = h / np.maximum(w, 1.0)
        fill = area / np.maximum(w * h, 1.0)
        keep = ((height >= self.min_height) & (height <= self.max_height)
                & (aspect >= self.min_aspect) & (aspect <= self.max_aspect) & (fill >= self.min_fill))
        boxes = np.stack([x, y, x + w, y + h], axis=1)[keep] * inv
        scores = fill[keep]
        return (boxes.astype(np.float32), scores.astype(np.float32),
                np.zeros(len(scores), dtype=np.int64))
