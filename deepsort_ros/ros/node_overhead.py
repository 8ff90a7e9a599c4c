"""Benchmark: what tracker_node costs per frame beyond model inference, and node FPS against model FPS.

Runs the node's own per-frame code in-process on synthetic 640x480 frames with a chosen number of
people, fed as another detector's detections with the weight-free histogram appearance (so each array is
paired with its image, as with any appearance) so every frame has exactly that many tracks and no network
runs: the image and detections callbacks, the hand-over to the worker and the worker's processing, in the
caller's thread (``TrackerNode.run_in_caller``). Reported per stage (ms per frame):

- receive: deserialising the sensor_msgs/Image the node gets from DDS;
- detections: the callbacks: reading the serialised vision_msgs/Detection2DArray, stamp checks, pairing
  it with its image and the hand-over to the worker;
- convert: Image to BGR array; detect: checking the detections (the model, when there is one, is excluded);
  the appearance model (here the histogram embedder; a ReID network elsewhere) is excluded too, and reported
  on its own line;
- track: the DeepSORT update; publish: building and publishing the tracks Detection2DArray;
- annotate: updating the annotator's trails; drawing and publishing tracks/image as well while someone
  subscribes (reported on its own line, ``annotate (viewer)``);
- other: the rest of the node's per-frame code (parameter snapshot, labels, bookkeeping).

``total`` is the wall time of all of it per frame (so the stages add up to it), and ``+ crops`` adds the
batched 256x128 ReID crops the torch/onnx embedders cut (their network excluded).

With ``--model`` (an ultralytics model file) it also times the detector alone and the whole node path
on the same frames and prints node FPS / model FPS.

Usage::

    python -m deepsort_ros.ros.node_overhead [--tracks 20] [--frames 300]
                                             [--model yolo11n.pt --device cpu]
"""
from __future__ import annotations

import argparse
import sys
import time

import cv2
import numpy as np
import rclpy
from rclpy.parameter import Parameter
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from deepsort_ros.perception.crops import CropSampler
from deepsort_ros.ros.conversions import bgr_to_image
from deepsort_ros.ros.dds import isolate_dds
from deepsort_ros.ros.node import TrackerNode

WIDTH, HEIGHT = 640, 480


