"""How the node is doing: frame counters, stage latencies, throttled error reports, /diagnostics status.

The worker and the callbacks record into :class:`NodeStats`; once a second the node turns the last
window into a ``diagnostic_msgs/DiagnosticStatus`` that goes WARN when the node falls behind its input
or skips bad input.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

# Per-frame stages in processing order; the pipeline's own timings fill detect, embed, motion, track, spatial.
STAGES = ("convert", "detect", "embed", "motion", "track", "spatial", "publish", "annotate")


@dataclass
class StatsWindow:
    """Counters of one diagnostics period plus running totals."""

    seconds: float
    received: int
    processed: int
    dropped: int
    skipped: int
    annotated: int
    latency_ms: float
    stage_ms: dict[str, float]
    active_tracks: int
    total_received: int
    total_processed: int
    total_dropped: int
    total_skipped: int
    total_annotated: int

    @property
    def input_rate(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0

    @property
    def processed_rate(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Counters:
    received: int = 0
    processed: int = 0
    dropped: int = 0
    skipped: int = 0
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

    def record_received(self) -> None:
        """An input frame was accepted by a callback."""
        with self._lock:
            self._window.received += 1
            self._total.received += 1

    def record_dropped(self, count: int = 1) -> None:
        """Frames replaced by newer ones before the worker took them."""
        with self._lock:
            self._window.dropped += count
            self._total.dropped += count

    def record_skipped(self) -> None:
        """An input message was malformed, out of order or failed processing."""
        with self._lock:
            self._window.skipped += 1
            self._total.skipped += 1

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

    def take_window(self) -> StatsWindow:
        """The counters since the previous call (means per processed frame) and the totals."""
        with self._lock:
            now = self._clock()
            window, self._window = self._window, _Counters()
            seconds, self._window_start = now - self._window_start, now
            per_frame = 1.0 / window.processed if window.processed else 0.0
            total = self._total
            return StatsWindow(
                seconds=seconds, received=window.received, processed=window.processed, dropped=window.dropped,
                skipped=window.skipped, annotated=window.annotated, latency_ms=window.latency_ms * per_frame,
                stage_ms={stage: ms * per_frame for stage, ms in window.stage_ms.items()},
                active_tracks=self._active_tracks, total_received=total.received,
                total_processed=total.processed, total_dropped=total.dropped, total_skipped=total.skipped,
                total_annotated=total.annotated)


def diagnostic_status(window: StatsWindow, name: str, hardware_id: str, device: str,
                      warn_drop_ratio: float) -> DiagnosticStatus:
    """The node's DiagnosticStatus for one window: OK, or WARN when falling behind or skipping input."""
    level, message = DiagnosticStatus.OK, "tracking"
    if window.received == 0 and window.processed == 0:
        message = "waiting for input"
    if window.received and window.dropped > warn_drop_ratio * window.received:
        level = DiagnosticStatus.WARN
        message = (f"falling behind: processed {window.processed_rate:.1f} of {window.input_rate:.1f} frames/s, "
                   f"dropped {window.dropped}")
    elif window.skipped:
        level = DiagnosticStatus.WARN
        message = f"skipped {window.skipped} bad input message(s)"
    values = {
        "input_rate_hz": f"{window.input_rate:.2f}",
        "processed_rate_hz": f"{window.processed_rate:.2f}",
        "dropped_frames": str(window.dropped),
        "skipped_messages": str(window.skipped),
        "annotated_frames": str(window.annotated),
        "total_received": str(window.total_received),
        "total_processed": str(window.total_processed),
        "total_dropped": str(window.total_dropped),
        "total_skipped": str(window.total_skipped),
        "total_annotated": str(window.total_annotated),
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
