"""``video_publisher``: a video file, image folder, camera or bag as a sensor_msgs/Image stream.

Publishes bgr8 images on ``image`` (remap it as usual) at the source's rate or a given one, stamped
with the node clock and a configurable frame_id, optionally looping; without looping it exits with code
0 after the last frame. Frame 0 waits until ``wait_for_subscribers`` subscriptions are matched (at most
``wait_timeout_s``): subscribers started alongside, matched up to seconds apart, all get the first frames.
Used by the demo launch file, the demo and to replay recordings into the tracker node::

    video_publisher /path/to/video.mp4 --ros-args -p rate:=10.0 -p loop:=true -r image:=/camera/image_raw
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import rclpy
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.duration import Duration
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.utilities import remove_ros_args
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from deepsort_ros.ros.conversions import bgr_to_image
from deepsort_ros.sources import open_source

NODE_NAME = "video_publisher"
# (name, default, description, (low, high) for numbers); all read-only.
PARAMETERS = (
    ("source", "", "Video file, image folder, camera index or ROS 2 bag", None),
    ("rate", 0.0, "Frames per second to publish; 0 uses the source's rate (image folders: 30)", (0.0, 1000.0)),
    ("frame_id", "camera", "frame_id of the published images", None),
    ("loop", False, "Start again at the end instead of exiting", None),
    ("wait_for_subscribers", 1, "Subscriptions that must be matched before frame 0 is published (0: start at "
     "once), so every expected subscriber gets the first frames", (0, 1000)),
    ("wait_timeout_s", 10.0, "Seconds to wait for wait_for_subscribers subscriptions; then publishing starts "
     "anyway", (0.0, 3600.0)),
    ("qos.reliability", "reliable", "Publisher reliability: reliable (matches every subscriber) or best_effort",
     None),
    ("qos.depth", 10, "Frames the publisher keeps for subscribers that have not received them yet: with reliable "
     "QoS a subscriber falling up to this many frames behind still gets every frame", (1, 1000)),
)


class VideoPublisher(Node):
    """Publishes the frames of one source at a fixed rate.

    Parameters
    ----------
    source : str
        Default of the ``source`` parameter (the command line's positional argument).

    Raises
    ------
    ValueError, FileNotFoundError
        When no source is given or it cannot be opened.
    """

    def __init__(self, source: str = "", **node_kwargs: Any):
        super().__init__(NODE_NAME, **node_kwargs)
        try:
            self._set_up(source)
        except BaseException:
            # Release the rcl node while its context is alive (see TrackerNode.__init__).
            self.destroy_node()
            raise

    def _set_up(self, source: str) -> None:
        values = {}
        for name, default, description, value_range in PARAMETERS:
            descriptor = ParameterDescriptor(description=description, read_only=True)
            if isinstance(default, float):
                descriptor.floating_point_range = [FloatingPointRange(from_value=value_range[0],
                                                                      to_value=value_range[1])]
            elif isinstance(default, int) and not isinstance(default, bool):
                descriptor.integer_range = [IntegerRange(from_value=value_range[0], to_value=value_range[1], step=1)]
            values[name] = self.declare_parameter(name, source if name == "source" else default, descriptor).value
        self.source_spec, self.rate, self.frame_id = values["source"], values["rate"], values["frame_id"]
        self.loop, self.wait_for_subscribers = values["loop"], values["wait_for_subscribers"]
        self.wait_timeout_s = values["wait_timeout_s"]
        reliability = values["qos.reliability"]
        if reliability not in ("reliable", "best_effort"):
            raise ValueError(f"qos.reliability={reliability!r} is not one of 'reliable', 'best_effort'")
        if not self.source_spec:
            raise ValueError("no source: give a video file, image folder or camera index "
                             "(video_publisher SOURCE or -p source:=SOURCE)")
        self._source = open_source(self.source_spec, fps=self.rate or None)
        self._frames = iter(self._source)
        qos = QoSProfile(depth=values["qos.depth"], history=HistoryPolicy.KEEP_LAST,
                         durability=DurabilityPolicy.VOLATILE,
                         reliability=ReliabilityPolicy.RELIABLE if reliability == "reliable"
                         else ReliabilityPolicy.BEST_EFFORT)
        self.publisher = self.create_publisher(Image, "image", qos)
        self.published = 0
        self.finished = False
        # Set once the expected subscribers are matched (or the wait timed out); never cleared, so a
        # subscriber leaving later does not pause the stream.
        self.started = False
        self._created = time.monotonic()
        period = 1.0 / (self.rate or self._source.fps)
        self._timer = self.create_timer(period, self._publish_next)
        self.get_logger().info(f"publishing {self.source_spec} on {self.publisher.topic_name} at "
                               f"{1.0 / period:.2f} frames/s{' (looping)' if self.loop else ''}")

    def _next_frame(self):
        frame = next(self._frames, None)
        if frame is None and self.loop and self.published:
            self._source.close()
            self._source = open_source(self.source_spec, fps=self.rate or None)
            self._frames = iter(self._source)
            frame = next(self._frames, None)
        return frame

    def _ready_to_start(self) -> bool:
        """Whether the expected subscribers are matched or the wait is over; logs why publishing starts."""
        matched = self.publisher.get_subscription_count()
        if matched >= self.wait_for_subscribers:
            self.get_logger().info(f"{matched} subscription(s) matched: publishing")
        elif time.monotonic() - self._created >= self.wait_timeout_s:
            self.get_logger().warning(f"only {matched} of {self.wait_for_subscribers} expected subscription(s) "
                                      f"matched after {self.wait_timeout_s:g} s: publishing anyway")
        else:
            return False
        self.started = True
        return True

    def _publish_next(self) -> None:
        if self.finished or not (self.started or self._ready_to_start()):
            return
        frame = self._next_frame()
        if frame is None:
            self.finished = True
            self.get_logger().info(f"end of {self.source_spec} after {self.published} frames")
            return
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.frame_id)
        self.publisher.publish(bgr_to_image(frame.bgr, header))
        self.published += 1

    def close(self) -> None:
        """Release the source (file or camera)."""
        self._timer.cancel()
        self._source.close()


def main(args: list[str] | None = None) -> int:
    """Entry point of ``video_publisher``: 0 at the end of the source or on Ctrl-C, 1 when it cannot start."""
    argv = sys.argv if args is None else args
    parser = argparse.ArgumentParser(prog=NODE_NAME, description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", default="",
                        help="video file, image folder, camera index or ROS 2 bag (or -p source:=...)")
    cli = parser.parse_args(remove_ros_args(argv)[1:])
    try:
        rclpy.init(args=argv)
    except Exception as error:  # rcl rejects bad --ros-args
        print(f"{NODE_NAME}: cannot start: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    try:
        node = VideoPublisher(cli.source)
    except KeyboardInterrupt:
        rclpy.try_shutdown()
        return 0
    except (ValueError, OSError, ParameterException) as error:
        rclpy.logging.get_logger(NODE_NAME).fatal(f"cannot start: {' '.join(str(error).split())}")
        rclpy.try_shutdown()
        return 1
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while rclpy.ok() and not node.finished:
            executor.spin_once(timeout_sec=0.1)
        # Reliable subscribers still get the last frames before the node goes away.
        node.publisher.wait_for_all_acked(Duration(seconds=1.0))
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.close()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
