"""Colour appearance without weights: HSV histograms over horizontal stripes of each box.

Each box is sampled on a fixed grid (nearest pixel), so every box costs the same and all boxes of a
frame are handled by a few array operations: one gather, one colour conversion, one ``bincount``.
Chromatic pixels vote into hue x saturation bins, dark or grey pixels (whose hue is noise) into value
bins, following colour-based trackers (Perez et al., 2002). Stripes keep the vertical layout of
clothing (shirt above trousers). Every stripe histogram is normalised, square-rooted (so that cosine
similarity becomes the Bhattacharyya coefficient) and the whole vector L2-normalised. Defaults were
chosen by HOTA on PETS09-S2L1 with its shared detections (``deepsort-eval --appearance histogram``), and
these features bring their own tracker settings, :data:`TRACKER_SETTINGS`.
"""
from __future__ import annotations

from types import MappingProxyType

import cv2
import numpy as np

from .input_checks import check_boxes, check_image
from .params import Param

PARAMS = (
    Param("stripes", 4, int, "Horizontal stripes per box.", range=(1, 64)),
    Param("hue_bins", 8, int, "Hue bins for chromatic pixels.", range=(1, 180)),
    Param("saturation_bins", 3, int, "Saturation bins for chromatic pixels.", range=(1, 256)),
    Param("value_bins", 4, int, "Value bins for grey and dark pixels.", range=(1, 256)),
    Param("min_saturation", 60, int, "Saturation (0-255) below which a pixel counts as grey.", range=(0, 255)),
    Param("min_value", 40, int, "Value (0-255) below which a pixel counts as dark.", range=(0, 255)),
    Param("samples_height", 48, int, "Sample rows per box.", range=(1, 1024)),
    Param("samples_width", 16, int, "Sample columns per box.", range=(1, 1024)),
    Param("margin", 0.25, float, "Fraction of the box width dropped on each side (background).",
          range=(0.0, 0.45)),
)

# Tracker settings for these features, replacing TrackerConfig defaults that were tuned for 1280-d CNN
# features. Histogram distances separate people less reliably, so the fused cost leans more on motion, taken
# as box overlap, the IoU stage asks for more overlap, and a track's appearance also learns from slightly
# overlapped boxes. Chosen by coordinate descent over the TrackerConfig fields on PETS09-S2L1 with its
# shared detections (``deepsort-eval --appearance histogram``: HOTA 44.1, IDF1 61.5, 43 id switches with the
# plain defaults; 50.5, 74.7, 33 with these; leaving out one of them gives 45.6 / 47.1 / 49.3 / 49.1 in this
# order). The same settings cost the MobileNetV2 features 3.8 HOTA points, so they belong to this embedder.
# The TrackerConfig defaults later chosen on six sequences with MobileNetV2 features raised the velocity noise
# (0.016) and the score a detection needs to start a track and teach appearance (0.8); histogram features keep
# the values these settings were chosen with (0.008, 0.6): with the new defaults PETS09-S2L1 drops to HOTA 43.8,
# 46.5 with only the velocity noise kept, 46.9 with only the score, 50.6 with both.
# Re-checked on the mean of the three tuning sequences with frames (PETS09-S2L1, Venice-2, ADL-Rundle-6;
# ``deepsort-tune --appearance histogram`` over 15 settings, 72 values): only high_score 0.5 moves (mean HOTA
# 39.97 -> 40.92), a step inside the noise (0.55 scores 39.28, below both) that costs held-out TUD-Campus 2.0,
# so these stand.
# A detector's preset, the more specific one, goes over them (see ``perception.tracker_preset``).
TRACKER_SETTINGS = MappingProxyType({"appearance_weight": 0.8, "motion_cost": "iou", "max_iou_distance": 0.6,
                                     "appearance_update_max_iou": 0.3, "std_weight_velocity": 0.008,
                                     "high_score": 0.6})


