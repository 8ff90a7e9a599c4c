"""How the node is doing: frame counters, stage latencies, throttled error reports, /diagnostics status.

The worker and the callbacks record into :class:`NodeStats`; once a second the node turns the last
window into a ``diagnostic_msgs/DiagnosticStatus`` (see :func:`diagnostic_status` for when it is OK, WARN or
ERROR). Rejected input, frames dropped as stale, processing failures, unpaired detection arrays and bad
detection rows are counted apart, so the status says which loss happened.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

# Per-frame stages in processing order; the pipeline's own timings fill detect, embed, motion, track, spatial.
STAGES = ("convert", "detect", "embed", "motion", "track", "spatial", "publish", "annotate")


@dataclass
class StatsWindow:
    """Counters of one diagnostics period plus running totals.

    ``received`` frames were accepted for processing; ``rejected`` input messages failed the checks (malformed,
    out of order); ``dropped`` frames were replaced by newer ones before the worker took them (stale);
    ``failed`` frames raised while being processed; ``unpaired`` detection arrays never met their image
    (external mode); ``dropped_detections`` bad rows were removed from otherwise good detection sets.
    """

    seconds: float
    received: int
    processed: int
    dropped: int
    rejected: int
    failed: int
    unpaired: int
    dropped_detections: int
    annotated: int
    latency_ms: float
    stage_ms: dict[str, float]
    active_tracks: int
    since_input_s: float
    since_processed_s: float
    totals: dict[str, int]
    last_failure: str

    @property
    def input_rate(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0

    @property
    def processed_rate(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    @property
    def input_messages(self) -> int:
        """Every input message of the window, accepted or rejected."""
        return self.received + self.rejected


# The counters of a window and of the totals, in report order.
COUNTERS = ("received", "processed", "dropped", "rejected", "failed", "unpaired", "dropped_detections", "annotated")


@dataclass
class _Counters:
    received: int = 0
    processed: int = 0
    dropped: int = 0
    rejected: int = 0
    failed: int = 0
    unpaired: int = 0
    dropped_detections: int = 0
    annotated: int = 0
    latency_ms: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))


class NodeStats:
    """Thread-safe frame counters and latency sums, read out per window.

    Parameters
    ----------
    clock : callable
        Monotonic seconds (injectable for tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._window = _Counters()
        self._total = _Counters()
        self._window_start = clock()
        self._active_tracks = 0
        # Input and output staleness count from the start (or restart_clock), not from the epoch.
        self._last_input = self._last_processed = self._window_start
        self._last_failure = ""

    def restart_clock(self) -> None:
        """Count staleness from now (the node starts listening again after a pause)."""
        with self._lock:
            self._last_input = self._last_processed = self._window_start = self._clock()

    def _count(self, name: str, count: int = 1) -> None:
        with self._lock:
            setattr(self._window, name, getattr(self._window, name) + count)
            setattr(self._total, name, getattr(self._total, name) + count)
            if name in ("received", "rejected"):
                self._last_input = self._clock()

    def record_received(self) -> None:
        """An input frame was accepted by a callback."""
        self._count("received")

    def record_rejected(self) -> None:
        """An input message was malformed or out of order and was not used."""
        self._count("rejected")

    def record_dropped(self, count: int = 1) -> None:
        """Frames replaced by newer ones before the worker took them (stale)."""
        self._count("dropped", count)

    def record_failed(self, reason: str) -> None:
        """A frame raised while being processed (``reason`` says how)."""
        self._count("failed")
        with self._lock:
            self._last_failure = reason

    def record_unpaired(self, count: int = 1) -> None:
        """Detection arrays gave up on waiting for the image of their stamp."""
        self._count("unpaired", count)

    def record_dropped_detections(self, count: int) -> None:
        """Bad rows removed from otherwise good detection sets."""
        if count:
            self._count("dropped_detections", count)

    def record_processed(self, stage_ms: Mapping[str, float], latency_ms: float, active_tracks: int,
                         annotated: bool) -> None:
        """A frame went through the pipeline and its results were published."""
        with self._lock:
            for counters in (self._window, self._total):
                counters.processed += 1
                counters.annotated += int(annotated)
            self._window.latency_ms += latency_ms
            for stage, ms in stage_ms.items():
                if stage in self._window.stage_ms:
                    self._window.stage_ms[stage] += ms
            self._active_tracks = active_tracks
            self._last_processed = self._clock()

    def take_window(self) -> StatsWindow:
        """The counters since the previous call (means per processed frame) and the totals."""
        with self._lock:
            now = self._clock()
            window, self._window = self._window, _Counters()
            seconds, self._window_start = now - self._window_start, now
            per_frame = 1.0 / window.processed if window.processed else 0.0
            return StatsWindow(
                seconds=seconds, **{name: getattr(window, name) for name in COUNTERS},
                latency_ms=window.latency_ms * per_frame,
                stage_ms={stage: ms * per_frame for stage, ms in window.stage_ms.items()},
                active_tracks=self._active_tracks, since_input_s=now - self._last_input,
                since_processed_s=now - self._last_processed,
                totals={name: getattr(self._total, name) for name in COUNTERS}, last_failure=self._last_failure)


def diagnostic_status(window: StatsWindow, name: str, hardware_id: str, device: str,
                      warn_drop_ratio: float, input_timeout_s: float) -> DiagnosticStatus:
    """The node's DiagnosticStatus for one window.

    ERROR: input arrives but nothing was processed (every frame failed or was rejected, or no frame finished
    for ``input_timeout_s`` although input keeps coming). WARN: no input for ``input_timeout_s``, most frames
    failed, falling behind (more than ``warn_drop_ratio`` of the frames dropped as stale), rejected input
    messages, bad detection rows or detection arrays that never found their image. OK otherwise.
    """
    problems: list[tuple[bytes, str]] = []  # (level, text); levels are single bytes that order by severity
    attempted = window.processed + window.failed
    if window.input_messages and not window.processed and (
            window.failed or (window.rejected and not window.received)
            or window.since_processed_s > input_timeout_s > 0):
        why = (f"{window.failed} frame(s) failed (last: {window.last_failure})" if window.failed
               else f"{window.rejected} input message(s) rejected" if window.rejected and not window.received
               else f"no frame finished for {window.since_processed_s:.1f} s")
        problems.append((DiagnosticStatus.ERROR, f"input arrives but nothing is processed: {why}"))
    elif window.failed and window.failed * 2 > attempted:
        problems.append((DiagnosticStatus.WARN, f"most frames fail: {window.failed} of {attempted} "
                                                f"(last: {window.last_failure})"))
    elif window.failed:
        problems.append((DiagnosticStatus.WARN, f"{window.failed} frame(s) failed (last: {window.last_failure})"))
    if not window.input_messages and input_timeout_s > 0 and window.since_input_s > input_timeout_s:
        problems.append((DiagnosticStatus.WARN, f"no input for {window.since_input_s:.1f} s"))
    if window.received and window.dropped > warn_drop_ratio * window.received:
        problems.append((DiagnosticStatus.WARN, f"falling behind: processed {window.processed_rate:.1f} of "
                                                f"{window.input_rate:.1f} frames/s, dropped {window.dropped}"))
    if window.rejected and window.received:
        problems.append((DiagnosticStatus.WARN, f"rejected {window.rejected} bad input message(s)"))
    if window.unpaired:
        problems.append((DiagnosticStatus.WARN, f"{window.unpaired} detection array(s) never found their image"))
    if window.dropped_detections:
        problems.append((DiagnosticStatus.WARN, f"dropped {window.dropped_detections} bad detection(s)"))
    if problems:
        level = max(level for level, _ in problems)
        message = "; ".join(text for _, text in sorted(problems, key=lambda p: p[0], reverse=True))
    else:
        level = DiagnosticStatus.OK
        message = "tracking" if window.input_messages or window.processed else "waiting for input"
    values = {
        "input_rate_hz": f"{window.input_rate:.2f}",
        "processed_rate_hz": f"{window.processed_rate:.2f}",
        "dropped_frames": str(window.dropped),
        "rejected_messages": str(window.rejected),
        "failed_frames": str(window.failed),
        "unpaired_detection_arrays": str(window.unpaired),
        "dropped_detections": str(window.dropped_detections),
        "annotated_frames": str(window.annotated),
        **{f"total_{counter}": str(count) for counter, count in window.totals.items()},
        "seconds_since_input": f"{window.since_input_s:.1f}",
        "active_tracks": str(window.active_tracks),
        "latency_ms": f"{window.latency_ms:.2f}",
        **{f"{stage}_ms": f"{ms:.2f}" for stage, ms in window.stage_ms.items()},
        "device": device,
    }
    return DiagnosticStatus(level=level, name=name, message=message, hardware_id=hardware_id,
                            values=[KeyValue(key=key, value=value) for key, value in values.items()])


def diagnostic_array(status: DiagnosticStatus, stamp) -> DiagnosticArray:
    """Wrap one status for /diagnostics."""
    msg = DiagnosticArray(status=[status])
    msg.header.stamp = stamp
    return msg


def problem_kind(reason: str) -> str:
    """``reason`` without its numbers and quoted values: the key :class:`ErrorThrottle` throttles by, so a flood
    of one problem does not hide the first report of another."""
    return re.sub(r"'[^']*'|\"[^\"]*\"|\d+(\.\d*)?(e[-+]?\d+)?", "#", reason)


class ErrorThrottle:
    """At most one error log per kind of problem and period, counting what it held back.

    Parameters
    ----------
    log : callable
        Takes one message string (e.g. a ROS logger's ``error``).
    period_s : float
        Seconds between two logs of the same kind.
    clock : callable
        Monotonic seconds.
    """

    def __init__(self, log: Callable[[str], object], period_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic):
        self._log = log
        self._period_s = period_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held_back: dict[str, int] = {}
        self._lock = threading.Lock()

    def report(self, kind: str, text: str) -> None:
        """Log ``text`` unless ``kind`` was logged less than a period ago."""
        with self._lock:
            now = self._clock()
            last = self._last.get(kind)
            if last is not None and now - last < self._period_s:
                self._held_back[kind] = self._held_back.get(kind, 0) + 1
                return
            held_back = self._held_back.pop(kind, 0)
            self._last[kind] = now
        suffix = f" ({held_back} more like this in the last {self._period_s:g} s)" if held_back else ""
        self._log(f"{text}{suffix}")
