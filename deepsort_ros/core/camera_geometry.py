"""Pinhole camera with plumb_bob lens distortion, camera poses, and rays meeting the ground.

Conventions (REP 103 / 105):

- Pixels are 0-based: the centre of the first pixel is (0, 0), as in ``sensor_msgs/CameraInfo``.
- The camera's *optical* frame has x right, y down, z forward (the frame of ``camera_info.header``).
- A camera pose in a ground frame (z up, ground at z = 0) is given for the camera's *body* frame (x forward,
  y left, z up; a URDF ``camera_link``): its position and roll/pitch/yaw with URDF's convention
  ``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (fixed axes x, y, z). Positive pitch looks down. The optical frame
  is the body frame turned by the fixed REP 103 rotation (``OPTICAL_IN_BODY``).

Everything is vectorised over points; numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Columns: the optical frame's x (right), y (down) and z (forward) axes in the body frame (x fwd, y left, z up).
OPTICAL_IN_BODY = np.array([[0.0, 0.0, 1.0],
                            [-1.0, 0.0, 0.0],
                            [0.0, -1.0, 0.0]])
# Fixed-point iterations undoing plumb_bob distortion (OpenCV's undistortPoints uses 5; 10 keeps wide-angle
# lenses below 0.01 px).
UNDISTORT_ITERATIONS = 10


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics of one camera: ``K`` and plumb_bob distortion ``(k1, k2, p1, p2, k3)``.

    Attributes
    ----------
    k : (3, 3) float64
        Camera matrix ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` in pixels.
    distortion : (5,) float64
        plumb_bob ``k1, k2, p1, p2, k3`` (zeros: no distortion).
    width, height : int
        Image size in pixels the intrinsics belong to.
    """

    k: np.ndarray
    distortion: np.ndarray
    width: int
    height: int

    @classmethod
    def create(cls, k, distortion=(), width: int = 0, height: int = 0) -> "CameraModel":
        """Check and build a model.

        Raises
        ------
        ValueError
            When ``k`` is not 3x3 with positive finite focal lengths, or the distortion has more than 5
            or non-finite coefficients.
        """
        k = np.asarray(k, dtype=np.float64).reshape(3, 3)
        if not np.isfinite(k).all() or k[0, 0] <= 0 or k[1, 1] <= 0:
            raise ValueError(f"camera matrix needs positive finite focal lengths, got fx={k[0, 0]}, fy={k[1, 1]}")
        coefficients = np.zeros(5)
        given = np.asarray(distortion, dtype=np.float64).reshape(-1)
        if len(given) > 5 or not np.isfinite(given).all():
            raise ValueError(f"plumb_bob distortion needs up to 5 finite coefficients, got {given.tolist()}")
        coefficients[:len(given)] = given
        return cls(k=k, distortion=coefficients, width=int(width), height=int(height))

    @property
    def focal(self) -> np.ndarray:
        """``(fx, fy)`` in pixels."""
        return np.array([self.k[0, 0], self.k[1, 1]])

    def distort(self, normalised: np.ndarray) -> np.ndarray:
        """Ideal normalised image coordinates (N, 2) -> distorted normalised coordinates (N, 2)."""
        k1, k2, p1, p2, k3 = self.distortion
        x, y = normalised[:, 0], normalised[:, 1]
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
        yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
        return np.column_stack([xd, yd])

    def project(self, points_optical: np.ndarray) -> np.ndarray:
        """3D points in the optical frame (N, 3), in front of the camera -> pixels (N, 2)."""
        points = np.asarray(points_optical, dtype=np.float64).reshape(-1, 3)
        distorted = self.distort(points[:, :2] / points[:, 2:3])
        return distorted * self.focal + self.k[:2, 2] + distorted[:, 1:2] * np.array([self.k[0, 1], 0.0])

    def normalise(self, pixels: np.ndarray) -> np.ndarray:
        """Pixels (N, 2) -> ideal (distortion undone) normalised coordinates (N, 2), i.e. ray directions
        ``(x, y, 1)`` in the optical frame."""
        pixels = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        fx, fy = self.focal
        y = (pixels[:, 1] - self.k[1, 2]) / fy
        x = (pixels[:, 0] - self.k[0, 2] - self.k[0, 1] * y) / fx
        distorted = np.column_stack([x, y])
        if not self.distortion.any():
            return distorted
        k1, k2, p1, p2, k3 = self.distortion
        ideal = distorted.copy()
        for _ in range(UNDISTORT_ITERATIONS):
            # distorted = ideal * radial + tangential  =>  ideal = (distorted - tangential) / radial
            xu, yu = ideal[:, 0], ideal[:, 1]
            r2 = xu * xu + yu * yu
            radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
            tx = 2.0 * p1 * xu * yu + p2 * (r2 + 2.0 * xu * xu)
            ty = p1 * (r2 + 2.0 * yu * yu) + 2.0 * p2 * xu * yu
            ideal = np.column_stack([(distorted[:, 0] - tx) / radial, (distorted[:, 1] - ty) / radial])
        return ideal


