"""The node's building blocks without a ROS graph: frame hand-over, diagnostics, parameters, config file."""
import inspect
import re
import threading
import time
from dataclasses import fields
from pathlib import Path

import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticStatus
from rcl_interfaces.msg import ParameterType

from deepsort_ros.core import Tracker, TrackerConfig
from deepsort_ros.perception import DETECTOR_PARAMS, EMBEDDER_PARAMS
from deepsort_ros.pipeline import Pipeline
from deepsort_ros.ros import parameters
from deepsort_ros.ros.diagnostics import ErrorThrottle, NodeStats, diagnostic_status
from deepsort_ros.ros.frame_slots import LatestSlot, StampPairer
from deepsort_ros.ros.parameters_file import is_node_level, render
from deepsort_ros.ros.pipeline_config import all_parameter_specs, pipeline_config

REPO = Path(__file__).resolve().parents[1]


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_latest_slot_keeps_only_the_newest_item_and_counts_replacements():
    slot = LatestSlot()
    assert slot.take(timeout=0.01) is None
    assert slot.put(1) is False
    assert slot.put(2) is True  # 1 was never taken: dropped
    assert slot.take(timeout=0.01) == 2
    assert slot.take(timeout=0.01) is None
    taken = []
    consumer = threading.Thread(target=lambda: taken.append(slot.take(timeout=5)))
    consumer.start()
    slot.put(3)
    consumer.join(5)
    assert taken == [3]
    slot.close()
    slot.put(4)
    assert slot.take(timeout=0.01) is None


def test_stamp_pairer_pairs_either_order_and_bounds_its_buffers():
    pairer = StampPairer(capacity=2)
    assert pairer.add_image(10, "img10") is None
    assert pairer.add_detections(10, "det10") == ("img10", "det10")
    assert pairer.add_detections(20, "det20") is None
    assert pairer.add_image(20, "img20") == ("img20", "det20")
    for stamp in (30, 40, 50):
        assert pairer.add_detections(stamp, f"det{stamp}") is None
    assert pairer.unpaired_detections == 1  # det30 fell out
    assert pairer.add_image(30, "img30") is None
    assert pairer.add_image(50, "img50") == ("img50", "det50")
    with pytest.raises(ValueError):
        StampPairer(0)


def test_node_stats_windows_and_warn_when_falling_behind():
    clock = FakeClock()
    stats = NodeStats(clock)
    for _ in range(10):
        stats.record_received()
    stats.record_dropped(6)
    stats.record_processed({"detect": 4.0, "track": 1.0}, latency_ms=8.0, active_tracks=3, annotated=True)
    stats.record_processed({"detect": 6.0, "track": 3.0}, latency_ms=12.0, active_tracks=2, annotated=False)
    clock.now = 2.0
    window = stats.take_window()
    assert (window.input_rate, window.processed_rate, window.dropped) == (5.0, 1.0, 6)
    assert window.stage_ms["detect"] == 5.0 and window.latency_ms == 10.0 and window.active_tracks == 2
    status = diagnostic_status(window, "tracker: tracking", "/tracker", "cpu", warn_drop_ratio=0.5, input_timeout_s=2.0)
    assert status.level == DiagnosticStatus.WARN and "falling behind" in status.message
    values = {kv.key: kv.value for kv in status.values}
    assert values["dropped_frames"] == "6" and values["device"] == "cpu" and values["detect_ms"] == "5.00"
    assert diagnostic_status(window, "t", "/t", "cpu", 0.7, 2.0).level == DiagnosticStatus.OK
    clock.now = 3.0
    quiet = stats.take_window()
    assert quiet.received == 0 and quiet.totals["received"] == 10 and quiet.totals["annotated"] == 1
    idle = diagnostic_status(quiet, "t", "/t", "cpu", 0.5, 5.0)
    assert idle.level == DiagnosticStatus.OK and idle.message == "waiting for input"


