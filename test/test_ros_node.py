"""End-to-end tests of ``tracker_node`` over a real ROS graph (DDS on loopback).

Two node processes are shared by the tests of this module, in file order: a motion-detector node fed
raw images and a tracker-only node fed another detector's detections plus compressed images. The test
process hosts a probe node that publishes synthetic frames (coloured blocks walking over a textured
background) and listens to everything the node publishes. Frames go one at a time (publish, wait for
that stamp's tracks), so the tests do not depend on machine speed; discovery is awaited, never slept.
"""
import os
import signal
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue
from rcl_interfaces.srv import GetParameters, SetParameters
from rclpy.duration import Duration
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2D, Detection2DArray, LabelInfo, ObjectHypothesisWithPose

REPO = Path(__file__).resolve().parents[1]
PARAMS_FILE = REPO / "config" / "tracker.yaml"
HEIGHT, WIDTH = 240, 320
WARMUP = 5  # background-only frames before the walkers appear
WALKERS = [  # (x0, y0, vx, colour): two person-sized blocks on separate rows, moving towards each other
    (10, 20, 5, (0, 0, 255)),
    (270, 130, -5, (0, 200, 0)),
]
_BACKGROUND = cv2.GaussianBlur(np.random.default_rng(0).integers(60, 200, (HEIGHT, WIDTH, 3), dtype=np.uint8),
                               (0, 0), 3)
RELIABLE = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
TIMEOUT = 20.0  # generous: discovery and first frames on a loaded 2-core machine


def scene(index):
    """Frame ``index``: BGR image and the walkers' true boxes (x1, y1, x2, y2)."""
    image = _BACKGROUND.copy()
    boxes = []
    if index >= WARMUP:
        for x0, y0, vx, colour in WALKERS:
            x = x0 + vx * (index - WARMUP)
            cv2.rectangle(image, (x, y0), (x + 30, y0 + 80), colour, cv2.FILLED)
            cv2.rectangle(image, (x, y0 + 40), (x + 30, y0 + 80), (40, 40, 40), cv2.FILLED)
            boxes.append((x, y0, x + 30, y0 + 80))
    return image, np.array(boxes, dtype=np.float64).reshape(-1, 4)


def stamp_of(index):
    """Stamp of frame ``index``: 10 frames per second from t = 1000 s."""
    header = Header(frame_id="test_camera")
    header.stamp.sec, header.stamp.nanosec = 1000 + index // 10, (index % 10) * 100_000_000
    return header


def raw_image(bgr, header):
    return Image(header=header, height=bgr.shape[0], width=bgr.shape[1], encoding="bgr8", step=bgr.shape[1] * 3,
                 data=bgr.tobytes())


def key(header):
    return header.stamp.sec, header.stamp.nanosec


