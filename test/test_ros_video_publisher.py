"""video_publisher replays an image folder as sensor_msgs/Image and exits with 0 at its end."""
import os
import subprocess
import threading
import time

import cv2
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image


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
    node.create_subscription(Image, topic, received.append, QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        result = subprocess.run(
            ["video_publisher", str(tmp_path), "--ros-args", "-r", f"image:={topic}", "-p", "rate:=30.0",
             "-p", "frame_id:=test_cam", "-p", "wait_for_subscribers:=30.0"],
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
