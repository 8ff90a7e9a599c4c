"""Tracks in metres: measure each reported track's position (depth or ground plane) and filter it.

Two ways to measure, chosen by :attr:`SpatialConfig.mode`:

- ``depth``: the box centre back-projected (lens distortion undone) at the object's robust depth
  (:func:`deepsort_ros.core.person_depth.box_depths`) plus ``surface_offset`` (the visible surface is in
  front of the body's centre). Output frame: the camera's optical frame.
- ``ground_plane``: the ray through the box's bottom centre meets z = 0 of a ground frame in which the
  camera pose is known (:func:`deepsort_ros.core.camera_geometry.ground_points`), unless that bottom centre
  is hidden behind a box in front (:func:`feet_hidden`). Output frame: that ground frame.

Each measurement's covariance follows from the pixel noise (``pixel_std``; ground plane: pushed through the
ray-plane intersection, so far people are uncertain along the viewing ray) and, in depth mode, from the
depth noise of the sensor (``depth_std_quadratic`` x depth^2, as for stereo and structured light). A
:class:`~deepsort_ros.core.metric_filter.MetricFilter` keyed by track id turns them into positions and
velocities; coasting tracks (no detection this frame) are predicted and flagged. Numpy only.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .camera_geometry import CameraModel, CameraPose, ground_points
from .metric_filter import MetricFilter, MetricStates
from .person_depth import box_depths
from .settings import check_known, check_settings, field_specs, setting
from .track import TrackState, Tracks

SPATIAL_MODES = ("off", "depth", "ground_plane")
# Base depth noise (metres) beside the quadratic term, so near objects are not trusted absolutely.
DEPTH_STD_BASE = 0.01


@dataclass
class SpatialConfig:
    """Settings of :class:`SpatialEstimator` (the ROS node's ``spatial.*`` parameters derive from them)."""

    mode: str = setting("off", "Metric track positions: off, depth (depth image + camera_info; output in the "
                         "camera's optical frame) or ground_plane (camera_info + the camera pose below; output in "
                         "spatial.ground_frame)", choices=SPATIAL_MODES)
    camera_x: float = setting(0.0, "ground_plane: camera body frame x in the ground frame, metres",
                               range=(-1e6, 1e6))
    camera_y: float = setting(0.0, "ground_plane: camera body frame y in the ground frame, metres",
                               range=(-1e6, 1e6))
    camera_z: float = setting(1.0, "ground_plane: camera height above the ground (z = 0), metres",
                               range=(-1e6, 1e6))
    camera_roll: float = setting(0.0, "ground_plane: camera body frame (x forward, y left, z up) roll in the "
                                  "ground frame, radians (URDF rpy: R = Rz(yaw) Ry(pitch) Rx(roll))",
                                  range=(-7.0, 7.0))
    camera_pitch: float = setting(0.0, "ground_plane: camera body frame pitch, radians (positive looks down)",
                                   range=(-7.0, 7.0))
    camera_yaw: float = setting(0.0, "ground_plane: camera body frame yaw, radians", range=(-7.0, 7.0))
    pixel_std: float = setting(5.0, "Noise of the box edges the position is measured from, pixels (metric "
                                "filter measurement noise)", range=(0.01, 1000.0))
    depth_std_quadratic: float = setting(0.004, "depth: depth noise per metre squared of depth (noise = this x "
                                          "depth^2 + 0.01 m)", range=(0.0, 10.0))
    surface_offset: float = setting(0.1, "depth: metres from the visible surface to the object's centre along "
                                     "the ray (half a person's thickness)", range=(0.0, 10.0))
    accel_std: float = setting(1.0, "Metric filter process noise: unmodelled acceleration, m/s^2",
                                range=(0.001, 100.0))
    max_coast_s: float = setting(2.0, "Seconds a track's metric state is predicted without a measurement "
                                  "before it is forgotten (position unknown until measured again)",
                                  range=(0.01, 1e4))
    max_range: float = setting(100.0, "ground_plane: farthest ground intersection accepted, metres "
                                "(rays near the horizon); depth: farthest depth accepted",
                                range=(0.1, 1e5))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "SpatialConfig":
        """Build and validate from a plain dict; unknown keys or bad values raise ValueError naming them."""
        check_known(cls, values, "spatial")
        config = cls(**values)
        check_settings(config, "spatial")
        return config

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def field_specs(cls) -> list[dict[str, Any]]:
        """``name, type, default, description, build_time`` and ``range`` or ``choices`` of every field."""
        return field_specs(cls)

    def camera_pose(self) -> CameraPose:
        """The ground_plane camera pose these settings give."""
        return CameraPose.from_body_rpy(self.camera_x, self.camera_y, self.camera_z, self.camera_roll,
                                        self.camera_pitch, self.camera_yaw)


@dataclass(frozen=True)
class SpatialFrame:
    """One frame's spatial inputs.

    Attributes
    ----------
    camera : CameraModel or None
        Intrinsics of the colour image (None: unknown this frame, no measurement).
    depth : (H, W) array or None
        Registered depth image (depth mode).
    depth_scale : float
        Metres per depth unit (0.001 for 16UC1 millimetres, 1 for 32FC1 metres).
    """

    camera: CameraModel | None
    depth: np.ndarray | None = None
    depth_scale: float = 1.0


@dataclass(frozen=True)
class SpatialTracks:
    """Metric state of the reported tracks plus what the outputs need besides the filter.

    Attributes
    ----------
    states : MetricStates
        Row i = the tracker's row i.
    sizes : (M, 3) float64
        Object extent (width, depth, height) in metres, NaN where unknown.
    coasting : (M,) bool
        The tracker reported the track without a detection this frame (predicted).
    mode : str
        ``depth`` (optical frame) or ``ground_plane`` (ground frame).
    """

    states: MetricStates
    sizes: np.ndarray
    coasting: np.ndarray
    mode: str


def feet_hidden(boxes_xyxy: np.ndarray) -> np.ndarray:
    """(N,) bool: the box's bottom centre lies inside a box reaching lower in the image, i.e. behind a
    person standing nearer on the same floor, so the bottom edge is where the occluder starts, not where
    the feet are (such a box measures no ground position; the filter predicts it)."""
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    feet_x, feet_y = (boxes[:, 0] + boxes[:, 2]) * 0.5, boxes[:, 3]
    inside = ((feet_x[:, None] >= boxes[None, :, 0]) & (feet_x[:, None] <= boxes[None, :, 2])
              & (feet_y[:, None] >= boxes[None, :, 1]) & (feet_y[:, None] < boxes[None, :, 3]))
    np.fill_diagonal(inside, False)
    return inside.any(axis=1)


class SpatialEstimator:
    """Measures and filters the metric state of the tracker's reported tracks.

    Parameters
    ----------
    config : SpatialConfig
        ``mode`` must not be ``off``.
    """

    def __init__(self, config: SpatialConfig):
        if config.mode not in SPATIAL_MODES[1:]:
            raise ValueError(f"spatial mode {config.mode!r}: a SpatialEstimator needs 'depth' or 'ground_plane'")
        self.config = config
        self.pose = config.camera_pose() if config.mode == "ground_plane" else None
        self.filter = MetricFilter(config.accel_std, config.max_coast_s)

    def reset(self) -> None:
        """Forget every track's metric state (new tracks start)."""
        self.filter.reset()

    def measure(self, boxes_xyxy: np.ndarray, frame: SpatialFrame) -> tuple[np.ndarray, np.ndarray]:
        """Positions (N, 3) and their covariances (N, 3, 3) measured from boxes; NaN rows where unknown.

        Raises
        ------
        ValueError
            When the frame lacks what the mode needs (camera, or depth in depth mode) or the depth image is
            not 2D.
        """
        boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        n = len(boxes)
        camera = frame.camera
        if camera is None:
            raise ValueError("no camera intrinsics for this frame")
        std = self.config.pixel_std
        if self.config.mode == "ground_plane":
            feet = np.column_stack([(boxes[:, 0] + boxes[:, 2]) * 0.5, boxes[:, 3]])
            # The measurement and its pixel Jacobian from three intersections (the point, one pixel right,
            # one pixel down).
            stacked, valid3 = ground_points(camera, self.pose, np.concatenate([feet, feet + [1.0, 0.0],
                                                                                feet + [0.0, 1.0]]),
                                            self.config.max_range)
            points, right, down = stacked[:n], stacked[n:2 * n], stacked[2 * n:]
            valid = valid3[:n] & valid3[n:2 * n] & valid3[2 * n:] & ~feet_hidden(boxes)
            jacobian = np.stack([right - points, down - points], axis=2)                # (N, 3, 2)
            covariances = std ** 2 * jacobian @ jacobian.transpose(0, 2, 1)
            covariances[:, 2, 2] = 1e-4   # on the ground by construction
            depth_along = self.pose.to_optical(np.where(valid[:, None], points, 0.0))[:, 2]
        else:
            if frame.depth is None:
                raise ValueError("no depth image for this frame")
            if frame.depth.ndim != 2:
                raise ValueError(f"depth image must be 2D, got shape {frame.depth.shape}")
            size = (camera.width, camera.height) if camera.width and camera.height else None
            if size == (frame.depth.shape[1], frame.depth.shape[0]):
                size = None
            depth_along = box_depths(frame.depth, boxes, frame.depth_scale, image_size=size)
            valid = np.isfinite(depth_along) & (depth_along <= self.config.max_range)
            centres = np.column_stack([(boxes[:, 0] + boxes[:, 2]) * 0.5, (boxes[:, 1] + boxes[:, 3]) * 0.5])
            rays = np.column_stack([camera.normalise(centres), np.ones(n)])
            unit = rays / np.linalg.norm(rays, axis=1, keepdims=True)
            surface = rays * np.where(valid, depth_along, np.nan)[:, None]
            points = surface + unit * self.config.surface_offset
            depth_std = self.config.depth_std_quadratic * depth_along ** 2 + DEPTH_STD_BASE
            lateral_std = std * depth_along / camera.focal.mean()
            # Lateral noise across the ray, depth noise along it.
            outer = unit[:, :, None] * unit[:, None, :]
            covariances = (lateral_std ** 2)[:, None, None] * (np.eye(3) - outer) \
                + (depth_std ** 2)[:, None, None] * outer
        points[~valid] = np.nan
        covariances[~valid] = np.nan
        return points, covariances

    def sizes(self, boxes_xyxy: np.ndarray, positions: np.ndarray, camera: CameraModel | None) -> np.ndarray:
        """Object extents (width, depth taken as half the width, height) in metres: the box's pixel size at
        the filtered position's distance from the camera; NaN where unknown."""
        boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
        if camera is None:
            return np.full((len(boxes), 3), np.nan)
        optical = positions if self.config.mode == "depth" else self.pose.to_optical(positions)
        metres_per_px = optical[:, 2] / camera.focal.mean()
        width = (boxes[:, 2] - boxes[:, 0]) * metres_per_px
        return np.column_stack([width, width * 0.5, (boxes[:, 3] - boxes[:, 1]) * metres_per_px])

    def update(self, tracks: Tracks, timestamp: float, frame: SpatialFrame | None) -> SpatialTracks:
        """Measure the reported tracks that were detected this frame and advance every track's filter.

        ``frame`` None (or one the mode cannot use) predicts every track without measurements; the problem
        is raised after the filter advanced, so the caller can log it and still publish predictions.

        Raises
        ------
        ValueError
            When ``frame`` is unusable (see :meth:`measure`); the filter has advanced.
        """
        n = len(tracks)
        coasting = np.asarray(tracks.states) == TrackState.COASTING
        problem = None
        points = np.full((n, 3), np.nan)
        covariances = np.full((n, 3, 3), np.nan)
        camera = frame.camera if frame is not None else None
        if frame is None:
            problem = ValueError("no spatial input for this frame")
        elif n:
            try:
                points, covariances = self.measure(tracks.boxes_xyxy, frame)
            except ValueError as error:
                problem = error
        states = self.filter.update(tracks.ids, timestamp, points, covariances, ~coasting)
        result = SpatialTracks(states=states, sizes=self.sizes(tracks.boxes_xyxy, states.positions, camera),
                               coasting=coasting, mode=self.config.mode)
        if problem is not None:
            raise SpatialInputError(str(problem), result)
        return result


class SpatialInputError(ValueError):
    """A frame's spatial input was unusable; ``result`` holds the predicted (unmeasured) tracks."""

    def __init__(self, message: str, result: SpatialTracks):
        super().__init__(message)
        self.result = result
