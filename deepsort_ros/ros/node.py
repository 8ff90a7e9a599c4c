"""The tracker node: images (and optionally another detector's detections) in, tracks out.

A managed (lifecycle) node: ``configure`` declares and checks the parameters and loads the models,
``activate`` subscribes and starts publishing, ``deactivate`` stops both but keeps the models, ``cleanup``
frees them and ``shutdown`` ends the process. With ``autostart`` (the default) it configures and activates
itself at start, so ``ros2 run`` and the launch files need no lifecycle manager.

Topics (relative, so namespaces and remapping work):

- subscribes ``image`` (sensor_msgs/Image) or ``image/compressed`` (sensor_msgs/CompressedImage), and in
  tracker-only mode (``detector.backend: external``) ``detections`` (vision_msgs/Detection2DArray);
- publishes ``tracks`` (vision_msgs/Detection2DArray; a track coasting on its prediction, with no
  detection this frame, has score 0), ``tracks/image`` (sensor_msgs/Image, bgr8, drawn only while
  subscribed), ``label_info`` (vision_msgs/LabelInfo, transient local, again whenever the class map grows)
  and ``/diagnostics`` (diagnostic_msgs/DiagnosticArray, 1 Hz);
- with ``spatial.mode`` depth or ground_plane also subscribes ``camera_info`` (and ``depth``) and publishes
  ``tracks_3d``, ``tracks/points``, ``tracks/markers`` and ``target_pose`` (:mod:`deepsort_ros.ros.spatial_io`);
- serves ``~/reset`` (std_srvs/Trigger): forget every track (and its metric state), the background model
  and the camera motion estimate (ids continue).

Callbacks only do cheap checks (stamp order, raw image and depth layout, detection values, camera_info
intrinsics) and drop the message into a one-frame slot (spatial inputs: a short queue for stamp pairing); a
worker thread converts, runs the pipeline and publishes, so the node always works on the newest frame and
never queues stale ones. Bad input is logged (throttled per kind of
problem) and counted; a bad row of a detection array costs that row only. A stamp that jumps back by
``time_jump_reset_s`` or more (a bag replay starting again) starts new tracks instead; a stamp of 0 (a
camera that leaves stamps unset) is replaced by the receive time.

Per-frame costs beyond inference are kept low: detection arrays are read and ``tracks`` written as
serialised bytes (:mod:`deepsort_ros.detection_codec`; rclpy's field-by-field message conversion costs
about ten times more). ``python -m deepsort_ros.ros.node_overhead`` measures them.
"""
from __future__ import annotations

import gc
import os
import sys
import threading
import time
from typing import Any

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from sensor_msgs.msg import CompressedImage, Image
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2DArray, LabelInfo, VisionClass

from deepsort_ros.annotate import Annotator
from deepsort_ros.core import TrackState
from deepsort_ros.detection_codec import published_scores
from deepsort_ros.image_codec import check_raw_image
from deepsort_ros.pipeline import Pipeline
from deepsort_ros.ros import parameters
from deepsort_ros.ros.conversions import (bgr_to_image, image_to_bgr, serialized_detections_to_numpy,
                                          serialized_tracks, stamp_to_ns)
from deepsort_ros.ros.diagnostics import (ErrorThrottle, NodeStats, diagnostic_array, diagnostic_status,
                                          problem_kind)
from deepsort_ros.ros.frame_slots import LatestSlot, StampOrder, StampPairer
from deepsort_ros.ros.labels import ClassLabels
from deepsort_ros.ros.pipeline_config import all_parameter_specs, pipeline_config, resolved_device
from deepsort_ros.ros.spatial_io import SpatialIO

NODE_NAME = "tracker_node"
ERROR_PERIOD_S = 5.0
DIAGNOSTICS_PERIOD_S = 1.0
# The worker finishes its frame before deactivate returns; a frame stuck longer publishes nothing anyway
# (the publishers are off by then).
WORKER_JOIN_S = 5.0
# After a shutdown transition the process stays this long, so the ChangeState response reaches the caller.
SHUTDOWN_LINGER_S = 0.5
# LabelInfo.class_map ids are uint16.
MAX_LABEL_CLASSES = 65536
# Tracker-only mode without appearance or camera motion: the pipeline wants an image but never reads it.
_NO_PIXELS = np.zeros((1, 1, 3), dtype=np.uint8)
_COASTING = int(TrackState.COASTING)
# Configuration problems: bad parameters, missing or unreadable weights, unavailable devices.
CONFIGURATION_ERRORS = (ValueError, OSError, ImportError, RuntimeError)


