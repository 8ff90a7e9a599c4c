"""The tracker node's spatial inputs and outputs (``spatial.mode`` depth or ground_plane).

Subscribes ``camera_info`` (both modes) and ``depth`` (depth mode: sensor_msgs/Image 16UC1 millimetres or
32FC1 metres, registered to the colour image, any resolution with the same aspect ratio) and pairs them with
each processed frame by stamp: the depth image with the nearest stamp within ``spatial.depth_slop_s``, the
camera_info nearest in time within ``spatial.camera_info_timeout_s``. Camera drivers publish colour and
depth at about the same moment, so the worker waits up to ``INPUT_WAIT_S`` for a partner that has not
arrived yet (only while that topic is publishing: a stream that stopped, or never started, costs no wait).

Publishes, with the image's header stamp: ``tracks_3d`` (vision_msgs/Detection3DArray), ``tracks/points``
(sensor_msgs/PointCloud2: x, y, z, vx, vy, vz, id), ``tracks/markers`` (visualization_msgs/MarkerArray) and
``target_pose`` (geometry_msgs/PoseStamped), in the camera's optical frame (depth mode,
``camera_info.header.frame_id``) or in ``spatial.ground_frame`` (ground_plane mode). See
:mod:`deepsort_ros.ros.spatial_messages`.

Bad input never stops the 2D tracks. A malformed message (depth: unsupported encoding, size, step or data
length that do not fit; camera_info: no image size, a camera matrix with non-finite entries or focal
lengths that are not positive, unusable distortion) is rejected on arrival, like a malformed colour image:
logged (throttled), counted as rejected on ``/diagnostics``, and never queued, so it cannot displace or
shadow the good messages that frames pair with. Problems of one frame (no or stale camera_info, camera_info
for another image size, a depth image not registered to the camera, depth without valid pixels, boxes above
the horizon) are reported through the node's throttled error log; that frame's tracks are predicted without
a measurement (or, without camera_info, get no metric output).
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable

import numpy as np
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header
from vision_msgs.msg import Detection3DArray
from visualization_msgs.msg import MarkerArray

from deepsort_ros.core.spatial_estimator import SpatialFrame
from deepsort_ros.image_codec import depth_image_to_array
from deepsort_ros.ros.conversions import stamp_to_ns
from deepsort_ros.ros.diagnostics import problem_kind
from deepsort_ros.ros.spatial_messages import (MarkerBuilder, camera_model, detection3d_array,
                                               target_pose, target_row, track_points)

# Seconds the worker waits for a depth image or camera_info with the frame's stamp.
INPUT_WAIT_S = 0.1
# A topic counts as publishing when its last message came less than this long ago (wall time).
STREAM_ALIVE_S = 1.0
# Depth images and camera_infos kept for pairing (about a second of a 30 Hz camera).
QUEUE_LENGTH = 30
# Depth and colour images of one registered camera share their aspect ratio within this fraction.
ASPECT_TOLERANCE = 0.02
# A depth image is checked for any valid pixel on this grid stride (cheap; a real image has many).
DEPTH_CHECK_STRIDE = 8


class SpatialIO:
    """Spatial subscriptions, stamp pairing and publishers of one tracker node.

    Follows the node's life cycle: the publishers are lifecycle publishers made here (configure), so they
    publish only while the node is active; :meth:`subscribe` and :meth:`unsubscribe` go with activate and
    deactivate, :meth:`release` with cleanup.

    Parameters
    ----------
    node : rclpy LifecycleNode
        Creates the subscriptions and publishers (nothing when ``spatial.mode`` is off).
    values : dict
        The node's parameter values.
    qos : QoSProfile
        Of the depth and camera_info subscriptions (the image subscription's).
    report : callable
        ``report(kind, text)``: the node's throttled error log.
    reject : callable
        ``reject(kind, header, error)``: the node's log and count of a malformed input message.
    """

    def __init__(self, node, values: dict[str, Any], qos, report: Callable[[str, str], None],
                 reject: Callable[[str, Any, Exception], None]):
        self.mode = values["spatial.mode"]
        self.enabled = self.mode != "off"
        self._log = report
        self._reject = reject
        self._node = node
        self._qos = qos
        self._subscriptions: list = []
        self._publishers: list = []
        if not self.enabled:
            return
        self._ground_frame = values["spatial.ground_frame"]
        self._slop_ns = int(values["spatial.depth_slop_s"] * 1e9)
        self._info_timeout_ns = int(values["spatial.camera_info_timeout_s"] * 1e9)
        self._camera_position = np.array([values["spatial.camera_x"], values["spatial.camera_y"],
                                          values["spatial.camera_z"]])
        self._condition = threading.Condition()
        # (stamp ns, (CameraModel, frame_id)) and (stamp ns, (depth array, metres per unit)) of good messages.
        self._infos: deque = deque(maxlen=QUEUE_LENGTH)
        self._depths: deque = deque(maxlen=QUEUE_LENGTH)
        # Wall time of the last message per queue, to wait only for a stream that is publishing.
        self._arrived = {"camera_info": -float("inf"), "depth": -float("inf")}
        self._frame_id = ""
        self._markers = MarkerBuilder()
        self.tracks_3d_publisher = node.create_lifecycle_publisher(Detection3DArray, "tracks_3d", 10)
        self.points_publisher = node.create_lifecycle_publisher(PointCloud2, "tracks/points", 10)
        self.markers_publisher = node.create_lifecycle_publisher(MarkerArray, "tracks/markers", 10)
        self.target_publisher = node.create_lifecycle_publisher(PoseStamped, "target_pose", 10)
        self._publishers = [self.tracks_3d_publisher, self.points_publisher, self.markers_publisher,
                            self.target_publisher]

    # ------------------------------------------------------------------ life cycle
    def subscribe(self) -> None:
        """Subscribe camera_info (and depth in depth mode): the node activates."""
        if not self.enabled or self._subscriptions:
            return
        self._subscriptions.append(self._node.create_subscription(CameraInfo, "camera_info", self._on_camera_info,
                                                                  self._qos))
        if self.mode == "depth":
            self._subscriptions.append(self._node.create_subscription(Image, "depth", self._on_depth, self._qos))

    def unsubscribe(self) -> None:
        """Drop the subscriptions and the queued inputs (the node deactivates): after activation frames pair
        only with inputs received since."""
        while self._subscriptions:
            self._node.destroy_subscription(self._subscriptions.pop())
        if not self.enabled:
            return
        with self._condition:
            self._infos.clear()
            self._depths.clear()
            self._arrived = dict.fromkeys(self._arrived, -float("inf"))

    def release(self) -> None:
        """Destroy the subscriptions and publishers (cleanup, shutdown)."""
        self.unsubscribe()
        while self._publishers:
            self._node.destroy_lifecycle_publisher(self._publishers.pop())

    def clear_markers(self, stamp) -> None:
        """Delete every marker shown (the node deactivates: RViz must not keep showing people it no longer
        tracks); the next frame shows the tracks again. Call while the publishers are still active."""
        if not self.enabled:
            return
        frame_id = self._ground_frame if self.mode == "ground_plane" else self._frame_id
        markers = self._markers.clear(Header(stamp=stamp, frame_id=frame_id))
        if markers is not None:
            self.markers_publisher.publish(markers)

    def _report(self, text: str) -> None:
        """Throttled per kind of problem: the text without its numbers and quoted values."""
        self._log("spatial: " + problem_kind(text.split(": ", 1)[-1]), text)

    # ------------------------------------------------------------------ callbacks
    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            camera = camera_model(msg)
        except ValueError as error:
            self._reject("camera_info", msg.header, error)
            return
        with self._condition:
            self._infos.append((stamp_to_ns(msg.header.stamp), (camera, msg.header.frame_id)))
            self._arrived["camera_info"] = time.monotonic()
            self._condition.notify_all()

    def _on_depth(self, msg: Image) -> None:
        try:
            depth = depth_image_to_array(msg)  # a view of the message's data unless its rows are padded
        except ValueError as error:
            self._reject("depth", msg.header, error)
            return
        with self._condition:
            self._depths.append((stamp_to_ns(msg.header.stamp), depth))
            self._arrived["depth"] = time.monotonic()
            self._condition.notify_all()

    # ------------------------------------------------------------------ worker side
    @staticmethod
    def _nearest(queue: deque, stamp_ns: int, limit_ns: int):
        best = min(queue, key=lambda item: abs(item[0] - stamp_ns), default=None)
        if best is None or abs(best[0] - stamp_ns) > limit_ns:
            return None
        return best[1]

    def _paired(self, stamp_ns: int) -> tuple[Any, Any]:
        """(camera_info, depth) for ``stamp_ns``, waiting up to INPUT_WAIT_S for ones not here yet."""
        deadline = time.monotonic() + INPUT_WAIT_S
        with self._condition:
            while True:
                info = self._nearest(self._infos, stamp_ns, self._info_timeout_ns)
                depth = self._nearest(self._depths, stamp_ns, self._slop_ns) if self.mode == "depth" else None
                now = time.monotonic()
                missing_info = info is None and now - self._arrived["camera_info"] < STREAM_ALIVE_S
                missing_depth = (self.mode == "depth" and depth is None
                                 and now - self._arrived["depth"] < STREAM_ALIVE_S)
                remaining = deadline - now
                if not (missing_info or missing_depth) or remaining <= 0:
                    return info, depth
                self._condition.wait(remaining)

    def frame_for(self, header, image_size: tuple[int, int] | None = None) -> SpatialFrame | None:
        """This frame's spatial inputs, or None (reported) when they are missing or unusable.

        ``image_size`` (width, height) of the colour image, when the node has one: camera_info must describe
        that size."""
        if not self.enabled:
            return None
        stamp_ns = stamp_to_ns(header.stamp)
        info, depth = self._paired(stamp_ns)
        where = f"at stamp {header.stamp.sec}.{header.stamp.nanosec:09d}"
        if info is None:
            what = ("no camera_info received yet" if not self._infos else
                    f"camera_info is stale (none within {self._info_timeout_ns * 1e-9:g} s)")
            self._report(f"no metric positions {where}: {what}")
            return None
        camera, frame_id = info
        if image_size is not None and tuple(image_size) != (camera.width, camera.height):
            self._report(f"no metric positions {where}: camera_info is for {camera.width}x{camera.height} images, "
                         f"the image is {image_size[0]}x{image_size[1]}")
            return None
        self._frame_id = frame_id
        if self.mode == "ground_plane":
            return SpatialFrame(camera=camera)
        if depth is None:
            what = ("no depth image received yet" if not self._depths else
                    f"no depth image within {self._slop_ns * 1e-9:g} s of the image")
            self._report(f"predicting metric positions {where}: {what}")
            return SpatialFrame(camera=camera)
        depth_array, scale = depth
        aspect = (depth_array.shape[1] / depth_array.shape[0]) / (camera.width / camera.height)
        if abs(aspect - 1.0) > ASPECT_TOLERANCE:
            self._report(f"predicting metric positions {where}: depth image {depth_array.shape[1]}x"
                         f"{depth_array.shape[0]} is not registered to the {camera.width}x{camera.height} "
                         f"camera_info (aspect ratios differ)")
            return SpatialFrame(camera=camera)
        coarse = depth_array[::DEPTH_CHECK_STRIDE, ::DEPTH_CHECK_STRIDE]
        if not (np.isfinite(coarse) & (coarse > 0)).any():
            self._report(f"predicting metric positions {where}: the depth image has no valid pixels (all zero or NaN)")
        return SpatialFrame(camera=camera, depth=depth_array, depth_scale=scale)

    def publish(self, header, result, class_ids: list[str], class_names: list[str], values: dict[str, Any]) -> None:
        """Publish the frame's metric tracks (nothing when spatial is off or the frame had no camera)."""
        spatial = result.spatial
        if not self.enabled or spatial is None or not self._frame_id and self.mode == "depth":
            return
        states = spatial.states
        unmeasured = int(np.count_nonzero(~states.measured & ~spatial.coasting))
        if unmeasured and result.spatial_error is None:
            why = ("box bottom at or above the horizon (or beyond spatial.max_range)" if self.mode == "ground_plane"
                   else "no valid depth on the person (holes, out of range)")
            self._report(f"{unmeasured} track(s) without a metric measurement: {why}")
        out = Header(stamp=header.stamp, frame_id=self._ground_frame if self.mode == "ground_plane" else self._frame_id)
        self.tracks_3d_publisher.publish(detection3d_array(out, spatial, class_ids, result.tracks.scores))
        self.points_publisher.publish(track_points(out, spatial))
        self.markers_publisher.publish(self._markers.build(out, spatial, class_names))
        row = target_row(spatial, values["spatial.target.mode"], values["spatial.target.id"], self._camera_position)
        if row is not None:
            self.target_publisher.publish(target_pose(out, spatial, row))