def iou(a, b):
    x1, y1 = np.maximum(a[:2], b[:2])
    x2, y2 = np.minimum(a[2:], b[2:])
    inter = max(x2 - x1, 0) * max(y2 - y1, 0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def boxes_of(msg):
    return np.array([[d.bbox.center.position.x - d.bbox.size_x / 2, d.bbox.center.position.y - d.bbox.size_y / 2,
                      d.bbox.center.position.x + d.bbox.size_x / 2, d.bbox.center.position.y + d.bbox.size_y / 2]
                     for d in msg.detections]).reshape(-1, 4)


class Probe:
    """A test-side node spinning in a thread; collects every message of the topics it subscribes."""

    def __init__(self, namespace):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("probe", namespace=namespace, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.messages = defaultdict(list)
        self.condition = threading.Condition()
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def subscribe(self, msg_type, topic, qos=RELIABLE):
        def store(msg):
            with self.condition:
                self.messages[topic].append(msg)
                self.condition.notify_all()
        return self.node.create_subscription(msg_type, topic, store, qos)

    def wait(self, predicate, timeout=TIMEOUT, what="condition"):
        deadline = time.monotonic() + timeout
        with self.condition:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
                self.condition.wait(min(left, 0.05))

    def wait_until(self, predicate, timeout=TIMEOUT, what="condition"):
        """Poll a predicate that does not depend on received messages (graph matching)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.02)

    def message_with_stamp(self, topic, header):
        with self.condition:
            return next((m for m in self.messages[topic] if key(m.header) == key(header)), None)

    def wait_for_stamp(self, topic, header, timeout=TIMEOUT):
        self.wait(lambda: any(key(m.header) == key(header) for m in self.messages[topic]), timeout,
                  f"{topic} at stamp {key(header)}")
        return self.message_with_stamp(topic, header)

    def latest_status(self, node_name):
        with self.condition:
            for array in reversed(self.messages["/diagnostics"]):
                for status in array.status:
                    if status.hardware_id == node_name:
                        return status, {kv.key: kv.value for kv in status.values}
        return None, None

    def wait_for_status(self, node_name, predicate, what):
        def check():
            _, values = self.latest_status(node_name)
            return values is not None and predicate(values)
        try:
            self.wait(check, what=what)
        except AssertionError as error:
            raise AssertionError(f"{error}; last status: {self.latest_status(node_name)[1]}") from None
        return self.latest_status(node_name)

    def call(self, srv_type, name, request):
        client = self.node.create_client(srv_type, name)
        assert client.wait_for_service(timeout_sec=TIMEOUT), f"service {name} not available"
        future = client.call_async(request)
        deadline = time.monotonic() + TIMEOUT
        while not future.done():
            assert time.monotonic() < deadline, f"no response from {name}"
            time.sleep(0.01)
        self.node.destroy_client(client)
        return future.result()

    def set_parameter(self, node_name, name, value):
        kind = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
                float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}[type(value)]
        field = {bool: "bool_value", int: "integer_value", float: "double_value", str: "string_value"}[type(value)]
        parameter = ParameterMsg(name=name, value=ParameterValue(type=kind, **{field: value}))
        response = self.call(SetParameters, f"{node_name}/set_parameters", SetParameters.Request(parameters=[parameter]))
        return response.results[0]

    def get_parameter(self, node_name, name):
        response = self.call(GetParameters, f"{node_name}/get_parameters", GetParameters.Request(names=[name]))
        value = response.values[0]
        return {ParameterType.PARAMETER_STRING: value.string_value, ParameterType.PARAMETER_DOUBLE: value.double_value,
                ParameterType.PARAMETER_INTEGER: value.integer_value,
                ParameterType.PARAMETER_BOOL: value.bool_value}[value.type]

    def close(self):
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


class NodeProcess:
    """``tracker_node`` in its own process; its output is collected for log checks."""

    def __init__(self, env, namespace, *ros_args):
        self.name = f"{namespace}/tracker_node"
        self.process = subprocess.Popen(
            ["tracker_node", "--ros-args", "-r", f"__ns:={namespace}", "--params-file", str(PARAMS_FILE), *ros_args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self):
        return "\n".join(self.lines)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def assert_clean_sigint(node):
    """SIGINT: exit code 0 within 2 s, no traceback."""
    assert node.process.poll() is None, f"node died early:\n{node.output()}"
    start = time.monotonic()
    node.process.send_signal(signal.SIGINT)
    code = node.process.wait(10)
    elapsed = time.monotonic() - start
    node.reader.join(2)
    assert code == 0, f"exit code {code}:\n{node.output()}"
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    assert "Traceback" not in node.output()


# ---------------------------------------------------------------------------------------------- motion node
@pytest.fixture(scope="module")
def motion(ros_env):
    """Motion detector + histogram appearance on raw images (reliable QoS, as for bag replay)."""
    namespace = f"/motion_{os.getpid()}"
    node = NodeProcess(ros_env, namespace, "-p", "qos.reliability:=reliable", "-p", "qos.depth:=1000",
                       "-p", "detector.motion.learning_rate:=0.01")
    probe = Probe(namespace)
    tracks = probe.subscribe(Detection2DArray, f"{namespace}/tracks")
    probe.subscribe(DiagnosticArray, "/diagnostics")
    publisher = probe.node.create_publisher(Image, f"{namespace}/image",
                                            QoSProfile(depth=2000, reliability=ReliabilityPolicy.RELIABLE))
    probe.wait_until(lambda: publisher.get_subscription_count() > 0 or node.process.poll() is not None,
                     what="the node's image subscription")
    assert node.process.poll() is None, f"node exited:\n{node.output()}"
    # Matched, not only discovered: a tracks message sent before the match is lost (volatile), and the
    # tests wait for every frame's tracks.
    probe.wait_until(lambda: tracks.get_publisher_count() > 0, what="the node's tracks publisher to match")
    state = {"node": node, "probe": probe, "publisher": publisher, "topic": f"{namespace}/tracks", "next": 0}
    yield state
    node.stop()
    probe.close()


def send_frames(motion, count):
    """Publish the next ``count`` scene frames one by one; returns [(truth boxes, tracks msg)]."""
    out = []
    for _ in range(count):
        index = motion["next"]
        motion["next"] += 1
        bgr, truth = scene(index)
        header = stamp_of(index)
        motion["publisher"].publish(raw_image(bgr, header))
        out.append((truth, motion["probe"].wait_for_stamp(motion["topic"], header)))
    return out


def test_tracks_keep_ids_and_carry_the_image_header(motion):
    results = send_frames(motion, WARMUP + 30)
    for truth, msg in results:
        assert msg.header.frame_id == "test_camera"
        assert all(d.header == msg.header for d in msg.detections)
    # Background-only frames still get an (empty) array.
    assert all(len(msg.detections) == 0 for _, msg in results[:WARMUP])
    settled = results[WARMUP + 5:]
    ids = [[d.id for d in msg.detections] for _, msg in settled]
    assert all(len(frame_ids) == 2 for frame_ids in ids), ids
    assert len({tuple(sorted(frame_ids)) for frame_ids in ids}) == 1, f"ids changed: {ids}"
    assert all(i.isdigit() for i in ids[0])
    for truth, msg in settled:
        boxes = boxes_of(msg)
        # Each true walker is covered by one track box (the motion detector's boxes are a little loose).
        assert all(max(iou(t, b) for b in boxes) > 0.6 for t in truth), (truth, boxes)
        assert {d.results[0].hypothesis.class_id for d in msg.detections} == {"person"}
        assert all(0 < d.results[0].hypothesis.score <= 1 for d in msg.detections)


def test_annotated_images_only_while_someone_subscribes(motion):
    probe, name = motion["probe"], motion["node"].name
    _, values = probe.wait_for_status(name, lambda v: int(v["total_processed"]) >= motion["next"],
                                      "diagnostics covering every frame so far")
    assert values["total_annotated"] == "0" and values["device"] == "cpu" and values["active_tracks"] == "2"
    topic = f"{motion['topic']}/image"
    subscription = probe.subscribe(Image, topic, QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    probe.wait_until(lambda: subscription.get_publisher_count() > 0, what="tracks/image to match")
    first = motion["next"]
    for index, (truth, msg) in enumerate(send_frames(motion, 5), start=first):
        image = probe.wait_for_stamp(topic, msg.header)
        assert (image.encoding, image.height, image.width) == ("bgr8", HEIGHT, WIDTH)
        assert image.header.frame_id == "test_camera"
        drawn = np.frombuffer(image.data, np.uint8).reshape(HEIGHT, WIDTH, 3)
        changed = (drawn != scene(index)[0]).any(axis=2)
        # Box outlines and labels are drawn around each track, the rest of the picture is untouched.
        assert changed.sum() > 100, "nothing drawn"
        x1, y1, x2, y2 = boxes_of(msg)[0].round().astype(int)
        assert changed[y1, x1:x2].mean() > 0.9, "box outline missing"
    probe.node.destroy_subscription(subscription)


def test_parameter_changes_apply_and_bad_values_are_rejected(motion):
    probe, name = motion["probe"], motion["node"].name
    assert probe.set_parameter(name, "class_id_format", "index").successful
    _, msg = send_frames(motion, 1)[0]
    assert {d.results[0].hypothesis.class_id for d in msg.detections} == {"0"}
    assert probe.set_parameter(name, "class_id_format", "name").successful
    high_score = probe.get_parameter(name, "tracker.high_score")
    assert probe.set_parameter(name, "tracker.max_age", 5).successful
    assert probe.get_parameter(name, "tracker.max_age") == 5
    rejected = {
        ("tracker.high_score", 0.01): "min_score",     # below tracker.min_score (0.1)
        ("class_id_format", "label"): "not one of",
        ("tracker.max_age", 0): "",                    # outside the declared range
        ("detector.backend", "external"): "read-only",
        ("tracker.state_space", "xywh"): "read-only",  # fixed once the Kalman filter exists
        ("publish_annotated", 1): "",                  # wrong type
    }
    for (parameter, value), reason in rejected.items():
        result = probe.set_parameter(name, parameter, value)
        assert not result.successful, (parameter, value)
        assert reason.lower() in result.reason.lower(), result.reason
    assert probe.get_parameter(name, "tracker.high_score") == high_score
    assert probe.get_parameter(name, "class_id_format") == "name"
    _, msg = send_frames(motion, 1)[0]
    assert {d.results[0].hypothesis.class_id for d in msg.detections} == {"person"}


def test_label_info_is_latched_for_late_subscribers(motion):
    probe = motion["probe"]
    topic = motion["topic"].rsplit("/", 1)[0] + "/label_info"
    probe.subscribe(LabelInfo, topic, LATCHED)
    probe.wait(lambda: probe.messages[topic], what="label_info")
    info = probe.messages[topic][0]
    assert [(c.class_id, c.class_name) for c in info.class_map] == [(0, "person")]


def malformed_images(start_index):
    """1,200 bad Image messages of every kind, in a fixed order (small pixels: the content is what's wrong)."""
    small = np.full((24, 32, 3), 128, np.uint8)
    rng = np.random.default_rng(3)
    last_valid_ns = (stamp_of(start_index - 1).stamp.sec * 10**9 + stamp_of(start_index - 1).stamp.nanosec)
    bad = []
    for n in range(1200):
        msg = raw_image(small, stamp_of(start_index + 1000 + n))  # newer than any valid frame
        kind = n % 10
        if kind == 0:
            msg.step = 32 * 3 - 1
        elif kind == 1:
            msg.data = msg.data[: len(msg.data) - 1 - int(rng.integers(0, 1000))]
        elif kind == 2:
            msg.data = bytes(msg.data) + b"\x00" * 7
        elif kind == 3:
            msg.encoding = ["bayer_rggb8", "32FC1", "", "bgr16", "jpeg"][n % 5]
        elif kind == 4:
            msg.data = b""
        elif kind == 5:
            msg.height, msg.width, msg.step, msg.data = 0, 0, 0, b""
        elif kind == 6:
            msg.height, msg.width, msg.step = 60000, 60000, 180000  # huge, with a tiny buffer
        elif kind == 7:
            msg.height, msg.width, msg.step = 24, 100000, 300000
        else:  # valid pixels with the last valid frame's stamp (repeated) or 50 ms before it (out of order)
            stamp_ns = last_valid_ns - (50_000_000 if kind == 8 else 0)
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 10**9)
        bad.append(msg)
    return bad


def test_fuzzed_images_are_skipped_and_tracking_continues(motion):
    probe, name = motion["probe"], motion["node"].name
    _, before = probe.wait_for_status(name, lambda v: int(v["total_processed"]) >= motion["next"], "diagnostics")
    for i, msg in enumerate(malformed_images(motion["next"])):
        motion["publisher"].publish(msg)
        if i % 200 == 199:
            # Reliable: every message reaches the node's queue (depth 1000) before more are sent.
            assert motion["publisher"].wait_for_all_acked(Duration(seconds=TIMEOUT))
    _, after = probe.wait_for_status(
        name, lambda v: int(v["total_rejected"]) - int(before["total_rejected"]) >= 1000,
        "the node to report rejecting >= 1000 malformed images")
    assert int(after["total_processed"]) == int(before["total_processed"]), "a malformed image was processed"
    results = send_frames(motion, 5)
    assert all(len(msg.detections) == 2 for _, msg in results), [len(m.detections) for _, m in results]
    output = motion["node"].output()
    skipped_logs = output.count("skipping image")
    # Throttled: one report per kind of problem (and period), not one per message.
    assert 5 <= skipped_logs <= 40, output[-3000:]
    for text in ("shorter than", "needs", "unsupported image encoding", "empty", "exceeds the limit",
                 "out-of-order stamp", "repeated stamp"):
        assert text in output, text


def test_motion_node_stops_cleanly_on_sigint(motion):
    assert_clean_sigint(motion["node"])


# -------------------------------------------------------------------------------------------- external node
def detection_array(header, boxes, classes, noise, score=0.9):
    """Detections of corner ``boxes`` with class names ``classes``, centres shifted by ``noise`` (N, 2)."""
    msg = Detection2DArray(header=header)
    for box, class_id, (dx, dy) in zip(boxes, classes, noise):
        detection = Detection2D(header=header)
        detection.bbox.center.position.x = float((box[0] + box[2]) / 2 + dx)
        detection.bbox.center.position.y = float((box[1] + box[3]) / 2 + dy)
        detection.bbox.size_x, detection.bbox.size_y = float(box[2] - box[0]), float(box[3] - box[1])
        result = ObjectHypothesisWithPose()
        result.hypothesis.class_id, result.hypothesis.score = class_id, score
        detection.results = [result]
        msg.detections.append(detection)
    return msg


@pytest.fixture(scope="module")
def paired(ros_env):
    namespace = f"/paired_{os.getpid()}"
    node = NodeProcess(ros_env, namespace, "-p", "detector.backend:=external", "-p", "image_transport:=compressed",
                       "-p", "qos.reliability:=reliable", "-p", "qos.depth:=1000")
    probe = Probe(namespace)
    tracks = probe.subscribe(Detection2DArray, f"{namespace}/tracks")
    probe.subscribe(DiagnosticArray, "/diagnostics")
    qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
    images = probe.node.create_publisher(CompressedImage, f"{namespace}/image/compressed", qos)
    detections = probe.node.create_publisher(Detection2DArray, f"{namespace}/detections", qos)
    probe.wait_until(lambda: (images.get_subscription_count() and detections.get_subscription_count())
                     or node.process.poll() is not None, what="the node's subscriptions")
    assert node.process.poll() is None, f"node exited:\n{node.output()}"
    probe.wait_until(lambda: tracks.get_publisher_count() > 0, what="the node's tracks publisher to match")
    state = {"node": node, "probe": probe, "images": images, "detections": detections,
             "topic": f"{namespace}/tracks", "next": 0}
    yield state
    node.stop()
    probe.close()


def send_pairs(paired, count):
    """Compressed image + detections per frame (alternating which comes first); returns tracks msgs."""
    rng = np.random.default_rng(paired["next"])
    out = []
    for _ in range(count):
        index = paired["next"] + WARMUP  # walkers from the first frame
        paired["next"] += 1
        bgr, truth = scene(index)
        header = stamp_of(index)
        image = CompressedImage(header=header, format="png", data=cv2.imencode(".png", bgr)[1].tobytes())
        detections = detection_array(header, truth, ["person", "robot"], rng.normal(0, 1.0, (len(truth), 2)))
        first, second = (image, detections) if index % 2 else (detections, image)
        (paired["images"] if first is image else paired["detections"]).publish(first)
        (paired["images"] if second is image else paired["detections"]).publish(second)
        out.append((truth, paired["probe"].wait_for_stamp(paired["topic"], header)))
    return out


def test_external_detections_are_paired_with_images_and_tracked(paired):
    results = send_pairs(paired, 20)
    settled = results[4:]
    ids = {tuple(d.id for d in msg.detections) for _, msg in settled}
    assert len(ids) == 1 and len(next(iter(ids))) == 2, ids
    for truth, msg in settled:
        assert msg.header.frame_id == "test_camera"
        names = {d.results[0].hypothesis.class_id for d in msg.detections}
        assert names == {"person", "robot"}  # class names of the other detector round-trip
        boxes = boxes_of(msg)
        assert all(max(iou(t, b) for b in boxes) > 0.8 for t in truth)


def test_fuzzed_detections_and_compressed_images_are_skipped(paired):
    """1,000 detection arrays with a bad row and 1,000 corrupt compressed images, a valid frame after every
    250 of each: the valid frames are tracked with the same ids throughout."""
    probe, name = paired["probe"], paired["node"].name
    rng = np.random.default_rng(11)
    ids_before = None
    sent = 0
    for block in range(4):
        index = paired["next"] + WARMUP
        last = stamp_of(index - 1).stamp
        if ids_before is None:
            ids_before = {d.id for d in probe.message_with_stamp(paired["topic"], stamp_of(index - 1)).detections}
        bgr, truth = scene(index)
        png = cv2.imencode(".png", bgr)[1].tobytes()
        for n in range(250):
            # Stamps between the last valid frame and the next one (microseconds apart).
            header = Header(frame_id="test_camera")
            header.stamp.sec, header.stamp.nanosec = last.sec, last.nanosec + (n + 1) * 1000
            detections = detection_array(header, truth, ["person", "robot"], np.zeros((2, 2)))
            box = detections.detections[n % 2].bbox
            if n % 3 == 0:
                box.size_x = float("nan")
            elif n % 3 == 1:
                box.size_y = -5.0
            else:
                box.center.position.x = float("inf")
            paired["detections"].publish(detections)
            corrupt = [b"", rng.bytes(300), png[: len(png) // 3], b"\x89PNG\r\n\x1a\n" + rng.bytes(50)][n % 4]
            paired["images"].publish(CompressedImage(header=header, format="png", data=corrupt))
            sent += 2
            if n % 125 == 124:
                assert paired["detections"].wait_for_all_acked(Duration(seconds=TIMEOUT))
                assert paired["images"].wait_for_all_acked(Duration(seconds=TIMEOUT))
        _, msg = send_pairs(paired, 1)[0]
        assert {d.id for d in msg.detections} == ids_before, (block, ids_before, msg.detections)
    assert sent == 2000
    # Each array loses its bad row only and pairs with its image; the worker rejects the corrupt image (or,
    # falling behind, drops it as stale).
    probe.wait_for_status(name, lambda v: int(v["total_dropped_detections"]) >= 1000
                          and int(v["total_rejected"]) + int(v["total_dropped"]) >= 1000,
                          "dropped bad rows and rejected corrupt images")
    output = paired["node"].output()
    assert "non-finite" in output and "non-positive size" in output
    assert output.count("dropping 1 bad detection(s)") <= 30  # throttled per kind of problem


def test_corrupt_compressed_images_are_skipped(paired):
    probe, name = paired["probe"], paired["node"].name
    _, before = probe.wait_for_status(name, lambda v: True, "diagnostics")
    for n in range(3):
        index = paired["next"] + WARMUP
        paired["next"] += 1
        header = stamp_of(index)
        _, truth = scene(index)
        paired["detections"].publish(detection_array(header, truth, ["person", "robot"], np.zeros((2, 2))))
        paired["images"].publish(CompressedImage(header=header, format="jpeg", data=b"\xff\xd8\xff" + bytes(100)))
    probe.wait_for_status(name, lambda v: int(v["total_rejected"]) >= int(before["total_rejected"]) + 1,
                          "a rejected corrupt image")
    assert "cannot be decoded" in paired["node"].output()
    assert all(len(msg.detections) == 2 for _, msg in send_pairs(paired, 2))


def test_detection_arrays_without_their_image_are_counted_and_reported(paired):
    probe, name = paired["probe"], paired["node"].name
    _, before = probe.wait_for_status(name, lambda v: True, "diagnostics")
    last = stamp_of(paired["next"] + WARMUP - 1).stamp
    _, truth = scene(paired["next"] + WARMUP)
    for n in range(40):  # sync.queue_size (30) waiting arrays at most: 10 give up on their image
        header = Header(frame_id="test_camera")
        # Between the last frame and the next one (microseconds apart), never imaged.
        header.stamp.sec, header.stamp.nanosec = last.sec, last.nanosec + (n + 1) * 1000
        paired["detections"].publish(detection_array(header, truth, ["person", "robot"], np.zeros((2, 2))))
    assert paired["detections"].wait_for_all_acked(Duration(seconds=TIMEOUT))
    probe.wait_for_status(name, lambda v: int(v["total_unpaired"]) >= int(before["total_unpaired"]) + 10,
                          "unpaired arrays counted")
    # The window that counted them says so (later windows may be quiet again).
    with probe.condition:
        messages = [s.message for array in probe.messages["/diagnostics"] for s in array.status
                    if s.hardware_id == name]
    assert any("never found their image" in message for message in messages), messages[-5:]
    assert all(len(msg.detections) == 2 for _, msg in send_pairs(paired, 2))


def test_time_jumping_back_starts_new_tracks(paired):
    probe = paired["probe"]
    _, last = send_pairs(paired, 1)[0]
    old_ids = {d.id for d in last.detections}
    paired["next"] = 0  # the "bag" starts again: stamps jump back by more than time_jump_reset_s
    with probe.condition:
        probe.messages[paired["topic"]].clear()  # the first run's results carry the same stamps
    results = send_pairs(paired, 5)
    assert "time jumped back" in paired["node"].output()
    new_ids = {d.id for d in results[-1][1].detections}
    assert len(new_ids) == 2 and not new_ids & old_ids, (old_ids, new_ids)
    assert all(len(msg.detections) == 0 for _, msg in results[:2])  # tentative until confirmed again


def test_paired_node_stops_cleanly_on_sigint(paired):
    assert_clean_sigint(paired["node"])
