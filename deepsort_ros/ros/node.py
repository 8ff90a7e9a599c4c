"""The tracker node: images (and optionally another detector's detections) in, tracks out.

Topics (relative, so namespaces and remapping work):

- subscribes ``image`` (sensor_msgs/Image) or ``image/compressed`` (sensor_msgs/CompressedImage), and in
  tracker-only mode (``detector.backend: external``) ``detections`` (vision_msgs/Detection2DArray);
- publishes ``tracks`` (vision_msgs/Detection2DArray), ``tracks/image`` (sensor_msgs/Image, bgr8, drawn
  only while subscribed), ``label_info`` (vision_msgs/LabelInfo, transient local, once) and
  ``/diagnostics`` (diagnostic_msgs/DiagnosticArray, 1 Hz);
- with ``spatial.mode`` depth or ground_plane also subscribes ``camera_info`` (and ``depth``) and publishes
  ``tracks_3d``, ``tracks/points``, ``tracks/markers`` and ``target_pose`` (:mod:`deepsort_ros.ros.spatial_io`).

Callbacks only do cheap checks (stamp order, raw image layout, detection values) and drop the message
into a one-frame slot; a worker thread converts, runs the pipeline and publishes, so the node always
works on the newest frame and never queues stale ones. Bad input is logged (throttled per kind of
problem) and skipped. A stamp that jumps back by ``time_jump_reset_s`` or more (a bag replay starting
again) starts new tracks instead.

Per-frame costs beyond inference are kept low: detection arrays are read and ``tracks`` written as
serialised bytes (:mod:`deepsort_ros.ros.detection_wire`, where the middleware's wire format is the
standard one; rclpy's field-by-field message conversion costs about ten times more), and ``main`` keeps
frame-sized buffers in the heap (:mod:`deepsort_ros.ros.malloc_tuning`). ``python -m
deepsort_ros.ros.node_overhead`` measures them.
"""
from __future__ import annotations

import os
import re
import sys
import threading
import time
from typing import Any

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2DArray, LabelInfo, VisionClass

from deepsort_ros.annotate import Annotator
from deepsort_ros.image_codec import check_raw_image
from deepsort_ros.pipeline import Pipeline
from deepsort_ros.ros import parameters
from deepsort_ros.ros.conversions import (bgr_to_image, detection_array_to_numpy, image_to_bgr,
                                          serialized_detections_to_numpy, serialized_tracks, stamp_to_ns,
                                          tracks_to_detection_array, wire_format_matches_rmw)
from deepsort_ros.ros.diagnostics import ErrorThrottle, NodeStats, diagnostic_array, diagnostic_status
from deepsort_ros.ros.frame_slots import LatestSlot, StampPairer
from deepsort_ros.ros.labels import ClassLabels
from deepsort_ros.ros.malloc_tuning import keep_frame_buffers
from deepsort_ros.ros.pipeline_config import all_parameter_specs, pipeline_config, resolved_device
from deepsort_ros.ros.spatial_io import SpatialIO

NODE_NAME = "tracker_node"
ERROR_PERIOD_S = 5.0
DIAGNOSTICS_PERIOD_S = 1.0
# LabelInfo.class_map ids are uint16.
MAX_LABEL_CLASSES = 65536
# Tracker-only mode without appearance or camera motion: the pipeline wants an image but never reads it.
_NO_PIXELS = np.zeros((1, 1, 3), dtype=np.uint8)


