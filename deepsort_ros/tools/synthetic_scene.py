"""A deterministic synthetic street scene: differently dressed people walking over a fixed background.

Used by ``deepsort-bench`` when no video is given and by the tests, so perception and tracking can be
exercised without data files. Every person has a head, a shirt and trousers of their own colours and
walks along a lane of their own, bouncing off the image borders; ground-truth boxes come with each frame.
The whole box is textured (background included, as a real detector box would be).
"""
from __future__ import annotations

import cv2
import numpy as np

# Distinct shirt and trouser colours (BGR), chosen far apart in hue and brightness.
_SHIRTS = ((40, 40, 200), (200, 60, 40), (40, 180, 40), (0, 200, 230), (180, 40, 180), (230, 230, 230),
           (20, 20, 20), (200, 200, 40))
_TROUSERS = ((90, 60, 30), (30, 30, 30), (160, 160, 160), (60, 40, 120), (20, 90, 20), (120, 30, 30),
             (200, 170, 120), (40, 40, 90))
_SKIN = (140, 170, 220)


class SyntheticScene:
    """People walking over a textured static background.

    Parameters
    ----------
    width, height : int
        Frame size.
    people : int
        Number of people (each on a horizontal lane of its own).
    seed : int
        Seed of the background texture, start positions and speeds.
    empty_frames : int
        Frames at the start showing only the background (lets background subtraction learn it).
    noise : float
        Standard deviation of per-frame sensor noise (grey levels).
    """

    def __init__(self, width=640, height=480, people=5, seed=0, empty_frames=0, noise=2.0):
        rng = np.random.default_rng(seed)
        self.width, self.height, self.empty_frames, self.noise = int(width), int(height), int(empty_frames), noise
        texture = rng.normal(0.0, 1.0, (height // 16 + 1, width // 16 + 1, 3))
        texture = cv2.resize(texture, (width, height), interpolation=cv2.INTER_CUBIC)
        self.background = np.clip(110 + 25 * texture, 0, 255).astype(np.uint8)
        self.person_height = max(int(height * 0.19), 24)
        self.person_width = max(self.person_height * 2 // 5, 8)
        lanes = np.linspace(0.08 * height, height - 1.08 * self.person_height, max(people, 1))
        self.tops = lanes[:people]
        self.starts = rng.uniform(0, width - self.person_width, people)
        self.speeds = rng.uniform(2.0, 5.0, people) * rng.choice([-1.0, 1.0], people)
        self.ids = np.arange(1, people + 1)
        # Fabric texture per person: uniform patches that overlap their own last position would look static.
        self._fabric = rng.integers(-30, 31, (max(people, 1), self.person_height, self.person_width, 1)).astype(np.int16)
        # A small bank of noise fields, cycled, keeps rendering cheap and every frame deterministic.
        self._noise = np.round(rng.normal(0.0, noise, (4, height, width, 3))).astype(np.int16) if noise > 0 else None

    def boxes(self, index: int) -> np.ndarray:
        """Ground-truth (P, 4) xyxy boxes of every person in frame ``index`` (empty before they appear)."""
        if index < self.empty_frames:
            return np.zeros((0, 4))
        span = self.width - self.person_width
        travelled = self.starts + self.speeds * (index - self.empty_frames)
        # Bounce off the borders: a triangle wave over [0, span].
        left = span - np.abs(np.mod(travelled, 2 * span) - span)
        return np.stack([left, self.tops, left + self.person_width, self.tops + self.person_height], axis=1)

    def frame(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(bgr, boxes_xyxy, ids)`` of frame ``index``."""
        image = self.background.copy()
        boxes = self.boxes(index)
        for k, (x1, y1, x2, y2) in enumerate(np.round(boxes).astype(int)):
            self._draw_person(image, k, x1, y1, x2, y2)
            region = image[y1:y2, x1:x2]
            region[:] = np.clip(region + self._fabric[k, :region.shape[0], :region.shape[1]], 0, 255)
        if self._noise is not None:
            image = np.clip(image + self._noise[index % len(self._noise)], 0, 255).astype(np.uint8)
        return image, boxes, self.ids[: len(boxes)]

    def frames(self, count: int):
        """Iterate over the first ``count`` frames as ``(bgr, boxes_xyxy, ids)``."""
        return (self.frame(i) for i in range(count))

    @staticmethod
    def _draw_person(image, k, x1, y1, x2, y2):
        h, w = y2 - y1, x2 - x1
        head = h // 6
        cv2.ellipse(image, (x1 + w // 2, y1 + head // 2), (max(w // 4, 1), head // 2), 0, 0, 360, _SKIN, -1)
        cv2.rectangle(image, (x1, y1 + head), (x2 - 1, y1 + head + (h - head) // 2), _SHIRTS[k % len(_SHIRTS)], -1)
        cv2.rectangle(image, (x1 + w // 8, y1 + head + (h - head) // 2), (x2 - 1 - w // 8, y2 - 1),
                      _TROUSERS[k % len(_TROUSERS)], -1)
