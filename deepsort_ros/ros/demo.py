"""``make demo``: the real ROS 2 graph tracking people in PETS09-S2L1, recorded to ``out/demo/``.

Starts ``video_publisher`` on ``vtest.avi`` (Debian's opencv-doc) and ``tracker_node`` with the weight-free
defaults (motion detector + colour-histogram appearance; ``--model PATH`` uses an ultralytics detector) as
separate processes, the way ``launch/demo.launch.py`` does, and records what the node publishes with a node
in this process:

- ``tracks.txt``: MOTChallenge rows, one per published track per frame;
- ``annotated.mp4``: the node's ``tracks/image``;
- ``summary.json``: frames in, frames processed, dropped, tracks, mean / 95th-percentile latency.

Latency is the age of the results when they arrive here: reception time minus the image stamp, which
``video_publisher`` sets to the time it publishes the frame (one clock on one machine). video_publisher
waits until both the node and the recorder subscribe to its images, so the recorder sees every frame, the
ones the node drops included. Images carry no frame number, so frame numbers are the ranks of the image
stamps (merged with the stamps of the node's results, so a result whose image the recorder lost still gets
its place); frame counts also come from the node's own counters on ``/diagnostics``.

Fast DDS moves same-machine data through shared memory in a 0.5 MB segment by default; full-size images
overflow it and reliable delivery then stalls for up to a second. The demo points every process it starts
at ``config/fastdds_localhost.xml`` (a 32 MB segment, UDP on loopback only), unless
``FASTDDS_DEFAULT_PROFILES_FILE`` is already set.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from deepsort_ros.detection_codec import decode_detection_array
from deepsort_ros.image_codec import raw_image_to_bgr
from deepsort_ros.ros.conversions import stamp_to_ns
from deepsort_ros.ros.dds import isolate_dds
from deepsort_ros.tools.track import AnnotatedVideo, MotResultsFile

DEFAULT_VIDEO = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
DEFAULT_OUT = Path("out/demo")
CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
PARAMS_FILE = CONFIG_DIR / "tracker.yaml"
FASTDDS_PROFILE = CONFIG_DIR / "fastdds_localhost.xml"
# As in launch/demo.launch.py.
IMAGE_TOPIC = "camera/image_raw"
# tracker_node and the recorder: video_publisher starts once both are matched, so neither misses frame 0.
IMAGE_SUBSCRIBERS = 2
NODE_READY_TIMEOUT_S = 60.0
# tracker_node's image queue and video_publisher's history (qos.depth of both), as in launch/demo.launch.py:
# two seconds of a 15 Hz video, so a node or recorder that is briefly starved of CPU still receives every frame
# (the node drops the stale ones itself, counted).
INPUT_QUEUE_DEPTH = 30
# After the last image, results must have stopped for this long before the node is stopped.
DRAIN_IDLE_S = 1.5
STOP_GRACE_S = 5.0


def use_large_image_transport() -> None:
    """Point this process and its children at :data:`FASTDDS_PROFILE` (a user's own profile wins)."""
    if "FASTDDS_DEFAULT_PROFILES_FILE" in os.environ:
        return
    if not FASTDDS_PROFILE.is_file():
        raise FileNotFoundError(f"Fast DDS profile {FASTDDS_PROFILE} not found (it ships with the package's "
                                f"config folder)")
    os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(FASTDDS_PROFILE)


class DemoRecording:
    """What the demo saw, without ROS: image stamps, the node's results, its annotated frames and counters.

    Parameters
    ----------
    out_dir : Path
        Where ``tracks.txt``, ``annotated.mp4`` and ``summary.json`` are written.
    fps : float
        Rate of the annotated video.
    """

    def __init__(self, out_dir: Path, fps: float):
        self.out_dir = out_dir
        self.video = AnnotatedVideo(out_dir / "annotated.mp4", fps)
        self._lock = threading.Lock()
        self._image_stamps: set[int] = set()
        self._results: dict[int, tuple[int, np.ndarray, np.ndarray, np.ndarray]] = {}
        self.node_totals: dict[str, int] = {}
        self.last_result_monotonic = time.monotonic()

    @property
    def frames_processed(self) -> int:
        return len(self._results)

    def add_image(self, stamp_ns: int) -> None:
        """An image stamped ``stamp_ns`` was published (stamps are unique and grow with each frame)."""
        with self._lock:
            self._image_stamps.add(stamp_ns)

    def add_tracks(self, stamp_ns: int, received_ns: int, ids: np.ndarray, boxes_xyxy: np.ndarray,
                   scores: np.ndarray) -> None:
        """The node's tracks for the image stamped ``stamp_ns`` arrived at ``received_ns``."""
        with self._lock:
            self._results[stamp_ns] = (received_ns, np.asarray(ids, np.int64), np.asarray(boxes_xyxy, np.float64),
                                       np.asarray(scores, np.float64))
            self.last_result_monotonic = time.monotonic()

    def add_annotated(self, bgr: np.ndarray) -> None:
        with self._lock:
            self.video.write(bgr)

    def set_node_totals(self, totals: dict[str, int]) -> None:
        """The node's latest cumulative counters (``total_received``, ``total_dropped``, ... from diagnostics)."""
        with self._lock:
            self.node_totals = dict(totals)

    def _ordered(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Result stamps in order, their frame numbers (ranks among all stamps seen) and the frames seen."""
        every_stamp = np.array(sorted(self._image_stamps.union(self._results)), dtype=np.int64)
        stamps = np.array(sorted(self._results), dtype=np.int64)
        return stamps, np.searchsorted(every_stamp, stamps) + 1, len(every_stamp)

    def summary(self, frames_published: int | None) -> dict[str, Any]:
        """Counts, latency and track statistics.

        ``frames_published`` is what video_publisher sent; None when it did not finish, and then the
        node's received count stands in.
        """
        with self._lock:
            stamps, _, frames_seen = self._ordered()
            results = [self._results[s] for s in stamps.tolist()]
            latencies_ms = np.array([(received - stamp) * 1e-6 for stamp, (received, *_) in zip(stamps.tolist(),
                                                                                                   results)])
            ids = np.concatenate([r[1] for r in results]) if results else np.zeros(0, np.int64)
            _, rows_per_id = np.unique(ids, return_counts=True)
            processed = len(stamps)
            if frames_published is None:
                # The node's counters arrive once a second; frames seen here may be more recent.
                frames_published = max(self.node_totals.get("total_received", 0), frames_seen)
            return {
                "frames_published": frames_published,
                "frames_in": self.node_totals.get("total_received", frames_published),
                "frames_processed": processed,
                "frames_dropped": frames_published - processed,
                # Equal to frames_published when every frame could be numbered.
                "frames_seen": frames_seen,
                "tracks": int(len(rows_per_id)),
                "track_rows": int(len(ids)),
                "mean_track_length_frames": round(float(rows_per_id.mean()), 1) if len(ids) else 0.0,
                "tracks_seen_50_frames_or_more": int((rows_per_id >= 50).sum()),
                "latency_mean_ms": round(float(latencies_ms.mean()), 2) if processed else None,
                "latency_p95_ms": round(float(np.percentile(latencies_ms, 95)), 2) if processed else None,
                "annotated_frames": self.video.frames,
                "node_totals": dict(self.node_totals),
            }

    def write_tracks(self) -> MotResultsFile:
        """Write ``tracks.txt`` in frame order and return the closed file record."""
        results = MotResultsFile(self.out_dir / "tracks.txt")
        try:
            with self._lock:
                stamps, numbers, _ = self._ordered()
                for stamp, number in zip(stamps.tolist(), numbers.tolist()):
                    _, ids, boxes, scores = self._results[stamp]
                    results.write(number, ids, boxes, scores)
        finally:
            results.close()
        return results

    def close(self, frames_published: int | None, extra: dict[str, Any]) -> dict[str, Any]:
        """Write ``tracks.txt``, finish ``annotated.mp4`` and write ``summary.json`` (with ``extra``)."""
        self.write_tracks()
        with self._lock:
            self.video.close()
        summary = {**self.summary(frames_published), **extra}
        (self.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        return summary


def node_totals(msg: Any, hardware_id: str) -> dict[str, int] | None:
    """The ``total_*`` counters of ``hardware_id``'s status in a DiagnosticArray, or None if absent."""
    for status in msg.status:
        if status.hardware_id == hardware_id:
            totals = {kv.key: int(kv.value) for kv in status.values if kv.key.startswith("total_")}
            return totals or None
    return None


def make_recorder_node(recording: DemoRecording, tracker_name: str = "/tracker_node") -> Node:
    """A node recording the input images' stamps, ``tracks``, ``tracks/image`` and ``/diagnostics``."""
    # Reliable and deep: every result of the replay must be recorded, none lost in transport.
    reliable = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.RELIABLE)

    class DemoRecorder(Node):
        def __init__(self):
            super().__init__("demo_recorder")
            self.diagnostics_seen = 0
            self.create_subscription(Image, IMAGE_TOPIC, self.on_image, reliable)
            # Raw: the codec reads the node's tracks (the recorder must keep up with every frame).
            self.create_subscription(Detection2DArray, "tracks", self.on_tracks, reliable, raw=True)
            self.create_subscription(Image, "tracks/image", self.on_annotated, reliable)
            self.create_subscription(DiagnosticArray, "/diagnostics", self.on_diagnostics, 10)

        def on_image(self, msg: Image) -> None:
            recording.add_image(stamp_to_ns(msg.header.stamp))

        def on_tracks(self, data: bytes, info: dict) -> None:
            tracks = decode_detection_array(data)
            recording.add_tracks(tracks.stamp_ns, info["received_timestamp"] or time.time_ns(), tracks.track_ids(),
                                 tracks.boxes_xyxy(), tracks.values[:, 4])

        def on_annotated(self, msg: Image) -> None:
            recording.add_annotated(raw_image_to_bgr(msg))

        def on_diagnostics(self, msg: DiagnosticArray) -> None:
            totals = node_totals(msg, tracker_name)
            if totals is not None:
                recording.set_node_totals(totals)
                self.diagnostics_seen += 1

    return DemoRecorder()


def entry_point(name: str) -> str:
    """Path of a console script of this package, preferring the running interpreter's venv."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found beside {sys.executable} or on PATH; run `make setup`")
    return found


def tracker_command(model: str | None) -> list[str]:
    """tracker_node as launch/demo.launch.py starts it: the package's parameter file, reliable input."""
    params_file = ["--params-file", str(PARAMS_FILE)] if PARAMS_FILE.is_file() else []
    detector = ["-p", "detector.backend:=ultralytics", "-p", f"detector.model:={model}"] if model else \
        ["-p", "detector.backend:=motion"]
    # Reliable input with a queue: a replayed video must not lose frames in transport (cameras use best
    # effort), not even while the node's executor waits for the CPU.
    return [entry_point("tracker_node"), "--ros-args", *params_file, *detector, "-p", "reid.backend:=histogram",
            "-p", "qos.reliability:=reliable", "-p", f"qos.depth:={INPUT_QUEUE_DEPTH}", "-p",
            "publish_annotated:=true", "-r", f"image:={IMAGE_TOPIC}"]


def publisher_command(video: Path, rate: float | None) -> list[str]:
    """video_publisher playing ``video`` once (reliable QoS) at its own rate, or ``rate``, from the moment
    both image subscribers (the node and the recorder) are matched."""
    command = [entry_point("video_publisher"), "--ros-args", "-p", f"source:={video}",
               "-p", f"wait_for_subscribers:={IMAGE_SUBSCRIBERS}", "-p", f"wait_timeout_s:={NODE_READY_TIMEOUT_S}",
               "-p", f"qos.depth:={INPUT_QUEUE_DEPTH}", "-r", f"image:={IMAGE_TOPIC}"]
    if rate:
        command += ["-p", f"rate:={float(rate)}"]
    return command


class ChildProcesses:
    """Processes started by the demo, stopped with SIGINT first and killed when they do not exit."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ),
                                    start_new_session=True)
        self.procs[name] = proc
        return proc

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.log_dir / f"{name}.log"
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self, name: str) -> None:
        """Raise RuntimeError with the log tail when ``name`` exited."""
        code = self.procs[name].poll()
        if code is not None:
            raise RuntimeError(f"{name} exited with code {code}:\n{self.log_tail(name)}")

    def stop_all(self) -> dict[str, int | None]:
        """SIGINT every running child, wait up to STOP_GRACE_S, then SIGKILL; return the exit codes."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return {name: proc.returncode for name, proc in self.procs.items()}


def wait_until(condition, timeout_s: float, what: str, check=lambda: None, poll_s: float = 0.1) -> None:
    """Poll ``condition`` until true; ``check`` raises if a process died; TimeoutError names ``what``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(poll_s)


def video_properties(video: Path) -> tuple[int, float]:
    """(frame count, frames per second) of a video."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    try:
        if not capture.isOpened():
            raise ValueError(f"OpenCV cannot open {video} as a video")
        fps = capture.get(cv2.CAP_PROP_FPS)
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), float(fps if fps > 0 else 10.0)
    finally:
        capture.release()