class TrackerNode(Node):
    """DeepSORT tracking as a ROS 2 node (see the module docstring for topics).

    Raises
    ------
    parameters.ParameterError
        When a parameter is malformed or unknown.
    ValueError, FileNotFoundError
        When the pipeline cannot be built (bad backend settings, missing model weights).
    """

    def __init__(self, **node_kwargs: Any):
        super().__init__(NODE_NAME, **node_kwargs)
        try:
            self._set_up()
        except BaseException:
            # Release the rcl node while its context is alive: left to the garbage collector until after
            # rclpy shuts down, its handles are finalised in arbitrary order at exit, which can crash.
            self.destroy_node()
            raise

    # ------------------------------------------------------------------ setup
    def _set_up(self) -> None:
        # The node's own parameters come first: detector.backend and reid.backend pick the tracker.* defaults
        # (their presets).
        values = parameters.declare(self, parameters.node_specs())
        specs = all_parameter_specs(values["detector.backend"], values["reid.backend"])
        values.update(parameters.declare(self, [spec for spec in specs if spec.name not in values]))
        parameters.check_overrides_declared(self)
        self._specs = {spec.name: spec for spec in specs}
        self._values = values
        self._values_lock = threading.Lock()
        self._tracker_changed = False

        self.pipeline = Pipeline.from_config(pipeline_config(values))
        self.labels = ClassLabels(self.pipeline.class_names)
        self.annotator = Annotator(trail_length=values["annotation.trail_length"])
        self.device = resolved_device(self.pipeline)
        self.stats = NodeStats()
        self.errors = ErrorThrottle(self.get_logger().error, ERROR_PERIOD_S)
        self._slot = LatestSlot()
        self._last_stamp_ns: dict[str, int] = {}
        # Bumped when time jumps back (a replay restarted): frames of a new generation start new tracks.
        self._generation = 0
        self._worker_generation = 0
        self._stop = threading.Event()
        # Detection arrays in and out as bytes: rclpy's field-by-field message conversion costs about 1 ms
        # per 20-detection array each way.
        self._serialized = wire_format_matches_rmw()

        self._create_publishers()
        self._create_subscriptions(values)
        # Spatial hook 1: metric inputs and outputs (spatial.mode), see deepsort_ros.ros.spatial_io.
        self.spatial_io = SpatialIO(self, values, self._input_qos, self.errors.report)
        self.add_on_set_parameters_callback(self._check_parameter_change)
        self.add_post_set_parameters_callback(self._apply_parameter_change)
        self._diagnostics_timer = self.create_timer(DIAGNOSTICS_PERIOD_S, self._publish_diagnostics)
        self._publish_label_info()
        self.get_logger().info(
            f"tracking with detector {values['detector.backend']}, appearance {values['reid.backend']} on "
            f"{self.device}; input {self._input_description}")
        if not self._serialized:
            self.get_logger().info("this middleware's Detection2DArray wire format is not XCDR1 little endian: "
                                   "detections and tracks go through rclpy messages (slower)")
        # Last: nothing after it can fail, so a failed start never leaves a thread to stop.
        self._worker = threading.Thread(target=self._work, name="tracker_worker", daemon=True)
        self._worker.start()

    def _create_publishers(self) -> None:
        self.tracks_publisher = self.create_publisher(Detection2DArray, "tracks", 10)
        # Depth 1: a slow viewer gets the newest picture, not a backlog.
        self.image_publisher = self.create_publisher(Image, "tracks/image", 1)
        latched = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.label_info_publisher = self.create_publisher(LabelInfo, "label_info", latched)
        self.diagnostics_publisher = self.create_publisher(DiagnosticArray, "/diagnostics", 10)

    def _create_subscriptions(self, values: dict[str, Any]) -> None:
        reliability = (ReliabilityPolicy.RELIABLE if values["qos.reliability"] == "reliable"
                       else ReliabilityPolicy.BEST_EFFORT)
        qos = QoSProfile(depth=values["qos.depth"], history=HistoryPolicy.KEEP_LAST, reliability=reliability,
                         durability=DurabilityPolicy.VOLATILE)
        self._input_qos = qos
        external = values["detector.backend"] == "external"
        # Appearance features and camera motion need the pixels; plain IoU/Kalman tracking does not.
        needs_image = not external or values["reid.backend"] != "none" or values["motion_compensation"]
        self._pairer = StampPairer(values["sync.queue_size"]) if external and needs_image else None
        inputs = []
        if needs_image:
            if values["image_transport"] == "compressed":
                self.create_subscription(CompressedImage, "image/compressed", self._on_image, qos)
            else:
                self.create_subscription(Image, "image", self._on_image, qos)
            inputs.append(self.resolve_topic_name("image/compressed" if values["image_transport"] == "compressed"
                                                  else "image"))
        if external:
            self.create_subscription(Detection2DArray, "detections", self._on_detections, qos,
                                     raw=self._serialized)
            inputs.append(self.resolve_topic_name("detections") + (" (paired by stamp)" if needs_image else ""))
        self._input_description = " + ".join(inputs)

    def _publish_label_info(self) -> None:
        msg = LabelInfo(threshold=float(self._values["detector.confidence"]))
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.class_map = [VisionClass(class_id=index, class_name=name)
                         for index, name in enumerate(self.labels.names[:MAX_LABEL_CLASSES])]
        self.label_info_publisher.publish(msg)

    # ------------------------------------------------------------------ callbacks (never block)
    def _accept_stamp(self, kind: str, stamp) -> int | None:
        """The stamp in ns when it is newer than the previous ``kind`` message's, else log and None."""
        stamp_ns = stamp_to_ns(stamp)
        last = self._last_stamp_ns.get(kind)
        reset_s = self._values["time_jump_reset_s"]
        if last is not None and reset_s > 0 and (last - stamp_ns) * 1e-9 >= reset_s:
            self.get_logger().warning(f"{kind} time jumped back {(last - stamp_ns) * 1e-9:.2f} s (replay "
                                      f"restarted?): starting new tracks")
            self._last_stamp_ns.clear()
            self._generation += 1
        elif last is not None and stamp_ns <= last:
            what = "repeated" if stamp_ns == last else "out-of-order"
            self.errors.report(f"{kind} {what} stamp", f"skipping {kind} with {what} stamp {stamp.sec}.{stamp.nanosec:09d} "
                               f"(previous {last // 1_000_000_000}.{last % 1_000_000_000:09d})")
            self.stats.record_skipped()
            return None
        self._last_stamp_ns[kind] = stamp_ns
        return stamp_ns

    def _on_image(self, msg) -> None:
        # Raw images are checked here (a few comparisons) so garbage never displaces a good waiting frame;
        # compressed ones can only be checked by decoding, which is the worker's job.
        if isinstance(msg, Image):
            try:
                check_raw_image(msg)
            except ValueError as error:
                self._skip("image", msg.header, error)
                return
        stamp_ns = self._accept_stamp("image", msg.header.stamp)
        if stamp_ns is None:
            return
        if self._pairer is None:
            self._hand_over(msg, None, msg.header)
            return
        pair = self._pairer.add_image(stamp_ns, msg)
        if pair is not None:
            self._hand_over(*pair, msg.header)

    def _on_detections(self, msg: Detection2DArray | bytes) -> None:
        try:
            if isinstance(msg, bytes):  # the raw subscription's serialised array
                header, detections = serialized_detections_to_numpy(msg, self.labels.index_of)
            else:
                header, detections = msg.header, detection_array_to_numpy(msg, self.labels.index_of)
        except ValueError as error:
            self._skip("detections", None if isinstance(msg, bytes) else msg.header, error)
            return
        stamp_ns = self._accept_stamp("detections", header.stamp)
        if stamp_ns is None:
            return
        if self._pairer is None:
            self._hand_over(None, detections, header)
            return
        unpaired_before = self._pairer.unpaired_detections
        pair = self._pairer.add_detections(stamp_ns, detections)
        self.stats.record_dropped(self._pairer.unpaired_detections - unpaired_before)
        if pair is not None:
            image, _ = pair
            self._hand_over(image, detections, image.header)

    def _hand_over(self, image, detections, header) -> None:
        self.stats.record_received()
        if self._slot.put((image, detections, header, self._generation, time.perf_counter())):
            self.stats.record_dropped()

    # ------------------------------------------------------------------ parameters
    def _check_parameter_change(self, changed: list) -> SetParametersResult:
        with self._values_lock:
            reason = parameters.check_change(self._specs, self._values, {p.name: p.value for p in changed})
        if reason:
            self.get_logger().warning(f"rejected parameter change: {reason}")
        return SetParametersResult(successful=reason is None, reason=reason or "")

    def _apply_parameter_change(self, changed: list) -> None:
        with self._values_lock:
            for parameter in changed:
                self._values[parameter.name] = parameter.value
                self._tracker_changed |= parameter.name.startswith("tracker.")
            self.annotator.trail_length = self._values["annotation.trail_length"]
        self.get_logger().info("parameters changed: " + ", ".join(f"{p.name}={p.value!r}" for p in changed))

    def _current_values(self) -> dict[str, Any]:
        """A consistent copy of the parameters for one frame, applying tracker changes first."""
        with self._values_lock:
            values = dict(self._values)
            if self._tracker_changed:
                self._tracker_changed = False
                self.pipeline.tracker.config = parameters.tracker_config(values)
        return values

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while not self._stop.is_set():
            item = self._slot.take(timeout=0.1)
            if item is None:
                continue
            try:
                self._process(*item)
            except Exception as error:  # the node must outlive any frame: a failing frame is logged and skipped
                if self._stop.is_set() or not self.context.ok():
                    return  # shutting down: the publishers are already gone
                self._skip("pipeline", item[2], error)

    def _process(self, image_msg, detections, header, generation: int, received: float) -> None:
        values = self._current_values()
        if generation != self._worker_generation:
            self._worker_generation = generation
            self.pipeline.reset()
            self.annotator.reset()
        start = time.perf_counter()
        try:
            bgr = None if image_msg is None else image_to_bgr(image_msg)
        except ValueError as error:
            self._skip("image", header, error)
            return
        # Spatial hook 2: the depth image and camera_info paired with this frame (None when spatial is off).
        spatial_frame = self.spatial_io.frame_for(header, None if bgr is None else bgr.shape[1::-1])
        converted = time.perf_counter()
        result = self.pipeline.process(_NO_PIXELS if bgr is None else bgr, stamp_to_ns(header.stamp) * 1e-9,
                                       detections=detections, spatial=spatial_frame)
        tracks = result.tracks
        names = self.labels.labels(tracks.classes)
        class_ids = self.labels.labels(tracks.classes, as_index=True) if values["class_id_format"] == "index" else names
        build = serialized_tracks if self._serialized else tracks_to_detection_array
        self.tracks_publisher.publish(build(header, tracks.ids, tracks.boxes_xyxy, tracks.scores, class_ids))
        # Spatial hook 3: tracks_3d, tracks/points, tracks/markers and target_pose after tracks.
        self.spatial_io.publish(header, result, class_ids, names, values)
        published = time.perf_counter()
        annotated = (values["publish_annotated"] and bgr is not None
                     and self.image_publisher.get_subscription_count() > 0)
        if annotated:
            drawn = self.annotator.draw(bgr, tracks.ids, tracks.boxes_xyxy, names)
            self.image_publisher.publish(bgr_to_image(drawn, header))
        else:
            self.annotator.update_trails(tracks.ids, tracks.boxes_xyxy)
        done = time.perf_counter()
        stage_ms = {"convert": (converted - start) * 1e3, **result.timings_ms,
                    "publish": max((published - converted) * 1e3 - sum(result.timings_ms.values()), 0.0),
                    "annotate": (done - published) * 1e3}
        self.stats.record_processed(stage_ms, (done - received) * 1e3, len(tracks), annotated)

    def _skip(self, kind: str, header, error: Exception) -> None:
        """Log (throttled) and count a skipped message; ``header`` is None when it could not be read."""
        reason = _one_line(error)
        if kind == "pipeline":
            reason = f"{type(error).__name__}: {reason}"
        # Throttled per kind of problem (the reason without its numbers and quoted values), so a flood of
        # one problem does not hide the first report of another.
        problem = re.sub(r"'[^']*'|\"[^\"]*\"|\d+(\.\d*)?(e[-+]?\d+)?", "#", reason)
        where = "" if header is None else f" at stamp {header.stamp.sec}.{header.stamp.nanosec:09d}"
        self.errors.report(f"{kind}: {problem}", f"skipping {kind}{where}: {reason}")
        self.stats.record_skipped()

    def _publish_diagnostics(self) -> None:
        with self._values_lock:
            warn_drop_ratio = self._values["diagnostics.warn_drop_ratio"]
        status = diagnostic_status(self.stats.take_window(), f"{self.get_fully_qualified_name()}: tracking",
                                   self.get_fully_qualified_name(), self.device, warn_drop_ratio)
        self.diagnostics_publisher.publish(diagnostic_array(status, self.get_clock().now().to_msg()))

    def stop(self) -> None:
        """Stop the worker (waits up to a second for the frame in progress)."""
        self._stop.set()
        self._slot.close()
        self._worker.join(timeout=1.0)


