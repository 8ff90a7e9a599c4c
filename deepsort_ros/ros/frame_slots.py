"""Hand-over of frames from ROS callbacks to the processing worker without queuing stale ones.

:class:`LatestSlot` holds at most one item: a new frame replaces the one still waiting, so the worker
always starts on the newest frame and callbacks never wait for inference. :class:`StampPairer` joins
detection arrays from another detector with the image of the same stamp (tracker-only mode).
:class:`StampOrder` lets only newer stamps through and notices a replay starting again.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class LatestSlot:
    """A one-item mailbox between producer callbacks and one consumer thread."""

    def __init__(self):
        self._condition = threading.Condition()
        self._item: Any = None
        self._full = False
        self._closed = False

    def put(self, item: Any) -> bool:
        """Store ``item``; returns True when it replaced an item nobody had taken (a dropped frame)."""
        with self._condition:
            replaced = self._full
            self._item, self._full = item, True
            self._condition.notify()
            return replaced

    def take(self, timeout: float) -> Any:
        """Wait up to ``timeout`` seconds for an item; None when none came or the slot is closed."""
        with self._condition:
            if not self._full and not self._closed:
                self._condition.wait(timeout)
            if not self._full or self._closed:
                return None
            item, self._item, self._full = self._item, None, False
            return item

    def close(self) -> None:
        """Wake the consumer for good (shutdown)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()


class StampPairer:
    """Pairs images and detection arrays that carry the same stamp.

    Parameters
    ----------
    capacity : int
        Unpaired images and unpaired detection arrays kept each; the oldest go first.
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"capacity={capacity} must be >= 1")
        self.capacity = int(capacity)
        self._images: OrderedDict[int, Any] = OrderedDict()
        self._detections: OrderedDict[int, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.unpaired_detections = 0

    def add_image(self, stamp_ns: int, image: Any) -> tuple[Any, Any] | None:
        """Offer an image; returns ``(image, detections)`` when its detections are already here."""
        with self._lock:
            detections = self._detections.pop(stamp_ns, None)
            if detections is not None:
                return image, detections
            self._images[stamp_ns] = image
            while len(self._images) > self.capacity:
                self._images.popitem(last=False)
            return None

    def add_detections(self, stamp_ns: int, detections: Any) -> tuple[Any, Any] | None:
        """Offer a detection array; returns ``(image, detections)`` when its image is already here."""
        with self._lock:
            image = self._images.pop(stamp_ns, None)
            if image is not None:
                return image, detections
            self._detections[stamp_ns] = detections
            while len(self._detections) > self.capacity:
                self._detections.popitem(last=False)
                # Detections whose image never came are lost: counted as dropped.
                self.unpaired_detections += 1
            return None


class StampOrder:
    """Stamp order per input (``image``, ``detections``): newer stamps pass, repeated and older ones do not,
    and a stamp that jumps back by ``reset_s`` or more (a bag replay starting again) starts a new generation
    of tracks.

    Attributes
    ----------
    generation : int
        Bumped by every restart; frames of a new generation start new tracks.
    """

    NEW, RESTART, REPEATED, OUT_OF_ORDER = "new", "restart", "repeated", "out-of-order"

    def __init__(self):
        self._last: dict[str, int] = {}
        self.generation = 0

    def check(self, kind: str, stamp_ns: int, reset_s: float) -> tuple[str, int | None]:
        """Classify ``stamp_ns`` against the previous ``kind`` stamp and remember it when it is used.

        Returns
        -------
        tuple
            ``(verdict, previous stamp in ns or None)``; the verdict is NEW or RESTART (use the message) or
            REPEATED or OUT_OF_ORDER (skip it). ``reset_s`` 0 never restarts.
        """
        last = self._last.get(kind)
        if last is None or stamp_ns > last:
            verdict = self.NEW
        elif reset_s > 0 and (last - stamp_ns) * 1e-9 >= reset_s:
            self._last.clear()
            self.generation += 1
            verdict = self.RESTART
        else:
            return (self.REPEATED if stamp_ns == last else self.OUT_OF_ORDER), last
        self._last[kind] = stamp_ns
        return verdict, last

    def clear(self) -> None:
        """Forget the previous stamps (after a reset, a replay may start again from its first stamp)."""
        self._last.clear()
