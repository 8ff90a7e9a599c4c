"""A synthetic RGB-D scene with known 3D truth: box-shaped people walking in front of a wall.

A pinhole camera (no distortion) 1.2 m above a flat floor looks horizontally at a wall; people are
textured boxes (0.5 m wide, 1.75 m tall, 0.2 m thick, a gap between the legs) walking at constant 3D
velocities, drawn far to near so nearer people occlude farther ones. The depth image (16UC1 millimetres) has
depth-dependent noise (``noise_quadratic`` x depth^2, as stereo cameras have) and holes (random pixels and a
patch on each person). Each frame comes with every person's true centre and velocity in the camera's optical
frame, their full box and the fraction of it that is visible.

Used by the tests (position and velocity accuracy of depth mode, the node's spatial outputs) and by
``deepsort-bench --spatial depth`` (the cost of the spatial stage).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepsort_ros.core.camera_geometry import CameraModel

CAMERA_HEIGHT = 1.2
WALL_DEPTH = 7.0
PERSON_WIDTH, PERSON_HEIGHT, PERSON_THICKNESS = 0.5, 1.75, 0.2
LEG_GAP_WIDTH, LEG_HEIGHT = 0.12, 0.8
# (x, z, vx, vz): metres and m/s in the optical frame; chosen so people cross in front of each other at
# 3-5 m and stay in view for 4 s.
DEFAULT_PEOPLE = ((-1.4, 3.0, 0.7, 0.0), (1.8, 4.5, -0.8, 0.1), (0.3, 3.0, 0.0, 0.45), (-0.8, 5.0, 0.3, -0.3))


@dataclass(frozen=True)
class DepthFrame:
    """One rendered frame.

    Attributes
    ----------
    bgr : (H, W, 3) uint8
    depth_mm : (H, W) uint16, 0 = hole
    boxes : (P, 4) float64 full boxes of the people (x1, y1, x2, y2), clipped to the image
    visible : (P,) float64 fraction of each box showing that person
    centres, velocities : (P, 3) float64 optical frame, metres and m/s
    """

    bgr: np.ndarray
    depth_mm: np.ndarray
    boxes: np.ndarray
    visible: np.ndarray
    centres: np.ndarray
    velocities: np.ndarray


class DepthScene:
    """Renders frames of the scene at given times.

    Parameters
    ----------
    width, height : int
    focal : float
        Focal length in pixels (principal point at the image centre).
    people : sequence of (x, z, vx, vz)
    noise_quadratic : float
        Depth noise standard deviation per metre squared of depth.
    hole_fraction : float
        Fraction of pixels without depth.
    seed : int
    """

    def __init__(self, width: int = 640, height: int = 480, focal: float = 525.0, people=DEFAULT_PEOPLE,
                 noise_quadratic: float = 0.002, hole_fraction: float = 0.05, seed: int = 0):
        self.width, self.height, self.focal = int(width), int(height), float(focal)
        self.camera = CameraModel.create([[focal, 0.0, (width - 1) / 2], [0.0, focal, (height - 1) / 2],
                                          [0.0, 0.0, 1.0]], (), width, height)
        self.people = np.asarray(people, dtype=np.float64).reshape(-1, 4)
        self.noise_quadratic = noise_quadratic
        self.hole_fraction = hole_fraction
        self._rng = np.random.default_rng(seed)
        texture_rng = np.random.default_rng(seed + 1)
        self._wall = np.clip(texture_rng.normal(150, 25, (height, width, 3)), 0, 255).astype(np.uint8)
        self._colours = texture_rng.integers(30, 230, (len(self.people), 2, 3))

    def _project(self, x: np.ndarray, y: float, z: np.ndarray) -> np.ndarray:
        """Pixels (N, 2) of the points ``(x, y, z)`` (N x and z, one height y) in the optical frame."""
        return self.camera.project(np.column_stack([x, np.full_like(x, y), z]))

    def render(self, t: float) -> DepthFrame:
        """The frame at ``t`` seconds."""
        h, w = self.height, self.width
        bgr = self._wall.copy()
        depth = np.full((h, w), WALL_DEPTH)
        owner = np.full((h, w), -1)
        x, z = self.people[:, 0] + self.people[:, 2] * t, self.people[:, 1] + self.people[:, 3] * t
        top_y, feet_y = CAMERA_HEIGHT - PERSON_HEIGHT, CAMERA_HEIGHT
        front = z - PERSON_THICKNESS / 2
        boxes = np.hstack([self._project(x - PERSON_WIDTH / 2, top_y, front),
                           self._project(x + PERSON_WIDTH / 2, feet_y, front)])
        gap_left = self._project(x - LEG_GAP_WIDTH / 2, 0.0, front)[:, 0]
        gap_right, leg_top = self._project(x + LEG_GAP_WIDTH / 2, feet_y - LEG_HEIGHT, front).T
        for person in np.argsort(-z):               # far to near: nearer people cover farther ones
            u1, v1, u2, v2 = boxes[person]
            c1, r1, c2, r2 = (int(np.clip(np.round(value), 0, limit)) for value, limit in
                              ((u1, w), (v1, h), (u2, w), (v2, h)))
            region = np.zeros((h, w), bool)
            region[r1:r2, c1:c2] = True
            region[int(np.clip(leg_top[person], 0, h)):r2,
                   int(np.clip(gap_left[person], 0, w)):int(np.clip(gap_right[person], 0, w))] = False
            rows = np.arange(h)[:, None]
            shirt = rows < (v1 + v2) / 2
            stripes = ((np.arange(w)[None, :] // 6) % 2).astype(np.uint8) * 40
            colour = np.where(shirt[..., None], self._colours[person, 0], self._colours[person, 1]).astype(np.uint8)
            textured = np.clip(colour.astype(np.int16) + stripes[..., None], 0, 255).astype(np.uint8)
            bgr[region] = np.broadcast_to(textured, (h, w, 3))[region]
            depth[region] = front[person]
            owner[region] = person
        area = np.maximum((np.clip(boxes[:, 2], 0, w) - np.clip(boxes[:, 0], 0, w))
                          * (np.clip(boxes[:, 3], 0, h) - np.clip(boxes[:, 1], 0, h)), 1.0)
        counts = np.bincount(owner[owner >= 0], minlength=len(x))
        visible = counts / area
        noisy = depth + self._rng.normal(0.0, 1.0, depth.shape) * self.noise_quadratic * depth ** 2
        depth_mm = np.round(noisy * 1000.0).astype(np.uint16)
        depth_mm[self._rng.random(depth.shape) < self.hole_fraction] = 0
        for person in range(len(x)):                 # a patch without depth on each person (dark clothes)
            u1, v1, u2, v2 = boxes[person]
            pr, pc = int(v1 + 0.3 * (v2 - v1)), int(u1 + 0.2 * (u2 - u1))
            depth_mm[max(pr, 0):max(pr + int(0.1 * (v2 - v1)), 0), max(pc, 0):max(pc + int(0.3 * (u2 - u1)), 0)] = 0
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w - 1)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h - 1)
        centres = np.column_stack([x, np.full(len(x), (top_y + feet_y) / 2), z])
        velocities = np.column_stack([self.people[:, 2], np.zeros(len(x)), self.people[:, 3]])
        return DepthFrame(bgr=bgr, depth_mm=depth_mm, boxes=boxes, visible=visible, centres=centres,
                          velocities=velocities)
