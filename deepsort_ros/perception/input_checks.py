"""Checks of the frames and boxes handed to the perception backends and the pipeline: a clear ValueError
naming the caller instead of an OpenCV or torch error deep inside."""
from __future__ import annotations

import numpy as np


def check_boxes(boxes_xyxy, where: str) -> np.ndarray:
    """Return boxes as a finite (N, 4) float32 array or raise ``ValueError``."""
    boxes = np.asarray(boxes_xyxy, dtype=np.float32)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{where}: boxes must have shape (N, 4), got {boxes.shape}")
    if not np.isfinite(boxes).all():
        raise ValueError(f"{where}: boxes contain NaN or infinite values")
    return boxes


def check_image(bgr, where: str) -> np.ndarray:
    """Return ``bgr`` if it is a BGR uint8 (H, W, 3) image, else raise ``ValueError``."""
    if not isinstance(bgr, np.ndarray) or bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
        shape = getattr(bgr, "shape", None)
        raise ValueError(f"{where}: expected a BGR uint8 image (H, W, 3), got {getattr(bgr, 'dtype', type(bgr))} {shape}")
    return bgr