class TrackerNode(LifecycleNode):
    """DeepSORT tracking as a managed ROS 2 node (see the module docstring for topics and life cycle).

    With ``autostart`` on (default) the constructor configures and activates the node.

    Raises
    ------
    parameters.ParameterError
        When a parameter is malformed or unknown (autostart).
    ValueError, OSError, ImportError, RuntimeError
        When the pipeline cannot be built (bad backend settings, missing model weights; autostart).
    """

    def __init__(self, **node_kwargs: Any):
        # Overrides declared as given, so parameters.declare checks them and unknown ones can be named.
        super().__init__(NODE_NAME, automatically_declare_parameters_from_overrides=True, **node_kwargs)
        self.pipeline: Pipeline | None = None
        self.spatial_io: SpatialIO | None = None
        self.tracks_publisher = self.image_publisher = self.label_info_publisher = self.diagnostics_publisher = None
        self._values_lock = threading.Lock()
        self._subscriptions_made: list = []
        self._worker: threading.Thread | None = None
        self._diagnostics_timer = None
        self._stop = threading.Event()
        self._slot = LatestSlot()
        # Held by the worker for a frame and by ~/reset, so a reset never lands in the middle of a frame.
        self._pipeline_lock = threading.Lock()
        self._parameter_callbacks_added = False
        self._weight_free_notice_given = False
        self._zero_stamp_warned: set[str] = set()
        self._configure_failure: BaseException | None = None
        self._autostarting = False
        # Done when a shutdown transition finished: main() then leaves.
        self.finished = Future()
        try:
            values = parameters.declare(self, [spec for spec in parameters.node_specs()
                                               if spec.name == parameters.AUTOSTART])
            self.create_service(Trigger, "~/reset", self._on_reset)
            if values[parameters.AUTOSTART]:
                self._start()
        except BaseException:
            # Release the rcl node while its context is alive: left to the garbage collector until after
            # rclpy shuts down, its handles are finalised in arbitrary order at exit, which can crash.
            self.stop()
            self.destroy_node()
            raise

    def _start(self) -> None:
        """Configure and activate; raises what made configure fail."""
        self._autostarting = True
        try:
            if self.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                raise self._configure_failure or RuntimeError("configure failed")
        finally:
            self._autostarting = False
        if self.trigger_activate() != TransitionCallbackReturn.SUCCESS:
            raise RuntimeError("activate failed")

    # ------------------------------------------------------------------ life cycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._configure_failure = None
        try:
            self._configure()
        except Exception as error:  # any failure leaves the node unconfigured, with the reason logged
            self._release()
            self._configure_failure = error
            if not self._autostarting:  # autostart: the caller reports it (main says "cannot start")
                self.get_logger().error(f"cannot configure: {_one_line(error)}")
            return TransitionCallbackReturn.FAILURE
        return super().on_configure(state)

    def _configure(self) -> None:
        # The node's own parameters come first: detector.backend and reid.backend pick the tracker.* defaults
        # (their presets).
        values = parameters.declare(self, parameters.node_specs())
        specs = all_parameter_specs(values["detector.backend"], values["reid.backend"])
        values.update(parameters.declare(self, [spec for spec in specs if spec.name not in values]))
        parameters.check_overrides_declared(self, values)
        self._specs = {spec.name: spec for spec in specs}
        with self._values_lock:
            self._values = values
            self._tracker_changed = False

        self.pipeline = Pipeline.from_config(pipeline_config(values))
        self.labels = ClassLabels(self.pipeline.class_names)
        self._published_label_count = 0
        self.annotator = Annotator(trail_length=values["annotation.trail_length"])
        self.device = resolved_device(self.pipeline)
        self.stats = NodeStats()
        self.errors = ErrorThrottle(self.get_logger().error, ERROR_PERIOD_S)
        self._stamps = StampOrder()
        self._worker_generation = 0
        self._plan_inputs(values)
        self._create_publishers()
        # Spatial hook 1: metric inputs and outputs (spatial.mode), see deepsort_ros.ros.spatial_io; its
        # publishers are lifecycle ones like the node's, its subscriptions follow activate/deactivate.
        self.spatial_io = SpatialIO(self, values, _input_qos(values), self.errors.report, self._reject)
        if not self._parameter_callbacks_added:
            self.add_on_set_parameters_callback(self._check_parameter_change)
            self.add_post_set_parameters_callback(self._apply_parameter_change)
            self._parameter_callbacks_added = True
        self.get_logger().info(
            f"configured: detector {values['detector.backend']}, appearance {values['reid.backend']} on "
            f"{self.device}; input {self._input_description}")
        if values["detector.backend"] == "motion" and not self._weight_free_notice_given:
            self._weight_free_notice_given = True
            self.get_logger().warning(
                "detector.backend motion: the weight-free background-subtraction detector works on fixed "
                "cameras only; on a moving robot set detector.backend: ultralytics and detector.model")

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._create_subscriptions()
        self.stats.restart_clock()
        self._diagnostics_timer = self.create_timer(DIAGNOSTICS_PERIOD_S, self._publish_diagnostics)
        result = super().on_activate(state)  # enables the publishers
        self._publish_label_info()
        self._stop.clear()
        self._slot = LatestSlot()
        self._worker = threading.Thread(target=self._work, name="tracker_worker", daemon=True)
        self._worker.start()
        self.get_logger().info("active: tracking")
        return result

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy_subscriptions()
        self.stop()  # the frame in progress finishes first, so the markers cleared next stay cleared
        self.spatial_io.clear_markers(self.get_clock().now().to_msg())  # no stale people in RViz while inactive
        result = super().on_deactivate(state)  # disables the publishers: nothing goes out from here on
        self.get_logger().info("inactive: models loaded, not tracking")
        return result

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_cleanup(state)
        self._release()
        self.get_logger().info("unconfigured: models released")
        return result

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy_subscriptions()
        self.stop()
        if self.spatial_io is not None:  # shut down while active: leave no markers behind in RViz
            self.spatial_io.clear_markers(self.get_clock().now().to_msg())
        self._release()
        self.finished.set_result(True)
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy_subscriptions()
        self.stop()
        self._release()
        return TransitionCallbackReturn.SUCCESS  # back to unconfigured, ready to configure again

    def _release(self) -> None:
        """Free the models and publishers (cleanup, shutdown, a failed configure)."""
        for publisher in (self.tracks_publisher, self.image_publisher, self.label_info_publisher,
                          self.diagnostics_publisher):
            if publisher is not None:
                self.destroy_lifecycle_publisher(publisher)
        self.tracks_publisher = self.image_publisher = self.label_info_publisher = self.diagnostics_publisher = None
        if self.spatial_io is not None:
            self.spatial_io.release()
            self.spatial_io = None
        if self.pipeline is None:
            return
        self.pipeline = None
        gc.collect()  # model graphs hold reference cycles: free them now, not at some later collection
        torch = sys.modules.get("torch")  # imported only where a torch or ultralytics backend ran
        if torch is not None and torch.cuda.is_initialized():
            torch.cuda.empty_cache()  # give the models' GPU memory back to the device, not to torch's cache

    def _create_publishers(self) -> None:
        self.tracks_publisher = self.create_lifecycle_publisher(Detection2DArray, "tracks", 10)
        # Depth 1: a slow viewer gets the newest picture, not a backlog.
        self.image_publisher = self.create_lifecycle_publisher(Image, "tracks/image", 1)
        latched = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.label_info_publisher = self.create_lifecycle_publisher(LabelInfo, "label_info", latched)
        self.diagnostics_publisher = self.create_lifecycle_publisher(DiagnosticArray, "/diagnostics", 10)

    def _plan_inputs(self, values: dict[str, Any]) -> None:
        """Which topics activate subscribes, and the stamp pairer when images and detections meet."""
        external = values["detector.backend"] == "external"
        # Appearance features and camera motion need the pixels; plain IoU/Kalman tracking does not.
        self._needs_image = not external or values["reid.backend"] != "none" or values["motion_compensation"]
        self._pairer = StampPairer(values["sync.queue_size"]) if external and self._needs_image else None
        self._image_topic = "image/compressed" if values["image_transport"] == "compressed" else "image"
        inputs = [self.resolve_topic_name(self._image_topic)] if self._needs_image else []
        if external:
            inputs.append(self.resolve_topic_name("detections") + (" (paired by stamp)" if self._needs_image else ""))
        self._input_description = " + ".join(inputs)

    def _create_subscriptions(self) -> None:
        values = self._values
        qos = _input_qos(values)
        made = self._subscriptions_made
        if self._needs_image:
            image_type = CompressedImage if self._image_topic == "image/compressed" else Image
            made.append(self.create_subscription(image_type, self._image_topic, self.on_image, qos))
        if values["detector.backend"] == "external":
            # Raw: the codec reads the bytes about ten times faster than rclpy builds the message.
            made.append(self.create_subscription(Detection2DArray, "detections", self.on_detections, qos,
                                                 raw=True))
        self.spatial_io.subscribe()

    def _destroy_subscriptions(self) -> None:
        while self._subscriptions_made:
            self.destroy_subscription(self._subscriptions_made.pop())
        if self.spatial_io is not None:
            self.spatial_io.unsubscribe()
        if self._diagnostics_timer is not None:
            self.destroy_timer(self._diagnostics_timer)
            self._diagnostics_timer = None

    def _publish_label_info(self) -> None:
        names = list(self.labels.names[:MAX_LABEL_CLASSES])
        msg = LabelInfo(threshold=float(self._values["detector.confidence"]))
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.class_map = [VisionClass(class_id=index, class_name=name) for index, name in enumerate(names)]
        self.label_info_publisher.publish(msg)
        self._published_label_count = len(names)

    # ------------------------------------------------------------------ services
    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if self.pipeline is None:
            response.success, response.message = False, "not configured"
            return response
        with self._pipeline_lock:
            self.pipeline.reset()
            self.annotator.reset()
            self._stamps.clear()  # a replay may start again from its first stamp
        self.get_logger().info("reset: tracks, metric states, background model and camera motion cleared")
        response.success = True
        response.message = "tracks, metric states, background model and camera motion cleared; track ids continue"
        return response

    # ------------------------------------------------------------------ callbacks (never block)
    def _accept_stamp(self, kind: str, header) -> int | None:
        """The stamp in ns when it is newer than the previous ``kind`` message's, else log and None.

        A zero stamp (unset by the camera or simulator) is replaced in ``header`` by the receive time.
        """
        stamp = header.stamp
        if stamp.sec == 0 and stamp.nanosec == 0:
            if self._pairer is not None:
                self._reject(kind, header, ValueError("stamp 0 (unset): images and detections are paired by "
                                                      "stamp, so both need real stamps"))
                return None
            if kind not in self._zero_stamp_warned:
                self._zero_stamp_warned.add(kind)
                self.get_logger().warning(f"{kind} has stamp 0 (unset): tracking with receive times, which "
                                          f"the outputs carry as their stamp (reported once)")
            header.stamp = self.get_clock().now().to_msg()
        stamp_ns = stamp_to_ns(header.stamp)
        verdict, last = self._stamps.check(kind, stamp_ns, self._values["time_jump_reset_s"])
        if verdict == StampOrder.RESTART:
            self.get_logger().warning(f"{kind} time jumped back {(last - stamp_ns) * 1e-9:.2f} s (replay "
                                      f"restarted?): starting new tracks")
        elif verdict != StampOrder.NEW:
            stamp = header.stamp
            self.errors.report(f"{kind} {verdict} stamp", f"skipping {kind} with {verdict} stamp "
                               f"{stamp.sec}.{stamp.nanosec:09d} (previous {last // 1_000_000_000}."
                               f"{last % 1_000_000_000:09d})")
            self.stats.record_rejected()
            return None
        return stamp_ns

    def on_image(self, msg) -> None:
        """The image subscription's callback: check ``msg`` (sensor_msgs/Image or CompressedImage) and hand it
        to the worker, paired with its detections when those come from another detector. Never blocks."""
        # Raw images are checked here (a few comparisons) so garbage never displaces a good waiting frame;
        # compressed ones can only be checked by decoding, which is the worker's job.
        if isinstance(msg, Image):
            try:
                check_raw_image(msg)
            except ValueError as error:
                self._reject("image", msg.header, error)
                return
        stamp_ns = self._accept_stamp("image", msg.header)
        if stamp_ns is None:
            return
        if self._pairer is None:
            self._hand_over(msg, None, msg.header)
            return
        pair = self._pairer.add_image(stamp_ns, msg)
        if pair is not None:
            self._hand_over(*pair, msg.header)

    def on_detections(self, data: bytes) -> None:
        """The detections subscription's callback: read a serialised vision_msgs/Detection2DArray and hand it
        to the worker, paired with its image when the pixels are needed. Never blocks."""
        try:
            header, read = serialized_detections_to_numpy(data, self.labels.index_of)
        except ValueError as error:
            self._reject("detections", None, error)
            return
        if read.dropped:
            self.stats.record_dropped_detections(read.dropped)
            where = f" at stamp {header.stamp.sec}.{header.stamp.nanosec:09d}"
            self.errors.report(f"detections: {problem_kind(read.problem)}",
                               f"dropping {read.dropped} bad detection(s) of the array{where}: {read.problem}")
        stamp_ns = self._accept_stamp("detections", header)
        if stamp_ns is None:
            return
        detections = read.detections
        if self._pairer is None:
            self._hand_over(None, detections, header)
            return
        unpaired_before = self._pairer.unpaired_detections
        pair = self._pairer.add_detections(stamp_ns, detections)
        self.stats.record_unpaired(self._pairer.unpaired_detections - unpaired_before)
        if pair is not None:
            image, _ = pair
            self._hand_over(image, detections, image.header)

    def _hand_over(self, image, detections, header) -> None:
        self.stats.record_received()
        if self._slot.put((image, detections, header, self._stamps.generation, time.perf_counter())):
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
                self.pipeline.set_tracker_config(parameters.tracker_config(values))
        return values

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while not self._stop.is_set():
            item = self._slot.take(timeout=0.1)
            if item is None:
                continue
            try:
                with self._pipeline_lock:
                    self._process(*item)
            except Exception as error:  # the node must outlive any frame: a failing frame is logged and counted
                if self._stop.is_set() or not self.context.ok():
                    return  # shutting down: the publishers are already gone
                self._fail(item[2], error)

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
            self._reject("image", header, error)
            return
        # Spatial hook 2: the depth image and camera_info paired with this frame (None when spatial is off).
        spatial_frame = self.spatial_io.frame_for(header, None if bgr is None else bgr.shape[1::-1])
        converted = time.perf_counter()
        result = self.pipeline.process(_NO_PIXELS if bgr is None else bgr, stamp_to_ns(header.stamp) * 1e-9,
                                       detections=detections, spatial=spatial_frame)
        self.stats.record_dropped_detections(result.dropped_detections)
        tracks = result.tracks
        names = self.labels.labels(tracks.classes)
        class_ids = self.labels.labels(tracks.classes, as_index=True) if values["class_id_format"] == "index" else names
        self.tracks_publisher.publish(serialized_tracks(header, tracks.ids, tracks.boxes_xyxy, published_scores(tracks),
                                                        class_ids))
        if len(self.labels.names) != self._published_label_count:
            self._publish_label_info()  # another detector named a new class
        # Spatial hook 3: tracks_3d, tracks/points, tracks/markers and target_pose after tracks.
        self.spatial_io.publish(header, result, class_ids, names, values)
        published = time.perf_counter()
        annotated = (values["publish_annotated"] and bgr is not None
                     and self.image_publisher.get_subscription_count() > 0)
        if annotated:
            drawn = self.annotator.draw(bgr, tracks.ids, tracks.boxes_xyxy, names,
                                        predicted=tracks.states == _COASTING)
            self.image_publisher.publish(bgr_to_image(drawn, header))
        else:
            self.annotator.update_trails(tracks.ids, tracks.boxes_xyxy)
        done = time.perf_counter()
        stage_ms = {"convert": (converted - start) * 1e3, **result.timings_ms,
                    "publish": max((published - converted) * 1e3 - sum(result.timings_ms.values()), 0.0),
                    "annotate": (done - published) * 1e3}
        self.stats.record_processed(stage_ms, (done - received) * 1e3, len(tracks), annotated)

    def _log_problem(self, kind: str, header, reason: str) -> None:
        """Log (throttled per kind of problem) that a message or frame was not used."""
        where = "" if header is None else f" at stamp {header.stamp.sec}.{header.stamp.nanosec:09d}"
        self.errors.report(f"{kind}: {problem_kind(reason)}", f"skipping {kind}{where}: {reason}")

    def _reject(self, kind: str, header, error: Exception) -> None:
        """A malformed input message: logged (throttled) and counted as rejected."""
        self._log_problem(kind, header, _one_line(error))
        self.stats.record_rejected()

    def _fail(self, header, error: Exception) -> None:
        """A frame whose processing raised: logged (throttled) and counted as failed."""
        reason = f"{type(error).__name__}: {_one_line(error)}"
        self._log_problem("frame (processing failed)", header, reason)
        self.stats.record_failed(reason)

    def _publish_diagnostics(self) -> None:
        with self._values_lock:
            warn_drop_ratio = self._values["diagnostics.warn_drop_ratio"]
            input_timeout_s = self._values["diagnostics.input_timeout_s"]
        status = diagnostic_status(self.stats.take_window(), f"{self.get_fully_qualified_name()}: tracking",
                                   self.get_fully_qualified_name(), self.device, warn_drop_ratio, input_timeout_s)
        self.diagnostics_publisher.publish(diagnostic_array(status, self.get_clock().now().to_msg()))

    def run_in_caller(self) -> None:
        """Stop the worker thread for good: from now on frames the callbacks hand over wait until the caller
        runs them with :meth:`process_waiting`, in its own thread (benchmarks timing the node's own code)."""
        self.stop()
        self._slot = LatestSlot()

    def process_waiting(self) -> bool:
        """Process the frame waiting for the worker in the caller's thread (after :meth:`run_in_caller`);
        False when none waits."""
        item = self._slot.take(timeout=0)
        if item is None:
            return False
        self._process(*item)
        return True

    def stop(self) -> None:
        """Stop the worker (waits for the frame in progress, up to WORKER_JOIN_S)."""
        self._stop.set()
        self._slot.close()
        if self._worker is not None:
            self._worker.join(timeout=WORKER_JOIN_S)
            self._worker = None