def status_of(stats, clock, seconds=1.0, input_timeout_s=2.0):
    clock.now += seconds
    return diagnostic_status(stats.take_window(), "t", "/t", "cpu", 0.5, input_timeout_s)


def test_diagnostics_count_each_loss_apart_and_say_which():
    clock = FakeClock()
    stats = NodeStats(clock)
    # Every frame fails (e.g. CUDA out of memory): input arrives, nothing is processed.
    for _ in range(5):
        stats.record_received()
        stats.record_failed("RuntimeError: CUDA out of memory")
    failing = status_of(stats, clock)
    values = {kv.key: kv.value for kv in failing.values}
    assert failing.level == DiagnosticStatus.ERROR and "nothing is processed" in failing.message
    assert "CUDA out of memory" in failing.message
    assert (values["failed_frames"], values["total_failed"], values["rejected_messages"]) == ("5", "5", "0")
    # Most frames fail, some succeed: WARN.
    for n in range(4):
        stats.record_received()
        if n:
            stats.record_failed("ValueError: bad")
        else:
            stats.record_processed({}, 1.0, 0, False)
    most = status_of(stats, clock)
    assert most.level == DiagnosticStatus.WARN and "most frames fail: 3 of 4" in most.message
    # Every input message is rejected (e.g. an unsupported encoding): ERROR too.
    for _ in range(3):
        stats.record_rejected()
    rejected = status_of(stats, clock)
    assert rejected.level == DiagnosticStatus.ERROR and "3 input message(s) rejected" in rejected.message
    # Some rejected among good frames, bad detection rows, unpaired arrays: WARN naming each.
    stats.record_received()
    stats.record_processed({}, 1.0, 0, False)
    stats.record_rejected()
    stats.record_dropped_detections(2)
    stats.record_unpaired(4)
    mixed = status_of(stats, clock)
    values = {kv.key: kv.value for kv in mixed.values}
    assert mixed.level == DiagnosticStatus.WARN
    for text in ("rejected 1 bad input", "dropped 2 bad detection", "4 detection array(s) never found their image"):
        assert text in mixed.message, mixed.message
    assert (values["unpaired_detection_arrays"], values["dropped_detections"], values["total_unpaired"]) == ("4", "2", "4")
    # Input goes stale: WARN after input_timeout_s without a message, not before.
    assert status_of(stats, clock, seconds=1.0).level == DiagnosticStatus.OK
    stale = status_of(stats, clock, seconds=1.5)
    assert stale.level == DiagnosticStatus.WARN and "no input for 3.5 s" in stale.message
    assert status_of(stats, clock, seconds=5.0, input_timeout_s=0.0).level == DiagnosticStatus.OK
    # Input keeps coming, the worker finishes nothing for longer than the timeout (stuck): ERROR.
    stats.restart_clock()
    for _ in range(3):
        stats.record_received()
        stats.record_dropped()
        assert status_of(stats, clock, seconds=0.5).level != DiagnosticStatus.ERROR
    stats.record_received()
    stuck = status_of(stats, clock, seconds=1.0)
    assert stuck.level == DiagnosticStatus.ERROR and "no frame finished for 2.5 s" in stuck.message


def test_error_throttle_logs_once_per_kind_and_period_and_counts_the_rest():
    clock = FakeClock()
    logged = []
    throttle = ErrorThrottle(logged.append, period_s=5.0, clock=clock)
    for _ in range(100):
        throttle.report("bad step", "step too short")
    throttle.report("bad encoding", "unknown encoding")
    assert logged == ["step too short", "unknown encoding"]
    clock.now = 5.0
    throttle.report("bad step", "step too short")
    assert logged[-1] == "step too short (99 more like this in the last 5 s)"


