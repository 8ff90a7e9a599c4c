"""Two separate processes exchange sensor_msgs/Image and vision_msgs/Detection2DArray over real DDS."""
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
from sensor_msgs.msg import Image  # noqa: E402
from vision_msgs.msg import Detection2DArray  # noqa: E402

# The peer answers every image with one detection covering the whole image, so the reply proves that the
# image arrived intact (its size and a pixel value) and that Detection2DArray travels back.
PEER = textwrap.dedent(
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.node import Node
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

    class Peer(Node):
        def __init__(self):
            super().__init__("exchange_peer")
            self.publisher = self.create_publisher(Detection2DArray, "exchange/detections", 10)
            self.create_subscription(Image, "exchange/image", self.on_image, 10)

        def on_image(self, image):
            detection = Detection2D(header=image.header, id=str(image.data[0]))
            detection.bbox.center.position.x = image.width / 2.0
            detection.bbox.center.position.y = image.height / 2.0
            detection.bbox.size_x = float(image.width)
            detection.bbox.size_y = float(image.height)
            hypothesis = ObjectHypothesisWithPose()
            hypothesis.hypothesis.class_id = image.encoding
            hypothesis.hypothesis.score = 1.0
            detection.results.append(hypothesis)
            self.publisher.publish(Detection2DArray(header=image.header, detections=[detection]))

    rclpy.init()
    peer = Peer()
    try:
        rclpy.spin(peer)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        peer.destroy_node()
        rclpy.try_shutdown()
    """
)


def test_image_out_detections_back(ros_env):
    peer = subprocess.Popen([sys.executable, "-c", PEER], env=ros_env)
    rclpy.init()
    node = rclpy.create_node("exchange_test")
    received = []
    try:
        publisher = node.create_publisher(Image, "exchange/image", 10)
        node.create_subscription(Detection2DArray, "exchange/detections", received.append, 10)
        image = Image(height=48, width=64, encoding="bgr8", step=64 * 3)
        image.header.frame_id = "camera"
        image.data = np.full(48 * 64 * 3, 7, dtype=np.uint8).tobytes()

        deadline = time.monotonic() + 30.0
        while not received and time.monotonic() < deadline:
            assert peer.poll() is None, "peer process died"
            image.header.stamp.sec = int(time.monotonic())
            publisher.publish(image)
            rclpy.spin_once(node, timeout_sec=0.2)

        assert received, "no Detection2DArray came back from the peer process"
        reply = received[0]
        assert reply.header.frame_id == "camera"
        (detection,) = reply.detections
        assert detection.id == "7"
        assert (detection.bbox.size_x, detection.bbox.size_y) == (64.0, 48.0)
        assert (detection.bbox.center.position.x, detection.bbox.center.position.y) == (32.0, 24.0)
        assert detection.results[0].hypothesis.class_id == "bgr8"
    finally:
        node.destroy_node()
        rclpy.shutdown()
        peer.send_signal(signal.SIGINT)
        try:
            peer.wait(timeout=10)
        except subprocess.TimeoutExpired:
            # Teardown speed is not what this test checks; a peer stuck in DDS teardown must not linger.
            peer.kill()
            peer.wait()