class Walkers:
    """``count`` coloured people-sized boxes walking back and forth over a noisy background."""

    def __init__(self, count: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.background = cv2.GaussianBlur(rng.integers(40, 220, (HEIGHT, WIDTH, 3), dtype=np.uint8), (0, 0), 2)
        self.size = np.array([24.0, 60.0])
        self.start = rng.uniform([0, 0], [WIDTH - 24, HEIGHT - 60], (count, 2))
        self.velocity = rng.uniform(-3, 3, (count, 2))
        self.colours = rng.integers(0, 256, (count, 3)).tolist()

    def frame(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """BGR frame and (count, 4) boxes of frame ``index``."""
        span = np.array([WIDTH, HEIGHT]) - self.size
        # Triangle wave: walk to the border and back.
        position = np.abs((self.start + self.velocity * index) % (2 * span) - span)
        boxes = np.concatenate([position, position + self.size], axis=1)
        image = self.background.copy()
        for (x1, y1, x2, y2), colour in zip(boxes.astype(int).tolist(), self.colours):
            cv2.rectangle(image, (x1, y1), (x2, y2), colour, cv2.FILLED)
        return image, boxes


def detection_array(header: Header, boxes: np.ndarray) -> Detection2DArray:
    msg = Detection2DArray(header=header)
    for x1, y1, x2, y2 in boxes.tolist():
        detection = Detection2D(header=header)
        detection.bbox.center.position.x, detection.bbox.center.position.y = (x1 + x2) / 2, (y1 + y2) / 2
        detection.bbox.size_x, detection.bbox.size_y = x2 - x1, y2 - y1
        result = ObjectHypothesisWithPose()
        result.hypothesis.class_id, result.hypothesis.score = "person", 0.9
        detection.results = [result]
        msg.detections.append(detection)
    return msg


def make_node(overrides: dict) -> TrackerNode:
    """A node whose frames the caller processes itself, in its own thread and timing."""
    node = TrackerNode(parameter_overrides=[Parameter(name, value=value) for name, value in overrides.items()])
    node.run_in_caller()
    return node


def run_frames(node: TrackerNode, walkers: Walkers, first: int, count: int) -> dict[str, float]:
    """Feed ``count`` frames through the node's callbacks, hand-over and worker code.

    Returns mean ms per stage (see the module docstring), ``total`` (mean ms of all of the node's code per
    frame but the appearance model; frame synthesis and the senders' serialisation excluded) and ``node_s``
    (the sum in s of all of the node's code, the appearance model included).
    """
    receive_s = detections_s = node_s = 0.0
    node.stats.take_window()
    for index in range(first, first + count):
        bgr, boxes = walkers.frame(index)
        header = Header(frame_id="camera")
        header.stamp.sec, header.stamp.nanosec = divmod(1_000_000_000 + index * 33_333_333, 1_000_000_000)
        wire = serialize_message(bgr_to_image(bgr, header))
        wire_detections = serialize_message(detection_array(header, boxes)) if node.pipeline.external else None
        start = time.perf_counter()
        image = deserialize_message(wire, Image)  # what rclpy's executor does before the callback
        received = time.perf_counter()
        node.on_image(image)
        if wire_detections is not None:
            node.on_detections(wire_detections)  # the raw subscription hands over the bytes
        handed_over = time.perf_counter()
        if not node.process_waiting():
            raise RuntimeError(f"frame {index} was not handed over (see the node's log)")
        done = time.perf_counter()
        receive_s += received - start
        detections_s += handed_over - received
        node_s += done - start
    window = node.stats.take_window()
    stages = dict(window.stage_ms)
    stages.update(receive=receive_s * 1e3 / count, detections=detections_s * 1e3 / count)
    total = node_s * 1e3 / count - stages["embed"]
    stages.update(other=total - sum(ms for stage, ms in stages.items() if stage != "embed"), total=total,
                  node_s=node_s, tracks=window.active_tracks, processed=window.processed)
    return stages


def crops_ms(walkers: Walkers, frames: int) -> float:
    """Mean ms of the CPU crop sampler (256x128 crops, as the torch/onnx embedders cut them) per frame."""
    sampler = CropSampler(256, 128)
    images = [walkers.frame(i) for i in range(frames)]
    start = time.perf_counter()
    for bgr, boxes in images:
        sampler(bgr, boxes)
    return (time.perf_counter() - start) * 1e3 / frames


OVERHEAD_STAGES = ("receive", "detections", "convert", "detect", "track", "publish", "annotate", "other")


def overhead_report(args) -> None:
    walkers = Walkers(args.tracks)
    node = make_node({"detector.backend": "external", "reid.backend": "histogram", "publish_annotated": True})
    run_frames(node, walkers, 0, 20)  # tracks confirmed, caches warm
    plain = run_frames(node, walkers, 20, args.frames)
    viewer = node.create_subscription(Image, "tracks/image", lambda msg: None, 1)
    annotated = run_frames(node, walkers, 20 + args.frames, args.frames)
    node.destroy_subscription(viewer)
    crops = crops_ms(walkers, min(args.frames, 100))
    node.destroy_node()
    print(f"node overhead per {WIDTH}x{HEIGHT} frame with {plain['tracks']} tracks "
          f"(mean of {plain['processed']} frames, ms):")
    for stage in OVERHEAD_STAGES:
        print(f"  {stage:<11} {plain[stage]:7.3f}")
    print(f"  {'total':<11} {plain['total']:7.3f}   (all of the node's code per frame; model inference excluded)")
    print(f"  {'histogram':<11} {plain['embed']:7.3f}   (the weight-free appearance model, not in total)")
    print(f"  {'crops':<11} {crops:7.3f}   (torch/onnx ReID pre-processing, {args.tracks} crops 256x128)")
    print(f"  {'+ crops':<11} {plain['total'] + crops:7.3f}   (target <= 3 ms)")
    print(f"annotate (viewer) {annotated['annotate']:7.3f}   (drawing and publishing tracks/image, only while "
          f"it has a subscriber)")


def model_report(args) -> None:
    walkers = Walkers(args.tracks)
    node = make_node({"detector.backend": "ultralytics", "detector.model": args.model, "detector.device": args.device,
                      "reid.backend": args.reid})
    detector = node.pipeline.detector
    for index in range(5):
        detector.detect([walkers.frame(index)[0]])
    # Model alone and whole node alternate in chunks, so a busy machine slows both alike.
    model_s = node_s = 0.0
    chunk = 10
    for first in range(0, args.frames, chunk):
        frames = [walkers.frame(i)[0] for i in range(first, first + chunk)]
        start = time.perf_counter()
        for bgr in frames:
            detector.detect([bgr])
        model_s += time.perf_counter() - start
        node_s += run_frames(node, walkers, first, chunk)["node_s"]
    node.destroy_node()
    frame_count = len(range(0, args.frames, chunk)) * chunk
    model_fps, node_fps = frame_count / model_s, frame_count / node_s
    print(f"model {args.model} on {node.device}: model alone {model_fps:.1f} FPS, node (receive + convert + "
          f"detect + {args.reid} ReID + track + publish) {node_fps:.1f} FPS = {node_fps / model_fps:.2f} x model "
          f"(target >= 0.9)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deepsort_ros.ros.node_overhead",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=20, help="people per frame (default 20)")
    parser.add_argument("--frames", type=int, default=300, help="frames per measurement (default 300)")
    parser.add_argument("--model", help="ultralytics model file: also compare node FPS with model FPS")
    parser.add_argument("--device", default="cpu", help="device for --model (default cpu)")
    parser.add_argument("--reid", default="none", choices=("none", "histogram"),
                        help="appearance backend for the --model run (default none)")
    args = parser.parse_args(argv)
    isolate_dds()  # the node is created for real
    rclpy.init(args=[])
    try:
        overhead_report(args)
        if args.model:
            model_report(args)
    finally:
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
