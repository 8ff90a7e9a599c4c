"""Camera motion between consecutive frames for moving robots (feeds the tracker's ``warp``).

Corners are found on a downscaled grey image with the detection boxes masked out (people move on
their own and would bias the estimate), tracked with pyramidal Lucas-Kanade flow into the next frame,
and a 2x3 affine (or rotation + scale + translation) is fitted with RANSAC. When too few points
survive, the identity is returned: a missed compensation costs less than a wrong one.
"""
from __future__ import annotations

import cv2
import numpy as np

from .params import Param

PARAMS = (
    Param("scale", 0.5, float, "Downscale factor of the grey image the features are found on.", range=(0.05, 1.0)),
    Param("model", "partial", str, "Motion model: full 6-dof affine or partial (rotation, scale, shift).",
          choices=("affine", "partial")),
    Param("max_features", 400, int, "Most corners tracked per frame.", range=(8, 100000)),
    Param("quality", 0.01, float, "Corner quality relative to the best corner.", range=(1e-6, 1.0)),
    Param("min_distance", 8, int, "Minimum distance between corners, working-scale pixels.", range=(1, 1000)),
    Param("ransac_threshold", 0.5, float, "RANSAC inlier threshold, working-scale pixels.", range=(0.01, 100.0)),
    Param("min_inliers", 12, int, "Fewest RANSAC inliers for an estimate; fewer gives identity.",
          range=(3, 100000)),
)


class CameraMotionEstimator:
    """Estimates the affine that maps the previous frame onto the current one.

    Parameters
    ----------
    scale, model, max_features, quality, min_distance, ransac_threshold, min_inliers
        See :data:`PARAMS`.
    """

    def __init__(self, scale=0.5, model="partial", max_features=400, quality=0.01, min_distance=8,
                 ransac_threshold=0.5, min_inliers=12):
        self.scale = float(scale)
        self.model = model
        self.max_features, self.quality, self.min_distance = int(max_features), float(quality), int(min_distance)
        self.ransac_threshold, self.min_inliers = float(ransac_threshold), int(min_inliers)
        self._previous_grey = None
        self._previous_points = None
        self.inliers = 0  # inliers of the last estimate, for diagnostics

    def reset(self) -> None:
        """Forget the previous frame (e.g. after a camera switch)."""
        self._previous_grey = None
        self._previous_points = None

    def estimate(self, bgr: np.ndarray, boxes_xyxy: np.ndarray | None = None) -> np.ndarray:
        """Affine from the previous frame to this one, in original pixels.

        Parameters
        ----------
        bgr : ndarray
            BGR uint8 image (H, W, 3) or grey (H, W).
        boxes_xyxy : ndarray, optional
            (N, 4) boxes of moving objects to exclude from the features.

        Returns
        -------
        ndarray
            (2, 3) float64; identity for the first frame or when the estimate is unreliable.
        """
        if bgr.ndim == 3:
            grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        elif bgr.ndim == 2:
            grey = bgr
        else:
            raise ValueError(f"camera motion expects a BGR or grey image, got shape {bgr.shape}")
        if self.scale != 1.0:
            grey = cv2.resize(grey, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
        mask = np.full(grey.shape, 255, dtype=np.uint8)
        if boxes_xyxy is not None and len(boxes_xyxy):
            # Masking is a per-box rectangle fill; a handful of boxes per frame is cheap in OpenCV.
            scaled = np.round(np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4) * self.scale)
            scaled = scaled[np.isfinite(scaled).all(axis=1)].astype(np.int64)
            for x1, y1, x2, y2 in scaled:
                cv2.rectangle(mask, (int(x1), int(y1)), (int(x2), int(y2)), 0, thickness=-1)
        warp = np.eye(2, 3)
        self.inliers = 0
        previous_grey, previous_points = self._previous_grey, self._previous_points
        if previous_grey is not None and previous_grey.shape == grey.shape and previous_points is not None \
                and len(previous_points) >= self.min_inliers:
            points, status, _ = cv2.calcOpticalFlowPyrLK(previous_grey, grey, previous_points, None,
                                                         winSize=(21, 21), maxLevel=3)
            ok = status.ravel() == 1
            if np.count_nonzero(ok) >= self.min_inliers:
                fit = cv2.estimateAffine2D if self.model == "affine" else cv2.estimateAffinePartial2D
                matrix, inlier_mask = fit(previous_points[ok], points[ok], method=cv2.RANSAC,
                                          ransacReprojThreshold=self.ransac_threshold)
                inliers = int(inlier_mask.sum()) if inlier_mask is not None else 0
                if matrix is not None and inliers >= self.min_inliers:
                    self.inliers = inliers
                    warp = matrix.astype(np.float64)
                    # Back to original pixels: T = S^-1 A S with S = scale * I.
                    warp[:, 2] /= self.scale
        self._previous_grey = grey
        self._previous_points = cv2.goodFeaturesToTrack(grey, self.max_features, self.quality,
                                                        self.min_distance, mask=mask)
        return warp