class HistogramEmbedder:
    """Striped HSV histogram appearance features.

    Parameters
    ----------
    stripes, hue_bins, saturation_bins, value_bins, min_saturation, min_value, samples_height,
    samples_width, margin
        See :data:`PARAMS`.
    """

    def __init__(self, stripes=4, hue_bins=8, saturation_bins=3, value_bins=4, min_saturation=60,
                 min_value=40, samples_height=48, samples_width=16, margin=0.25):
        if samples_height < stripes:
            raise ValueError(f"histogram: samples_height={samples_height} must be >= stripes={stripes}")
        self.stripes = int(stripes)
        self.hue_bins, self.saturation_bins, self.value_bins = int(hue_bins), int(saturation_bins), int(value_bins)
        self.min_saturation, self.min_value = int(min_saturation), int(min_value)
        self.samples_height, self.samples_width = int(samples_height), int(samples_width)
        self.margin = float(margin)
        self.bins_per_stripe = self.hue_bins * self.saturation_bins + self.value_bins
        # Which stripe each sample row falls in.
        self._row_stripe = (np.arange(self.samples_height) * self.stripes) // self.samples_height

    @property
    def dim(self) -> int:
        """Length of one feature vector."""
        return self.stripes * self.bins_per_stripe

    def embed(self, bgr: np.ndarray, boxes_xyxy: np.ndarray) -> np.ndarray:
        """Features of the boxes in one frame.

        Parameters
        ----------
        bgr : ndarray
            BGR uint8 image (H, W, 3).
        boxes_xyxy : ndarray
            (N, 4) boxes in image pixels; parts outside the image are clipped.

        Returns
        -------
        ndarray
            (N, dim) float32, rows L2-normalised.
        """
        check_image(bgr, "histogram embedder")
        boxes = check_boxes(boxes_xyxy, "histogram embedder").astype(np.float64)
        n = len(boxes)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        height, width = bgr.shape[:2]
        inset = (boxes[:, 2] - boxes[:, 0]) * self.margin
        x1, x2 = boxes[:, 0] + inset, boxes[:, 2] - inset
        # Sample at cell centres of a samples_height x samples_width grid over each (inset) box.
        fy = (np.arange(self.samples_height) + 0.5) / self.samples_height
        fx = (np.arange(self.samples_width) + 0.5) / self.samples_width
        ys = boxes[:, 1:2] + (boxes[:, 3:4] - boxes[:, 1:2]) * fy
        xs = x1[:, None] + (x2 - x1)[:, None] * fx
        rows = np.clip(ys.astype(np.int64), 0, height - 1)
        cols = np.clip(xs.astype(np.int64), 0, width - 1)
        samples = bgr[rows[:, :, None], cols[:, None, :]]  # (N, sh, sw, 3)
        hsv = cv2.cvtColor(samples.reshape(n * self.samples_height, self.samples_width, 3), cv2.COLOR_BGR2HSV)
        hsv = hsv.reshape(n, self.samples_height, self.samples_width, 3).astype(np.int64)
        hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
        chromatic = (sat >= self.min_saturation) & (val >= self.min_value)
        hs_bin = (hue * self.hue_bins // 180) * self.saturation_bins + sat * self.saturation_bins // 256
        v_bin = self.hue_bins * self.saturation_bins + val * self.value_bins // 256
        bin_in_stripe = np.where(chromatic, hs_bin, v_bin)
        stripe = np.broadcast_to(self._row_stripe[None, :, None], bin_in_stripe.shape)
        box = np.broadcast_to(np.arange(n)[:, None, None], bin_in_stripe.shape)
        flat = (box * self.stripes + stripe) * self.bins_per_stripe + bin_in_stripe
        counts = np.bincount(flat.ravel(), minlength=n * self.dim).astype(np.float32)
        hist = counts.reshape(n, self.stripes, self.bins_per_stripe)
        hist = np.sqrt(hist / hist.sum(axis=2, keepdims=True))
        features = hist.reshape(n, self.dim)
        features /= np.linalg.norm(features, axis=1, keepdims=True)
        return features