def rotation_from_rpy(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """URDF/REP 103 rotation ``Rz(yaw) @ Ry(pitch) @ Rx(roll)`` (radians)."""
    cr, sr, cp, sp, cy, sy = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])


def rpy_from_rotation(rotation: np.ndarray) -> tuple[float, float, float]:
    """Inverse of :func:`rotation_from_rpy` (pitch in [-pi/2, pi/2])."""
    r = np.asarray(rotation, dtype=np.float64)
    pitch = float(np.arcsin(np.clip(-r[2, 0], -1.0, 1.0)))
    roll = float(np.arctan2(r[2, 1], r[2, 2]))
    yaw = float(np.arctan2(r[1, 0], r[0, 0]))
    return roll, pitch, yaw


@dataclass(frozen=True)
class CameraPose:
    """Where the camera's optical frame sits in a ground frame (z up, ground at z = 0).

    Attributes
    ----------
    rotation : (3, 3) float64
        Optical-frame axes as columns in ground coordinates (``p_ground = rotation @ p_optical + position``).
    position : (3,) float64
        The optical centre in ground coordinates, metres.
    """

    rotation: np.ndarray
    position: np.ndarray

    @classmethod
    def from_body_rpy(cls, x: float, y: float, z: float, roll: float, pitch: float, yaw: float) -> "CameraPose":
        """Pose of a camera whose body frame (x fwd, y left, z up) is at ``(x, y, z)`` with URDF roll/pitch/yaw."""
        values = np.array([x, y, z, roll, pitch, yaw], dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"camera pose must be finite, got {values.tolist()}")
        return cls(rotation=rotation_from_rpy(roll, pitch, yaw) @ OPTICAL_IN_BODY, position=values[:3])

    def body_rpy(self) -> tuple[float, float, float]:
        """Roll, pitch, yaw of the camera's body frame (the inverse of :meth:`from_body_rpy`)."""
        return rpy_from_rotation(self.rotation @ OPTICAL_IN_BODY.T)

    def to_ground(self, points_optical: np.ndarray) -> np.ndarray:
        """(N, 3) optical-frame points -> ground frame."""
        return np.asarray(points_optical, dtype=np.float64) @ self.rotation.T + self.position

    def to_optical(self, points_ground: np.ndarray) -> np.ndarray:
        """(N, 3) ground-frame points -> optical frame."""
        return (np.asarray(points_ground, dtype=np.float64) - self.position) @ self.rotation


def ground_points(camera: CameraModel, pose: CameraPose, pixels: np.ndarray,
                  max_range: float = 200.0) -> tuple[np.ndarray, np.ndarray]:
    """Where the rays through ``pixels`` (lens distortion undone) meet the ground plane z = 0.

    Parameters
    ----------
    camera : CameraModel
    pose : CameraPose
        The camera in the ground frame; it must be above the ground.
    pixels : (N, 2) array
        Pixel coordinates, e.g. the bottom centres of boxes.
    max_range : float
        Intersections farther than this (metres, horizontally) count as invalid: rays at or above the
        horizon never meet the ground, and rays just below it meet it absurdly far away.

    Returns
    -------
    points : (N, 3) float64
        Ground-frame points (z = 0); NaN rows where invalid.
    valid : (N,) bool
    """
    rays = np.column_stack([camera.normalise(pixels), np.ones(len(pixels))]) @ pose.rotation.T
    height = pose.position[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = -height / rays[:, 2]
    points = pose.position + scale[:, None] * rays
    horizontal = np.hypot(points[:, 0] - pose.position[0], points[:, 1] - pose.position[1])
    valid = (height > 0) & (rays[:, 2] < 0) & np.isfinite(scale) & (horizontal <= max_range)
    points[~valid] = np.nan
    points[valid, 2] = 0.0
    return points, valid
