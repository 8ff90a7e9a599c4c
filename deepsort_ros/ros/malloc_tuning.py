"""Keep frame-sized buffers inside the process between frames (glibc malloc settings).

Each frame allocates and frees several image-sized buffers (the received message, its converted copy,
the annotated picture). By default glibc serves blocks this large with fresh ``mmap`` calls, or hands
freed memory back to the kernel at once, so every frame page-faults its buffers in again: receiving a
640x480 image then costs about 1 ms instead of 0.1 ms. Raising the mmap and trim thresholds keeps those
pages in the heap for the next frame. Process-wide, so only entry points (the node's ``main``, its
benchmark) call it; elsewhere (musl, macOS) it does nothing.
"""
from __future__ import annotations

import ctypes

# mallopt parameter numbers from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# The largest mmap threshold glibc accepts on 64-bit systems: a 4K BGR frame (25 MB) stays in the heap.
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
# Free memory kept at the heap's top (a few frames' worth) before it goes back to the kernel.
TRIM_THRESHOLD_BYTES = 128 * 1024 * 1024


def keep_frame_buffers() -> bool:
    """Set glibc's mmap and trim thresholds for frame-sized buffers; False where that is not possible."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # Both or neither: either one alone disables glibc's own threshold tuning and makes things worse.
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD,
                                                                                 TRIM_THRESHOLD_BYTES))
