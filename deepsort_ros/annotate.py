"""Drawing tracks onto images: boxes, ids, class names and short trails (OpenCV only, no ROS).

Tracks coasting on their prediction (no detection this frame) get a dashed outline and ``?`` after the id.

Used by the ROS node for its ``tracks/image`` topic and by the offline tools for annotated videos, so
both show the same picture.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import cv2
import numpy as np

# Hues spaced by the golden ratio give neighbouring ids clearly different colours.
_PALETTE_SIZE = 64
_PALETTE_HSV = np.stack([
    (np.arange(_PALETTE_SIZE) * 0.618033988749895 % 1.0 * 180).astype(np.uint8),
    np.full(_PALETTE_SIZE, 220, np.uint8),
    np.full(_PALETTE_SIZE, 255, np.uint8),
], axis=1)[None]
PALETTE_BGR = cv2.cvtColor(_PALETTE_HSV, cv2.COLOR_HSV2BGR)[0]


def track_colour(track_id: int) -> tuple[int, int, int]:
    """The BGR colour of a track id (stable across frames and runs)."""
    b, g, r = PALETTE_BGR[int(track_id) % _PALETTE_SIZE]
    return int(b), int(g), int(r)


class Annotator:
    """Draws tracks onto a copy of each frame and remembers a short trail per track id.

    Parameters
    ----------
    trail_length : int
        Box-bottom centres kept per track for its trail; 0 draws no trails.
    forget_after : int
        Frames after which the trail of a track that is no longer reported is dropped.

    Notes
    -----
    Call :meth:`draw` once per frame in order, or :meth:`update_trails` for frames that are not drawn,
    so trails stay continuous while nobody watches.
    """

    def __init__(self, trail_length: int = 30, forget_after: int = 30):
        if trail_length < 0:
            raise ValueError(f"trail_length={trail_length} must be >= 0")
        if forget_after < 1:
            raise ValueError(f"forget_after={forget_after} must be >= 1")
        self.trail_length = int(trail_length)
        self.forget_after = int(forget_after)
        self._trails: dict[int, deque] = {}
        self._last_seen: dict[int, int] = {}
        self._frame = 0

    def reset(self) -> None:
        """Forget every trail (a new sequence starts)."""
        self._trails.clear()
        self._last_seen.clear()
        self._frame = 0

    def update_trails(self, ids: np.ndarray, boxes_xyxy: np.ndarray) -> None:
        """Advance the trails by one frame without drawing (for frames nobody looks at)."""
        self._frame += 1
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        # Trails follow the bottom centre (the feet for people), which moves least with box jitter.
        points = np.stack([(boxes[:, 0] + boxes[:, 2]) * 0.5, boxes[:, 3]], axis=1).round().astype(np.int32)
        for track_id, point in zip(ids.tolist(), points):
            trail = self._trails.get(track_id)
            if trail is None or trail.maxlen != max(self.trail_length, 1):
                trail = deque(trail or (), maxlen=max(self.trail_length, 1))
                self._trails[track_id] = trail
            trail.append(point)
            self._last_seen[track_id] = self._frame
        stale = [i for i, seen in self._last_seen.items() if self._frame - seen >= self.forget_after]
        for track_id in stale:
            del self._trails[track_id], self._last_seen[track_id]

    def draw(self, bgr: np.ndarray, ids: np.ndarray, boxes_xyxy: np.ndarray,
             labels: Sequence[str] | None = None, predicted: np.ndarray | None = None) -> np.ndarray:
        """Draw one frame's tracks onto a copy of ``bgr``.

        Parameters
        ----------
        bgr : ndarray
            (H, W, 3) uint8 image; not modified.
        ids : ndarray
            (M,) track ids.
        boxes_xyxy : ndarray
            (M, 4) boxes in image pixels.
        labels : sequence of str, optional
            (M,) text after each id, e.g. class names.
        predicted : ndarray of bool, optional
            (M,) tracks that no detection supported this frame (coasting on their prediction): drawn with a
            dashed outline and a ``?`` after the id.

        Returns
        -------
        ndarray
            The annotated (H, W, 3) uint8 copy.
        """
        if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
            raise ValueError(f"annotator expects a BGR uint8 image (H, W, 3), got {bgr.dtype} {bgr.shape}")
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        predicted = np.zeros(len(ids), bool) if predicted is None else np.asarray(predicted, bool).reshape(-1)
        if len(ids) != len(boxes) or (labels is not None and len(labels) != len(ids)) or len(predicted) != len(ids):
            raise ValueError(f"annotator got {len(ids)} ids, {len(boxes)} boxes, "
                             f"{'no' if labels is None else len(labels)} labels and {len(predicted)} coasting flags")
        self.update_trails(ids, boxes)
        out = bgr.copy()
        height = out.shape[0]
        # Text and lines grow with the image so they stay readable on large frames.
        font_scale = max(0.4, height / 900.0)
        thickness = max(1, int(round(height / 400.0)))
        corners = boxes.round().astype(np.int32)
        for row, track_id in enumerate(ids.tolist()):
            colour = track_colour(track_id)
            trail = self._trails.get(track_id)
            if self.trail_length > 1 and trail is not None and len(trail) > 1:
                cv2.polylines(out, [np.asarray(trail, dtype=np.int32)], False, colour, thickness, cv2.LINE_AA)
            x1, y1, x2, y2 = corners[row].tolist()
            if predicted[row]:
                cv2.polylines(out, _dashes(x1, y1, x2, y2, dash=max(4, 3 * thickness)), False, colour, thickness)
            else:
                cv2.rectangle(out, (x1, y1), (x2, y2), colour, thickness)
            text = str(track_id) + ("?" if predicted[row] else "")
            text = text if labels is None or not labels[row] else f"{text} {labels[row]}"
            (text_w, text_h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
            top = max(y1 - text_h - baseline, 0)
            cv2.rectangle(out, (x1, top), (x1 + text_w, top + text_h + baseline), colour, cv2.FILLED)
            cv2.putText(out, text, (x1, top + text_h), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0),
                        thickness, cv2.LINE_AA)
        return out


def _dashes(x1: int, y1: int, x2: int, y2: int, dash: int) -> list[np.ndarray]:
    """Line segments of a dashed rectangle outline: every other ``dash`` pixels of each side."""
    segments = []
    for (ax, ay), (bx, by) in (((x1, y1), (x2, y1)), ((x2, y1), (x2, y2)), ((x2, y2), (x1, y2)), ((x1, y2), (x1, y1))):
        length = max(abs(bx - ax), abs(by - ay))
        starts = np.arange(0, length, 2 * dash)
        ends = np.minimum(starts + dash, length)
        t = np.stack([starts, ends], axis=1)[..., None] / max(length, 1)
        points = np.array([ax, ay]) + t * np.array([bx - ax, by - ay])
        segments.extend(points.round().astype(np.int32))
    return segments
