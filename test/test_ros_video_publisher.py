"""video_publisher replays an image folder as sensor_msgs/Image, waits for its subscribers, exits with 0 at its end."""
import os
import subprocess
import threading
import time

import cv2
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from deepsort_ros.ros.video_publisher import VideoPublisher

RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)


def test_image_folder_is_published_in_order_with_stamps_and_frame_id(ros_env, tmp_path):
    rng = np.random.default_rng(5)
    frames = [rng.integers(0, 256, (12, 16, 3), dtype=np.uint8) for _ in range(6)]
    for i, frame in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"frame{i + 1}.png"), frame)  # natural order: frame2 before frame10
    topic = f"/video_publisher_test_{os.getpid()}/image"
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("video_probe", context=context)
    received = []
    node.create_subscription(Image, topic, received.append, RELIABLE)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        result = subprocess.run(
            ["video_publisher", str(tmp_path), "--ros-args", "-r", f"image:={topic}", "-p", "rate:=30.0",
             "-p", "frame_id:=test_cam", "-p", "wait_timeout_s:=30.0"],
            env=ros_env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        deadline = time.monotonic() + 10
        while len(received) < len(frames) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        executor.shutdown(timeout_sec=1)
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    assert len(received) == len(frames)
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in received]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    for msg, frame in zip(received, frames):
        assert (msg.header.frame_id, msg.encoding, msg.height, msg.width, msg.step) == ("test_cam", "bgr8", 12, 16, 48)
        np.testing.assert_array_equal(np.frombuffer(msg.data, np.uint8).reshape(12, 16, 3), frame)


def write_frames(folder, count=6):
    rng = np.random.default_rng(11)
    frames = [rng.integers(0, 256, (12, 16, 3), dtype=np.uint8) for _ in range(count)]
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:02d}.png"), frame)
    return frames


class InProcessGraph:
    """A VideoPublisher and a probe node in one ROS context, spun from the test's thread."""

    def __init__(self, folder, wait_for_subscribers, wait_timeout_s):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        namespace = f"video_publisher_wait_{os.getpid()}_{wait_for_subscribers}"
        self.publisher = VideoPublisher(str(folder), context=self.context, namespace=namespace, parameter_overrides=[
            Parameter("rate", value=30.0), Parameter("wait_for_subscribers", value=wait_for_subscribers),
            Parameter("wait_timeout_s", value=wait_timeout_s)])
        self.topic = f"/{namespace}/image"
        self.probe = rclpy.create_node("video_probe", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.publisher)
        self.executor.add_node(self.probe)

    def subscribe(self):
        received = []
        self.probe.create_subscription(Image, self.topic, received.append, RELIABLE)
        return received

    def spin(self, seconds, until=lambda: False):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not until():
            self.executor.spin_once(timeout_sec=0.02)

    def close(self):
        self.publisher.close()
        self.executor.shutdown(timeout_sec=1)
        self.publisher.destroy_node()
        self.probe.destroy_node()
        rclpy.try_shutdown(context=self.context)


def test_publishing_waits_until_every_expected_subscriber_is_matched(tmp_path):
    frames = write_frames(tmp_path)
    graph = InProcessGraph(tmp_path, wait_for_subscribers=2, wait_timeout_s=60.0)
    try:
        early = graph.subscribe()
        # Reliable QoS keeps unacknowledged frames for slow subscribers up to the history depth (qos.depth).
        assert graph.publisher.publisher.qos_profile.depth == 10
        graph.spin(20.0, until=lambda: graph.publisher.publisher.get_subscription_count() >= 1)
        graph.spin(1.0)
        # One of two subscribers: nothing is published yet (at 30 fps it would have sent the whole folder).
        assert graph.publisher.publisher.get_subscription_count() == 1 and graph.publisher.published == 0
        assert not graph.publisher.started and early == []
        late = graph.subscribe()
        graph.spin(20.0, until=lambda: graph.publisher.finished and len(early) == len(late) == len(frames))
    finally:
        graph.close()
    assert graph.publisher.published == len(frames)
    for received in (early, late):
        assert len(received) == len(frames)
        np.testing.assert_array_equal(np.frombuffer(received[0].data, np.uint8).reshape(12, 16, 3), frames[0])
    assert [m.header.stamp for m in early] == [m.header.stamp for m in late]


def test_publishing_starts_anyway_after_the_timeout(tmp_path):
    frames = write_frames(tmp_path)
    created = time.monotonic()  # the wait counts from the node's creation
    graph = InProcessGraph(tmp_path, wait_for_subscribers=3, wait_timeout_s=0.5)
    try:
        received = graph.subscribe()
        graph.spin(20.0, until=lambda: graph.publisher.started)
        waited = time.monotonic() - created
        graph.spin(20.0, until=lambda: graph.publisher.finished and len(received) == len(frames))
    finally:
        graph.close()
    assert 0.5 <= waited < 10.0
    assert graph.publisher.published == len(received) == len(frames)
