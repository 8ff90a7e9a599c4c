"""Resolving the ``device`` parameter to a torch device (import only where torch is wanted)."""
from __future__ import annotations

import torch


def resolve_device(device: str) -> torch.device:
    """``auto`` -> first CUDA GPU if present else CPU; ``cpu``, ``cuda``, ``cuda:N`` checked to exist."""
    if device == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} requested but CUDA is not available; use 'cpu' or 'auto'")
        index = resolved.index or 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r} requested but only {torch.cuda.device_count()} GPU(s) exist")
    return resolved
