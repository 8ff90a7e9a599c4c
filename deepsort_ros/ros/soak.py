"""Soak benchmark: a long run of synthetic people through a real ``tracker_node`` process.

A crowd of 20 to 50 people enters and leaves a 1280x720 view (the number swings between the two every 6,000
frames, and everyone who leaves is gone for good). Their boxes go to the node as another
detector's ``vision_msgs/Detection2DArray`` (``detector.backend: external``, no appearance), so the run
measures the node itself: DDS in and out, the codec, the tracker, the bookkeeping, for as many frames as
asked, without spending the machine's time on rendering and detecting images. Frames are sent one at a
time, each after the node's tracks for the previous one arrived (lock step), stamped at 30 Hz, so nothing is
dropped and the latency of every frame is known.

Reported per window of frames (default 10,000): latency from publishing the detections to receiving the
tracks (median, 99th percentile, maximum), the node's resident memory (``VmRSS`` of its process), tracks per
frame and track ids so far. At the end: memory growth after the warm-up (largest resident size after it
minus the size at its end), and whether a track id was ever reused, i.e. came back after being absent
longer than the tracker keeps unmatched tracks (``max_age_s``; a reused id would have to be a new track
under an old number), or appeared twice in one frame.

Usage::

    python -m deepsort_ros.ros.soak [--frames 100000] [--window 10000] [--warmup 10000] [--json soak.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from vision_msgs.msg import Detection2DArray

from deepsort_ros.core import TrackerConfig
from deepsort_ros.detection_codec import DetectionArray, decode_detection_array, encode_tracks
from deepsort_ros.perception import tracker_preset
from deepsort_ros.ros.demo import ChildProcesses, entry_point, wait_until
from deepsort_ros.ros.dds import isolate_dds

WIDTH, HEIGHT = 1280, 720
FPS = 30.0
FIRST_STAMP_NS = 1_000_000_000
NODE_READY_TIMEOUT_S = 60.0
# A frame whose tracks have not come back by then is counted as lost and the run goes on.
REPLY_TIMEOUT_S = 10.0
# Slack on max_age_s before an id that comes back counts as reused (stamps are exact, so one frame would do).
REUSE_SLACK_S = 0.5
# Empty frames that make sure both directions are matched: stamped this far apart before frame 0, one
# every HANDSHAKE_WAIT_S until the node answers.
HANDSHAKE_STAMP_STEP_NS = 1_000_000
HANDSHAKE_WAIT_S = 0.5
# Frames between samples of the node's resident memory after the warm-up.
RSS_SAMPLE_FRAMES = 1000


class Crowd:
    """People stepping into view anywhere (from behind something), walking left or right at their own speed
    until they leave the view.

    The target population swings between ``min_people`` and ``max_people`` (a sine over ``period``
    frames); a person enters whenever fewer are in view, so people enter and leave throughout the run.
    Every person has an id of their own, never given again.

    Parameters
    ----------
    min_people, max_people : int
        Bounds of the number of people in view.
    period : int
        Frames of one swing of the target population.
    seed : int
        Seed of the random entries, speeds and detection noise.
    """

    def __init__(self, min_people: int = 20, max_people: int = 50, period: int = 6000, seed: int = 0):
        if not 0 < min_people <= max_people:
            raise ValueError(f"need 0 < min_people <= max_people, got {min_people} and {max_people}")
        self.min_people, self.max_people, self.period = min_people, max_people, period
        self.rng = np.random.default_rng(seed)
        self.ids = np.zeros(0, dtype=np.int64)
        self.positions = np.zeros((0, 2))  # top-left corner
        self.velocities = np.zeros((0, 2))
        self.sizes = np.zeros((0, 2))
        self.entered = 0

    def target(self, frame: int) -> int:
        """How many people should be in view at ``frame``."""
        middle = (self.min_people + self.max_people) / 2
        swing = (self.max_people - self.min_people) / 2
        return int(round(middle + swing * np.sin(2 * np.pi * frame / self.period)))

    def _enter(self, count: int) -> None:
        heights = self.rng.uniform(90, 220, count)
        sizes = np.column_stack([heights * 0.4, heights])
        x = self.rng.uniform(0, WIDTH - sizes[:, 0])
        y = self.rng.uniform(0, HEIGHT - sizes[:, 1])
        speed = self.rng.uniform(1.5, 6.0, count) * self.rng.choice([-1.0, 1.0], count)
        velocities = np.column_stack([speed, self.rng.normal(0, 0.3, count)])
        self.ids = np.concatenate([self.ids, self.entered + 1 + np.arange(count)])
        self.positions = np.concatenate([self.positions, np.column_stack([x, y])])
        self.velocities = np.concatenate([self.velocities, velocities])
        self.sizes = np.concatenate([self.sizes, sizes])
        self.entered += count

    def step(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """Move everyone one frame, let people leave and enter; return (ids, visible xyxy boxes)."""
        self.positions += self.velocities
        inside = ((self.positions[:, 0] + self.sizes[:, 0] > 0) & (self.positions[:, 0] < WIDTH)
                  & (self.positions[:, 1] + self.sizes[:, 1] > 0) & (self.positions[:, 1] < HEIGHT))
        # People leave when they walk out of view, and while the crowd must shrink the one longest in view
        # also leaves (behind something), one per frame at most (faster than the target ever falls).
        keep = inside
        if int(keep.sum()) > self.target(frame):
            keep[np.argmax(keep)] = False
        self.ids, self.positions = self.ids[keep], self.positions[keep]
        self.velocities, self.sizes = self.velocities[keep], self.sizes[keep]
        missing = self.target(frame) - len(self.ids)
        if missing > 0:
            self._enter(missing)
        boxes = np.concatenate([self.positions, self.positions + self.sizes], axis=1)
        return self.ids.copy(), np.clip(boxes, 0, [WIDTH, HEIGHT, WIDTH, HEIGHT])

    def detections(self, frame: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(person ids, noisy xyxy boxes at least 4 px wide, scores) of ``frame``, as a detector reports them."""
        ids, boxes = self.step(frame)
        boxes = boxes + self.rng.normal(0, 1.5, boxes.shape)
        visible = (boxes[:, 2] - boxes[:, 0] >= 4) & (boxes[:, 3] - boxes[:, 1] >= 4)
        scores = self.rng.uniform(0.5, 1.0, int(visible.sum()))
        return ids[visible], boxes[visible], scores