def test_tracker_parameters_mirror_every_tracker_config_field():
    specs = {spec.name: spec for spec in parameters.tracker_specs()}
    config_fields = {f.name: f for f in fields(TrackerConfig)}
    assert set(specs) == {f"tracker.{name}" for name in config_fields}
    for name, field in config_fields.items():
        spec = specs[f"tracker.{name}"]
        assert spec.default == field.default and spec.param.kind is type(field.default)
        assert spec.param.description.startswith(field.metadata["description"])
        descriptor = spec.descriptor()
        if spec.param.kind is float and "range" in field.metadata:
            low, high = field.metadata["range"]
            assert (descriptor.floating_point_range[0].from_value, descriptor.floating_point_range[0].to_value) == (low, high)
        if spec.param.kind is int:
            assert descriptor.integer_range[0].to_value == field.metadata["range"][1]
    assert specs["tracker.state_space"].read_only and not specs["tracker.max_age"].read_only
    assert specs["tracker.matching"].descriptor().type == ParameterType.PARAMETER_STRING


def test_tracker_settings_read_only_when_built_are_read_only_parameters():
    # Run-time changes replace Tracker.config, which the tracker reads every update; settings it copies
    # into the Kalman filter or appearance memory when built must not change at run time.
    source = inspect.getsource(Tracker.__init__) + inspect.getsource(Tracker.reset)
    read_when_built = set(re.findall(r"cfg\.(\w+)", source))
    build_time = {field["name"] for field in TrackerConfig.field_specs() if field["build_time"]}
    assert read_when_built <= build_time, read_when_built - build_time
    specs = {spec.name: spec for spec in parameters.tracker_specs()}
    assert all(specs[f"tracker.{name}"].read_only for name in build_time)


def test_every_backend_setting_is_a_parameter_and_defaults_build_a_pipeline():
    specs = {spec.name: spec for spec in all_parameter_specs()}
    for backend, params in DETECTOR_PARAMS.items():
        for param in params:
            assert f"detector.{param.name}" in specs or f"detector.{backend}.{param.name}" in specs
    for backend, params in EMBEDDER_PARAMS.items():
        for param in params:
            assert f"reid.{param.name}" in specs or f"reid.{backend}.{param.name}" in specs
    assert all(spec.read_only for name, spec in specs.items() if name.startswith(("detector.", "reid.")))
    # Backend settings are declared from the backends' own Params; ROS declares an empty list default unset.
    class_names = specs["detector.external.class_names"]
    assert any(param is class_names.param for param in DETECTOR_PARAMS["external"]) and class_names.default is None
    defaults = {name: spec.default for name, spec in specs.items()}
    config = pipeline_config(defaults)
    assert config["detector"]["backend"] == "motion" and config["reid"]["backend"] == "histogram"
    assert "model" not in config["detector"] and config["motion_compensation"] is False
    pipeline = Pipeline.from_config(config)
    assert pipeline.class_names == ["person"]
    moving = pipeline_config({**defaults, "motion_compensation": True, "camera_motion.max_features": 50,
                              "detector.backend": "external", "reid.backend": "none"})
    assert moving["motion_compensation"]["max_features"] == 50 and moving["detector"] == {"backend": "external"}
    assert Pipeline.from_config(moving).motion_estimator is not None


def test_run_time_changes_are_validated_with_a_reason():
    specs = {spec.name: spec for spec in all_parameter_specs()}
    values = {name: spec.default for name, spec in specs.items()}
    assert parameters.check_change(specs, values, {"tracker.max_age": 10, "class_id_format": "index"}) is None
    assert "min_score" in parameters.check_change(specs, values, {"tracker.high_score": 0.01})
    assert parameters.check_change(specs, values, {"tracker.min_score": 0.05, "tracker.high_score": 0.06}) is None
    assert "not one of" in parameters.check_change(specs, values, {"class_id_format": "names"})
    assert "read-only" in parameters.check_change(specs, values, {"detector.model": "x.pt"})
    assert "not a parameter" in parameters.check_change(specs, values, {"tracker.nope": 1})
    assert "allowed range" in parameters.check_change(specs, values, {"annotation.trail_length": -1})