def spin_until_shutdown(executor: Any) -> None:
    """Spin until the executor or the ROS context shuts down (Ctrl-C shuts the context down)."""
    try:
        executor.spin()
    except ExternalShutdownException:
        pass


def run_demo(video: Path, out_dir: Path, model: str | None, rate: float | None) -> dict[str, Any]:
    """Run the graph on ``video`` and return the summary written to ``out_dir/summary.json``."""
    frame_count, fps = video_properties(video)
    play_rate = rate or fps
    out_dir.mkdir(parents=True, exist_ok=True)
    recording = DemoRecording(out_dir, fps)
    children = ChildProcesses(out_dir / "logs")
    started = time.monotonic()
    rclpy.init()
    executor = SingleThreadedExecutor()
    recorder = make_recorder_node(recording)
    executor.add_node(recorder)
    spinner = threading.Thread(target=spin_until_shutdown, args=(executor,), daemon=True)
    spinner.start()
    published = None
    try:
        children.start("tracker_node", tracker_command(model))
        node_alive = lambda: children.check_alive("tracker_node")  # noqa: E731
        # Up means subscribed to images (beside the recorder) and seen publishing diagnostics, so its results
        # reach the recorder from the first frame on.
        wait_until(lambda: recorder.count_subscribers(IMAGE_TOPIC) >= IMAGE_SUBSCRIBERS
                   and recorder.count_publishers("tracks") > 0 and recorder.diagnostics_seen > 0,
                   NODE_READY_TIMEOUT_S, "tracker_node to come up", check=node_alive)
        children.start("video_publisher", publisher_command(video, rate))
        publisher = children.procs["video_publisher"]
        wait_until(lambda: publisher.poll() is not None, frame_count / play_rate + NODE_READY_TIMEOUT_S,
                   "video_publisher to finish the video", check=node_alive)
        if publisher.returncode != 0:
            raise RuntimeError(f"video_publisher exited with code {publisher.returncode}:\n"
                               f"{children.log_tail('video_publisher')}")
        published = frame_count
        # The node finishes the frame it holds and reports its final counters (diagnostics come at 1 Hz).
        wait_until(lambda: recording.node_totals.get("total_processed", -1) >= recording.frames_processed
                   and time.monotonic() - recording.last_result_monotonic > DRAIN_IDLE_S,
                   DRAIN_IDLE_S * 10, "the node's last results", check=node_alive)
    finally:
        exit_codes = children.stop_all()
        executor.shutdown(timeout_sec=STOP_GRACE_S)
        recorder.destroy_node()
        rclpy.try_shutdown()
        spinner.join(timeout=STOP_GRACE_S)
        summary = recording.close(published, {
            "video": str(video), "publish_rate_hz": play_rate,
            "detector": f"ultralytics:{model}" if model else "motion", "appearance": "histogram",
            "wall_s": round(time.monotonic() - started, 1), "exit_codes": exit_codes,
            "fastdds_profile": os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE"),
        })
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deepsort_ros.ros.demo",
        description="Run video_publisher -> tracker_node on a video and record tracks.txt, annotated.mp4 and "
                    "summary.json.", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", help="ultralytics weights for the detector [default: weight-free motion "
                                         "detector]")
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO, help="video to publish")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--rate", type=float, help="publish rate in Hz [default: the video's own]")
    return parser


def print_summary(summary: dict[str, Any], out_dir: Path) -> None:
    print(f"demo: {summary['frames_processed']} of {summary['frames_published']} frames processed "
          f"({summary['frames_dropped']} dropped), {summary['tracks']} track ids, "
          f"{summary['tracks_seen_50_frames_or_more']} followed for 50+ frames, "
          f"latency mean {summary['latency_mean_ms']} ms / p95 {summary['latency_p95_ms']} ms, "
          f"{summary['wall_s']} s")
    print(f"demo: wrote {out_dir / 'tracks.txt'}, {out_dir / 'annotated.mp4'}, {out_dir / 'summary.json'}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    isolate_dds()
    if not args.video.is_file():
        print(f"demo: video {args.video} not found. It comes with Debian's opencv-doc package: run "
              f"`make setup` (installs it when apt is available) or `sudo apt-get install opencv-doc`.",
              file=sys.stderr)
        return 1
    if args.model and not Path(args.model).is_file():
        print(f"demo: model weights {args.model} not found (give a local ultralytics .pt/.onnx file; nothing is "
              f"downloaded)", file=sys.stderr)
        return 1
    try:
        use_large_image_transport()
        summary = run_demo(args.video, args.out, args.model, args.rate)
    except (RuntimeError, TimeoutError, ValueError, FileNotFoundError) as error:
        print(f"demo: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("demo: interrupted; partial outputs written", file=sys.stderr)
        return 130
    print_summary(summary, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