def _input_qos(values: dict[str, Any]) -> QoSProfile:
    """QoS of every input subscription (images, detections, depth, camera_info), from ``qos.*``."""
    reliability = (ReliabilityPolicy.RELIABLE if values["qos.reliability"] == "reliable"
                   else ReliabilityPolicy.BEST_EFFORT)
    return QoSProfile(depth=values["qos.depth"], history=HistoryPolicy.KEEP_LAST, reliability=reliability,
                      durability=DurabilityPolicy.VOLATILE)


def missing_params_files(argv: list[str]) -> list[str]:
    """The ``--params-file`` arguments in ``argv`` that are not readable files."""
    return [path for flag, path in zip(argv, argv[1:]) if flag == "--params-file" and not os.path.isfile(path)]


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def main(args: list[str] | None = None) -> int:
    """Entry point of ``tracker_node``: 0 on a clean stop (Ctrl-C, shutdown transition), 1 when it cannot
    start."""
    logger = rclpy.logging.get_logger(NODE_NAME)
    missing = missing_params_files(sys.argv if args is None else args)
    if missing:
        # Checked here because rcl would log its own parser error before ours.
        print(f"{NODE_NAME}: cannot start: parameter file {missing[0]} not found", file=sys.stderr)
        return 1
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
    except CONFIGURATION_ERRORS as error:
        # One line, no traceback: these are configuration problems (parameters, missing weights).
        logger.fatal(f"cannot start: {_one_line(error)}")
        rclpy.try_shutdown()
        return 1
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin_until_future_complete(node.finished)
        if node.finished.done():
            # Shut down through the lifecycle: answer the ChangeState call before leaving.
            executor.spin_until_future_complete(Future(), timeout_sec=SHUTDOWN_LINGER_S)
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
