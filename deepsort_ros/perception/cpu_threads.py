"""How many threads a CPU network may use.

Networks that take every core make their worker threads spin against the detector, the tracker and the
rest of the robot; on a busy 2-core machine OSNet x0_25 took 230 ms per frame with 2 torch threads and
23 ms with 1 (onnxruntime: 48 ms and 16 ms). The default is therefore half the cores, at least one.
"""
from __future__ import annotations

import os


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def thread_count(requested: int) -> int:
    """``requested`` threads, or half the usable cores (at least 1) when it is 0."""
    return int(requested) or max(1, usable_cores() // 2)
