"""Metric tracks <-> standard ROS messages: CameraInfo in (depth images are decoded by
:func:`deepsort_ros.image_codec.depth_image_to_array`); Detection3DArray, PointCloud2, MarkerArray and a
PoseStamped target out.

Why ``tracks/points`` is a PointCloud2 with fields ``x, y, z, vx, vy, vz, id``: velocities need a message every
program can read without this package's own types. A PointCloud2 carries any named fields, every ROS
language reads it (``sensor_msgs_py.point_cloud2``, PCL), and Nav2's costmap obstacle and voxel layers take it
as an observation source as is (they read x, y, z and ignore the other fields), so people become obstacles
without extra code. ``x, y, z, vx, vy, vz`` are float32 (metres, m/s, in the header's frame) and ``id`` is the
track id as uint32 (ids on ``tracks`` are decimal strings of the same number).

Every reader checks its message and raises ``ValueError`` naming what is wrong.
"""
from __future__ import annotations

import array
import math

import numpy as np
from geometry_msgs.msg import Point, Pose, PoseStamped, Quaternion, Vector3
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import ColorRGBA
from vision_msgs.msg import BoundingBox3D, Detection3D, Detection3DArray, ObjectHypothesis, ObjectHypothesisWithPose
from visualization_msgs.msg import Marker, MarkerArray

from deepsort_ros.annotate import track_colour
from deepsort_ros.core.camera_geometry import CameraModel
from deepsort_ros.core.spatial_estimator import SpatialTracks

# Distortion models whose first five coefficients are plumb_bob's (rational_polynomial adds k4-k6 in the
# denominator: usable only when those are zero).
PLUMB_BOB_MODELS = ("plumb_bob", "rational_polynomial", "")
MARKER_NAMESPACES = ("body", "label", "velocity")
POINT_FIELDS = ("x", "y", "z", "vx", "vy", "vz")
# Marker ids are int32; track ids grow without bound.
_MARKER_ID_MODULO = 2**31 - 1
# A quaternion turning a marker's z axis onto the optical frame's "up" (-y): +90 degrees about x.
_OPTICAL_UP = Quaternion(x=math.sqrt(0.5), y=0.0, z=0.0, w=math.sqrt(0.5))
_IDENTITY = Quaternion(x=0.0, y=0.0, z=0.0, w=1.0)


def camera_model(msg) -> CameraModel:
    """The CameraModel of a sensor_msgs/CameraInfo.

    Raises
    ------
    ValueError
        For a zero or non-finite focal length, an unknown image size, or a distortion model other than
        plumb_bob (rational_polynomial only with k4-k6 zero).
    """
    if msg.width <= 0 or msg.height <= 0:
        raise ValueError(f"camera_info has no image size ({msg.width}x{msg.height})")
    d = np.asarray(msg.d, dtype=np.float64)
    if msg.distortion_model not in PLUMB_BOB_MODELS and d.any():
        raise ValueError(f"camera_info distortion model {msg.distortion_model!r} is not supported (plumb_bob)")
    if len(d) > 5 and d[5:].any():
        raise ValueError("camera_info rational_polynomial coefficients k4-k6 are not supported (plumb_bob)")
    try:
        return CameraModel.create(np.asarray(msg.k, dtype=np.float64), d[:5], msg.width, msg.height)
    except ValueError as error:
        raise ValueError(f"camera_info: {error}") from None


def _point(values) -> Point:
    return Point(x=float(values[0]), y=float(values[1]), z=float(values[2]))


def _covariance6(position_covariance: np.ndarray) -> np.ndarray:
    """A 6x6 pose covariance (row-major): the position block, and a huge rotation variance because no
    orientation is estimated."""
    covariance = np.zeros((6, 6))
    covariance[:3, :3] = position_covariance
    covariance[3:, 3:] = np.eye(3) * 1e6
    return covariance.ravel()


def detection3d_array(header, spatial: SpatialTracks, class_ids: list[str], scores: np.ndarray) -> Detection3DArray:
    """One Detection3D per track with a known position: ``id`` = the track id on ``tracks``, ``bbox.center``
    = position, ``bbox.size`` = extent (x, y, z of the frame; NaN-free), ``results[0]`` = class and score
    with the position and its covariance in ``results[0].pose``."""
    states = spatial.states
    sizes = _frame_sizes(spatial)
    msg = Detection3DArray(header=header)
    for row in np.flatnonzero(states.known).tolist():
        pose = Pose(position=_point(states.positions[row]), orientation=_IDENTITY)
        result = ObjectHypothesisWithPose(hypothesis=ObjectHypothesis(class_id=class_ids[row],
                                                                      score=float(scores[row])))
        result.pose.pose = pose
        result.pose.covariance = _covariance6(states.position_covariances[row])
        size = Vector3(x=float(sizes[row, 0]), y=float(sizes[row, 1]), z=float(sizes[row, 2]))
        msg.detections.append(Detection3D(header=header, results=[result], id=str(int(states.ids[row])),
                                          bbox=BoundingBox3D(center=pose, size=size)))
    return msg


def _frame_sizes(spatial: SpatialTracks) -> np.ndarray:
    """Extents along the output frame's axes (optical: x width, y height, z depth; ground: x, y width/depth,
    z height); unknown sizes are 0."""
    width, depth, height = np.nan_to_num(spatial.sizes, nan=0.0).T
    if spatial.mode == "depth":
        return np.column_stack([width, height, depth])
    return np.column_stack([width, width, height])