def test_parameter_file_documents_every_parameter_and_sets_only_node_level_ones():
    text = (REPO / "config" / "tracker.yaml").read_text()
    specs = all_parameter_specs()
    # The commented-out defaults of backend and tracker settings may lag behind re-tuned defaults (they
    # set nothing); names and the values the file does set must match the node exactly.
    stale = "config/tracker.yaml is out of date: python -m deepsort_ros.ros.parameters_file > config/tracker.yaml"
    rendered = render(specs, is_node_level)
    assert [line for line in text.splitlines() if not line.lstrip().startswith("#")] == \
        [line for line in rendered.splitlines() if not line.lstrip().startswith("#")], stale
    active = yaml.safe_load(text)["/**"]["ros__parameters"]
    assert active["detector"]["backend"] == "motion" and active["reid"]["backend"] == "histogram"

    def flatten(tree, prefix=""):
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from flatten(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value
    by_name = {spec.name: spec for spec in specs}
    for name, value in flatten(active):
        assert by_name[name].default == value and by_name[name].type_problem(value) is None
    for spec in specs:
        assert f" {spec.name.rsplit('.', 1)[-1]}: " in text, f"{spec.name} undocumented; {stale}"


@pytest.fixture
def ros_context():
    import rclpy

    context = rclpy.Context()
    rclpy.init(context=context, args=[])
    yield context
    rclpy.try_shutdown(context=context)


def _wait_for(predicate, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _empty_detections(sec: int) -> bytes:
    """A serialised vision_msgs/Detection2DArray without detections, stamped ``sec`` seconds."""
    from rclpy.serialization import serialize_message
    from vision_msgs.msg import Detection2DArray

    message = Detection2DArray()
    message.header.stamp.sec = sec
    return serialize_message(message)


def test_a_failed_start_releases_the_node_and_starts_no_worker(ros_context, monkeypatch):
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from deepsort_ros.ros.node import TrackerNode

    destroyed = []
    monkeypatch.setattr(TrackerNode, "destroy_node", lambda self: destroyed.append(self) or Node.destroy_node(self))
    workers = sum(thread.name == "tracker_worker" for thread in threading.enumerate())
    with pytest.raises(parameters.ParameterError, match="tracker.max_age"):
        TrackerNode(context=ros_context, parameter_overrides=[Parameter("tracker.max_age", value=-3)])
    assert len(destroyed) == 1
    assert sum(thread.name == "tracker_worker" for thread in threading.enumerate()) == workers


def test_overrides_are_checked_and_unknown_ones_named_but_rclpys_own_are_accepted(ros_context):
    from rclpy.parameter import Parameter

    from deepsort_ros.ros.node import TrackerNode

    with pytest.raises(parameters.ParameterError, match=r"unknown parameter\(s\) tracker.nope") as error:
        TrackerNode(context=ros_context, parameter_overrides=[Parameter("use_sim_time", value=False),
                                                              Parameter("tracker.nope", value=1)])
    assert "use_sim_time" not in str(error.value)
    with pytest.raises(parameters.ParameterError, match="tracker.min_score=1 must be a double"):
        TrackerNode(context=ros_context, parameter_overrides=[Parameter("tracker.min_score", value=1)])
    node = TrackerNode(context=ros_context, parameter_overrides=[
        Parameter("use_sim_time", value=False), Parameter("start_type_description_service", value=False),
        Parameter("detector.backend", value="external"), Parameter("tracker.n_init", value=5),
        Parameter("tracker.max_age", value=7)])
    try:
        described = node.describe_parameter("tracker.n_init")  # its spec's descriptor, the override's value
        assert node.get_parameter("tracker.n_init").value == 5 and described.description and described.integer_range
        assert node.get_parameter("tracker.max_age").value == 7
        assert node.pipeline.tracker.config.n_init == 5
    finally:
        node.stop()
        node.destroy_node()


def test_the_worker_skips_a_frame_that_fails_and_keeps_working(ros_context, monkeypatch):
    from rclpy.parameter import Parameter

    from deepsort_ros.ros.node import TrackerNode

    node = TrackerNode(context=ros_context, parameter_overrides=[
        Parameter("detector.backend", value="external"), Parameter("reid.backend", value="none")])
    try:
        publish, failures = node.tracks_publisher.publish, [RuntimeError("publisher broke")]
        monkeypatch.setattr(node.tracks_publisher, "publish",
                            lambda msg: (_ for _ in ()).throw(failures.pop()) if failures else publish(msg))
        node.on_detections(_empty_detections(1))
        _wait_for(lambda: node.stats.take_window().totals["failed"] == 1, "the failing frame to be counted")
        # The worker survived the failure: it processes the next frame.
        node.on_detections(_empty_detections(2))
        _wait_for(lambda: node.stats.take_window().totals["processed"] == 1, "the next frame to be processed")
    finally:
        node.stop()
        node.destroy_node()


def test_detections_in_and_tracks_out_as_bytes(ros_context):
    """The node reads detection bytes with the codec and publishes tracks bytes rclpy reads as messages."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.serialization import serialize_message
    from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

    from deepsort_ros.ros import node as node_module

    node = node_module.TrackerNode(context=ros_context, parameter_overrides=[
        Parameter("detector.backend", value="external"), Parameter("reid.backend", value="none"),
        Parameter("tracker.n_init", value=1), Parameter("tracker.high_score", value=0.5)])
    listener = rclpy.create_node("tracks_listener", context=ros_context)
    received = []
    listener.create_subscription(Detection2DArray, "tracks", received.append, 10)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(listener)
    try:
        for frame in range(1, 4):
            msg = Detection2DArray()
            msg.header.frame_id, msg.header.stamp.sec = "cam", frame
            for cx, class_id in ((20.0 + frame, "person"), (200.0 - frame, "car")):
                detection = Detection2D()
                detection.bbox.center.position.x, detection.bbox.center.position.y = cx, 50.0
                detection.bbox.size_x, detection.bbox.size_y = 10.0, 30.0
                result = ObjectHypothesisWithPose()
                result.hypothesis.class_id, result.hypothesis.score = class_id, 0.75
                detection.results = [result]
                msg.detections.append(detection)
            node.on_detections(serialize_message(msg))
            _wait_for(lambda: node.stats.take_window().totals["processed"] == frame, f"frame {frame}")
        _wait_for(lambda: executor.spin_once(timeout_sec=0.05) or any(m.header.stamp.sec == 3 for m in received),
                  "the tracks of frame 3")
        last = next(m for m in received if m.header.stamp.sec == 3)
        assert last.header.frame_id == "cam"
        assert sorted((d.results[0].hypothesis.class_id, d.bbox.center.position.x, d.bbox.size_y,
                       d.results[0].hypothesis.score, d.header.stamp.sec) for d in last.detections) == [
            ("car", pytest.approx(197.0, abs=1.0), pytest.approx(30.0, abs=0.5), 0.75, 3),
            ("person", pytest.approx(23.0, abs=1.0), pytest.approx(30.0, abs=0.5), 0.75, 3)]
        assert len({d.id for d in last.detections}) == 2 and all(d.id.isdigit() for d in last.detections)
        node.on_detections(b"\x00\x01\x00\x00 not a detection array")
        assert node.stats.take_window().totals["rejected"] == 1
    finally:
        executor.shutdown()
        listener.destroy_node()
        node.stop()
        node.destroy_node()


def test_stamp_order_passes_newer_stamps_and_restarts_on_a_jump_back():
    from deepsort_ros.ros.frame_slots import StampOrder

    order = StampOrder()
    assert order.check("image", 10_000_000_000, 1.0) == (StampOrder.NEW, None)
    assert order.check("image", 10_100_000_000, 1.0) == (StampOrder.NEW, 10_000_000_000)
    assert order.check("image", 10_100_000_000, 1.0) == (StampOrder.REPEATED, 10_100_000_000)
    assert order.check("image", 10_000_000_000, 1.0) == (StampOrder.OUT_OF_ORDER, 10_100_000_000)
    assert order.check("detections", 5_000_000_000, 1.0) == (StampOrder.NEW, None)  # each input on its own
    assert order.generation == 0
    assert order.check("image", 9_000_000_000, 1.0) == (StampOrder.RESTART, 10_100_000_000)
    assert order.generation == 1
    assert order.check("detections", 4_000_000_000, 1.0)[0] == StampOrder.NEW  # the restart forgot every input
    assert order.check("image", 1_000_000_000, 0.0)[0] == StampOrder.OUT_OF_ORDER  # reset_s 0: never restart
    order.clear()
    assert order.check("image", 1_000_000_000, 0.0)[0] == StampOrder.NEW and order.generation == 1


def test_diagnostics_turn_error_when_every_frame_fails(ros_context, monkeypatch):
    """A failure on every frame (here: CUDA out of memory) is counted and /diagnostics says ERROR."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    from deepsort_ros.ros.node import TrackerNode

    node = TrackerNode(context=ros_context, parameter_overrides=[
        Parameter("detector.backend", value="external"), Parameter("reid.backend", value="none")])
    listener = rclpy.create_node("diagnostics_listener", context=ros_context)
    statuses = []
    listener.create_subscription(DiagnosticArray, "/diagnostics",
                                 lambda msg: statuses.extend(s for s in msg.status if s.hardware_id == "/tracker_node"),
                                 10)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    executor.add_node(listener)

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB")

    monkeypatch.setattr(node.pipeline, "process", out_of_memory)
    try:
        stamp = 0

        def failing():
            nonlocal stamp
            stamp += 1
            node.on_detections(_empty_detections(stamp))  # input keeps arriving, as from a camera
            executor.spin_once(timeout_sec=0.05)
            return any(s.level == s.ERROR for s in statuses)
        _wait_for(failing, "an ERROR status")
        error = next(s for s in statuses if s.level == s.ERROR)
        values = {kv.key: kv.value for kv in error.values}
        assert "nothing is processed" in error.message and "CUDA out of memory" in error.message
        assert int(values["failed_frames"]) >= 1 and values["total_processed"] == "0"
    finally:
        executor.shutdown()
        listener.destroy_node()
        node.stop()
        node.destroy_node()


def test_run_in_caller_leaves_each_frame_to_process_waiting(ros_context):
    """Benchmarks run the node's frames in their own thread: after run_in_caller nothing is processed until
    process_waiting, which processes the one waiting frame."""
    from rclpy.parameter import Parameter
    from rclpy.serialization import serialize_message
    from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

    from deepsort_ros.ros import node as node_module

    node = node_module.TrackerNode(context=ros_context, parameter_overrides=[
        Parameter("detector.backend", value="external"), Parameter("reid.backend", value="none")])
    try:
        node.run_in_caller()
        assert not node.process_waiting()
        for frame in (1, 2):
            msg = Detection2DArray()
            msg.header.frame_id, msg.header.stamp.sec = "cam", frame
            detection = Detection2D()
            detection.bbox.center.position.x, detection.bbox.center.position.y = 20.0 + frame, 50.0
            detection.bbox.size_x, detection.bbox.size_y = 10.0, 30.0
            result = ObjectHypothesisWithPose()
            result.hypothesis.class_id, result.hypothesis.score = "person", 0.9
            detection.results = [result]
            msg.detections.append(detection)
            node.on_detections(serialize_message(msg))
            time.sleep(0.2)  # a worker, were one left, would have taken the frame by now
            assert node.stats.take_window().totals["processed"] == frame - 1
            assert node.process_waiting()
            assert not node.process_waiting()
            assert node.stats.take_window().totals["processed"] == frame
    finally:
        node.destroy_node()