class IdLedger:
    """Checks that track ids are never reused: no id twice in a frame, none back after it must have died.

    Parameters
    ----------
    max_absence_s : float
        The longest an id may be absent and still be the same track (the tracker's ``max_age_s`` plus slack).
    """

    def __init__(self, max_absence_s: float):
        self.max_absence_s = max_absence_s
        self.last_seen_s: dict[int, float] = {}
        self.reused: list[tuple[int, float, float]] = []  # (id, last seen, seen again)
        self.duplicates = 0

    def add(self, stamp_s: float, ids: np.ndarray) -> None:
        """The track ids published for the frame stamped ``stamp_s`` (frames in stamp order)."""
        values = np.asarray(ids, dtype=np.int64).tolist()
        self.duplicates += len(values) - len(set(values))
        for track_id in values:
            last = self.last_seen_s.get(track_id)
            if last is not None and stamp_s - last > self.max_absence_s:
                self.reused.append((track_id, last, stamp_s))
            self.last_seen_s[track_id] = stamp_s

    @property
    def count(self) -> int:
        return len(self.last_seen_s)


def resident_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (``VmRSS``; Linux)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class SoakDriver(Node):
    """Publishes detections and waits for the node's tracks of each frame."""

    def __init__(self):
        super().__init__("soak_driver")
        # Reliable both ways: in lock step a lost message would only cost a timeout, but none should be lost.
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.publisher = self.create_publisher(Detection2DArray, "detections", qos)
        self.create_subscription(Detection2DArray, "tracks", self._on_tracks, qos, raw=True)
        self._replies: dict[int, tuple[float, DetectionArray]] = {}
        self._arrived = threading.Condition()

    def _on_tracks(self, data: bytes) -> None:
        received = time.perf_counter()
        tracks = decode_detection_array(data)
        with self._arrived:
            self._replies[tracks.stamp_ns] = (received, tracks)
            self._arrived.notify_all()

    def handshake(self, timeout_s: float, check) -> None:
        """Send empty frames until the node answers one, so both directions are matched before frame 0.

        Seeing the node's endpoints in the graph does not mean the node has matched this driver's yet, and a
        reliable message sent before that is never delivered. The empty frames are stamped before frame 0.
        """
        deadline = time.monotonic() + timeout_s
        for probe in range(1, FIRST_STAMP_NS // HANDSHAKE_STAMP_STEP_NS):
            stamp_ns = probe * HANDSHAKE_STAMP_STEP_NS
            self.publisher.publish(encode_tracks(0, stamp_ns, "camera", [], np.zeros((0, 4)), [], []))
            if self.reply(stamp_ns, HANDSHAKE_WAIT_S) is not None:
                return
            check()
            if time.monotonic() > deadline:
                break
        raise TimeoutError(f"tracker_node did not answer within {timeout_s:.0f} s")

    def reply(self, stamp_ns: int, timeout_s: float) -> tuple[float, DetectionArray] | None:
        """(arrival time, tracks) of the frame stamped ``stamp_ns``, or None after ``timeout_s``."""
        with self._arrived:
            self._arrived.wait_for(lambda: stamp_ns in self._replies, timeout=timeout_s)
            reply = self._replies.pop(stamp_ns, None)
            self._replies.clear()  # a reply that came after its timeout
            return reply


def tracker_command() -> list[str]:
    """tracker_node in tracker-only mode on the driver's detections, reliable input."""
    return [entry_point("tracker_node"), "--ros-args", "-p", "detector.backend:=external", "-p", "reid.backend:=none",
            "-p", "qos.reliability:=reliable", "-p", "publish_annotated:=false"]


def window_report(window: int, latencies_ms: list[float], rss_mb: float, tracks: list[int], ids: int
                  ) -> dict[str, Any]:
    latency = np.array(latencies_ms) if latencies_ms else np.full(1, np.nan)
    return {"window": window, "frames": len(latencies_ms),
            "latency_p50_ms": round(float(np.percentile(latency, 50)), 3),
            "latency_p99_ms": round(float(np.percentile(latency, 99)), 3),
            "latency_max_ms": round(float(latency.max()), 3), "rss_mb": round(rss_mb, 1),
            "tracks_per_frame": round(float(np.mean(tracks)), 1) if tracks else 0.0, "track_ids": ids}


def run_soak(frames: int, window: int, warmup: int, min_people: int, max_people: int, log_dir: Path,
             progress=print) -> dict[str, Any]:
    """Run the soak and return its summary (see the module docstring); ``progress`` gets one line per window."""
    config = TrackerConfig.from_dict(tracker_preset("external", "none"))
    ledger = IdLedger(config.max_age_s + REUSE_SLACK_S)
    crowd = Crowd(min_people, max_people)
    children = ChildProcesses(log_dir)
    rclpy.init()
    driver = SoakDriver()
    executor = SingleThreadedExecutor()
    executor.add_node(driver)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    windows, lost, people_range = [], 0, [max_people, 0]
    warmup_rss = peak_rss_after_warmup = None
    started = time.monotonic()
    try:
        node = children.start("tracker_node", tracker_command())
        node_alive = lambda: children.check_alive("tracker_node")  # noqa: E731
        wait_until(lambda: driver.count_subscribers("detections") > 0 and driver.count_publishers("tracks") > 0,
                   NODE_READY_TIMEOUT_S, "tracker_node to come up", check=node_alive)
        driver.handshake(NODE_READY_TIMEOUT_S, check=node_alive)
        latencies, tracks = [], []
        for frame in range(frames):
            person_ids, boxes, scores = crowd.detections(frame)
            people_range = [min(people_range[0], len(crowd.ids)), max(people_range[1], len(crowd.ids))]
            stamp_ns = FIRST_STAMP_NS + round(frame * 1e9 / FPS)
            data = encode_tracks(stamp_ns // 1_000_000_000, stamp_ns % 1_000_000_000, "camera", person_ids, boxes,
                                 scores, ["person"] * len(person_ids))
            sent = time.perf_counter()
            driver.publisher.publish(data)
            reply = driver.reply(stamp_ns, REPLY_TIMEOUT_S)
            if reply is None:
                node_alive()
                lost += 1
            else:
                received, reply_tracks = reply
                latencies.append((received - sent) * 1e3)
                ids = reply_tracks.track_ids()
                tracks.append(len(ids))
                ledger.add(stamp_ns * 1e-9, ids)
            done = frame + 1
            if done == warmup:
                warmup_rss = resident_mb(node.pid)
            elif done > warmup and (done % RSS_SAMPLE_FRAMES == 0 or done == frames):
                peak_rss_after_warmup = max(peak_rss_after_warmup or 0.0, resident_mb(node.pid))
            if done % window == 0 or done == frames:
                windows.append(window_report(len(windows) + 1, latencies, resident_mb(node.pid), tracks,
                                             ledger.count))
                progress(" ".join(f"{key} {value}" for key, value in windows[-1].items()))
                latencies, tracks = [], []
    finally:
        exit_codes = children.stop_all()
        executor.shutdown(timeout_sec=5.0)
        driver.destroy_node()
        rclpy.try_shutdown()
        spinner.join(timeout=5.0)
    answered = sum(w["frames"] for w in windows)
    return {
        "frames": frames, "frames_answered": answered, "frames_lost": lost,
        "people_in_view_min": people_range[0], "people_in_view_max": people_range[1],
        "people_entered": crowd.entered, "track_ids": ledger.count,
        "ids_reused": len(ledger.reused), "ids_reused_examples": ledger.reused[:5],
        "ids_duplicated_in_a_frame": ledger.duplicates,
        "warmup_frames": warmup, "rss_after_warmup_mb": None if warmup_rss is None else round(warmup_rss, 1),
        "rss_growth_after_warmup_mb": (None if peak_rss_after_warmup is None
                                       else round(peak_rss_after_warmup - warmup_rss, 1)),
        "latency_p99_ms_per_window": [w["latency_p99_ms"] for w in windows],
        "windows": windows, "wall_s": round(time.monotonic() - started, 1), "node_exit_code": exit_codes["tracker_node"],
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deepsort_ros.ros.soak", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--frames", type=int, default=100_000, help="frames to send")
    parser.add_argument("--window", type=int, default=10_000, help="frames per reported window")
    parser.add_argument("--warmup", type=int, default=10_000, help="frames before memory growth is counted")
    parser.add_argument("--min-people", type=int, default=20, help="fewest people in view")
    parser.add_argument("--max-people", type=int, default=50, help="most people in view")
    parser.add_argument("--json", type=Path, help="also write the summary to this file")
    parser.add_argument("--log-dir", type=Path, default=Path("out/soak"), help="where tracker_node's log goes")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if min(args.frames, args.window, args.warmup) < 1 or args.warmup >= args.frames:
        print("soak: --frames, --window and --warmup must be positive, --warmup below --frames", file=sys.stderr)
        return 2
    isolate_dds()
    try:
        summary = run_soak(args.frames, args.window, args.warmup, args.min_people, args.max_people, args.log_dir)
    except (RuntimeError, TimeoutError, ValueError, FileNotFoundError) as error:
        print(f"soak: error: {error}", file=sys.stderr)
        return 1
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"soak: {summary['frames_answered']} of {summary['frames']} frames answered ({summary['frames_lost']} lost), "
          f"{summary['people_in_view_min']}-{summary['people_in_view_max']} people in view, "
          f"{summary['people_entered']} entered, {summary['track_ids']} track ids, {summary['ids_reused']} reused, "
          f"{summary['ids_duplicated_in_a_frame']} duplicated; node memory {summary['rss_after_warmup_mb']} MB after "
          f"{summary['warmup_frames']} frames, growth after {summary['rss_growth_after_warmup_mb']} MB; latency p99 per "
          f"window {summary['latency_p99_ms_per_window']} ms; {summary['wall_s']} s")
    return 0 if summary["frames_lost"] == 0 and summary["ids_reused"] == 0 and not summary[
        "ids_duplicated_in_a_frame"] else 1


if __name__ == "__main__":
    sys.exit(main())