def track_points(header, spatial: SpatialTracks) -> PointCloud2:
    """One point per track with a known position: x, y, z, vx, vy, vz (float32) and id (uint32)."""
    states = spatial.states
    known = np.flatnonzero(states.known)
    record = np.dtype([(name, "<f4") for name in POINT_FIELDS] + [("id", "<u4")])
    points = np.zeros(len(known), dtype=record)
    for axis, name in enumerate(("x", "y", "z")):
        points[name] = states.positions[known, axis]
        points["v" + name] = states.velocities[known, axis]
    points["id"] = states.ids[known] % 2**32
    fields = [PointField(name=name, offset=record.fields[name][1], datatype=PointField.FLOAT32, count=1)
              for name in POINT_FIELDS]
    fields.append(PointField(name="id", offset=record.fields["id"][1], datatype=PointField.UINT32, count=1))
    return PointCloud2(header=header, height=1, width=len(known), fields=fields, is_bigendian=False,
                       point_step=record.itemsize, row_step=record.itemsize * len(known), is_dense=True,
                       data=array.array("B", points.tobytes()))


def _colour(track_id: int, alpha: float) -> ColorRGBA:
    """The track's colour on tracks/image, so RViz and the image agree."""
    b, g, r = track_colour(track_id)
    return ColorRGBA(r=r / 255.0, g=g / 255.0, b=b / 255.0, a=alpha)


class MarkerBuilder:
    """Body, label and velocity-arrow markers per track, and DELETE markers for tracks that ended, so RViz
    never shows ghosts."""

    def __init__(self):
        self._shown: set[int] = set()

    def build(self, header, spatial: SpatialTracks, class_names: list[str]) -> MarkerArray:
        """The markers of one frame: ADD for every track with a known position, DELETE for those shown
        before and gone now (ended, or position no longer known)."""
        states = spatial.states
        optical = spatial.mode == "depth"
        msg = MarkerArray()
        sizes = np.nan_to_num(spatial.sizes, nan=0.0)
        shown = set()
        for row in np.flatnonzero(states.known).tolist():
            track_id = int(states.ids[row])
            marker_id = track_id % _MARKER_ID_MODULO
            shown.add(marker_id)
            position = states.positions[row]
            velocity = states.velocities[row]
            width, _, height = sizes[row]
            width, height = max(width, 0.2), max(height, 0.5)
            up = np.array([0.0, -1.0, 0.0]) if optical else np.array([0.0, 0.0, 1.0])
            # Depth mode measures the body's centre; ground mode its feet.
            centre = position if optical else position + up * height / 2
            alpha = 0.4 if spatial.coasting[row] else 0.8
            body = Marker(header=header, ns="body", id=marker_id, type=Marker.CYLINDER, action=Marker.ADD,
                          color=_colour(track_id, alpha))
            body.pose.position = _point(centre)
            body.pose.orientation = _OPTICAL_UP if optical else _IDENTITY
            body.scale = Vector3(x=float(width), y=float(width), z=float(height))
            speed = float(np.linalg.norm(velocity))
            label = Marker(header=header, ns="label", id=marker_id, type=Marker.TEXT_VIEW_FACING,
                           action=Marker.ADD, color=ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0),
                           text=f"{track_id} {class_names[row]} {speed:.1f} m/s")
            label.pose.position = _point(centre + up * (height / 2 + 0.2))
            label.pose.orientation = _IDENTITY
            label.scale.z = 0.25
            arrow = Marker(header=header, ns="velocity", id=marker_id, type=Marker.ARROW, action=Marker.ADD,
                           color=_colour(track_id, 1.0), points=[_point(centre), _point(centre + velocity)])
            arrow.pose.orientation = _IDENTITY
            arrow.scale = Vector3(x=0.05, y=0.1, z=0.1)
            msg.markers += [body, label, arrow]
        for marker_id in sorted(self._shown - shown):
            msg.markers += [Marker(header=header, ns=ns, id=marker_id, action=Marker.DELETE)
                            for ns in MARKER_NAMESPACES]
        self._shown = shown
        return msg

    def clear(self, header) -> MarkerArray | None:
        """DELETEALL for every namespace when markers are shown (None when none are), and forget them."""
        if not self._shown:
            return None
        self._shown = set()
        return MarkerArray(markers=[Marker(header=header, ns=ns, action=Marker.DELETEALL)
                                    for ns in MARKER_NAMESPACES])


def target_row(spatial: SpatialTracks, mode: str, target_id: int, camera_position: np.ndarray | None) -> int | None:
    """Row of the track to follow: ``nearest`` (horizontally nearest the camera in ground mode, nearest the
    camera in depth mode), ``id`` (that track id while it is known), ``none``; None when there is none."""
    states = spatial.states
    known = np.flatnonzero(states.known)
    if mode == "none" or not len(known):
        return None
    if mode == "id":
        rows = known[states.ids[known] == target_id]
        return int(rows[0]) if len(rows) else None
    if spatial.mode == "depth":
        distance = np.linalg.norm(states.positions[known], axis=1)
    else:
        distance = np.linalg.norm(states.positions[known, :2] - camera_position[:2], axis=1)
    return int(known[np.argmin(distance)])


def target_pose(header, spatial: SpatialTracks, row: int) -> PoseStamped:
    """The pose of track ``row``; in ground mode it faces the direction of walking (yaw of the velocity)."""
    msg = PoseStamped(header=header)
    msg.pose.position = _point(spatial.states.positions[row])
    vx, vy = spatial.states.velocities[row, :2]
    if spatial.mode == "ground_plane" and math.hypot(vx, vy) > 0.1:
        yaw = math.atan2(vy, vx)
        msg.pose.orientation = Quaternion(x=0.0, y=0.0, z=math.sin(yaw / 2), w=math.cos(yaw / 2))
    else:
        msg.pose.orientation = _IDENTITY
    return msg