def missing_params_files(argv: list[str]) -> list[str]:
    """The ``--params-file`` arguments in ``argv`` that are not readable files."""
    return [path for flag, path in zip(argv, argv[1:]) if flag == "--params-file" and not os.path.isfile(path)]


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def main(args: list[str] | None = None) -> int:
    """Entry point of ``tracker_node``: 0 on a clean stop (Ctrl-C), 1 when it cannot start."""
    logger = rclpy.logging.get_logger(NODE_NAME)
    missing = missing_params_files(sys.argv if args is None else args)
    if missing:
        # Checked here because rcl would log its own parser error before ours.
        print(f"{NODE_NAME}: cannot start: parameter file {missing[0]} not found", file=sys.stderr)
        return 1
    keep_frame_buffers()
    try:
        rclpy.init(args=args)
    except Exception as error:  # rcl rejects bad --ros-args (e.g. an unreadable parameter file)
        print(f"{NODE_NAME}: cannot start: {_one_line(error)}", file=sys.stderr)
        return 1
    try:
        node = TrackerNode()
    except KeyboardInterrupt:
        rclpy.try_shutdown()
        return 0
    except (ValueError, OSError, ImportError, RuntimeError) as error:
        # One line, no traceback: these are configuration problems (parameters, missing weights).
        logger.fatal(f"cannot start: {_one_line(error)}")
        rclpy.try_shutdown()
        return 1
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.stop()
        executor.shutdown(timeout_sec=0.5)
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
