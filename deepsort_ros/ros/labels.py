"""Class names <-> the tracker's integer class indices.

The detector's class names come first. In tracker-only mode other detectors name classes freely, so
names seen for the first time are appended; the ``tracks`` topic then reports the same strings the
detections used.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Bounds the table when a faulty detector sends a new random name with every message.
MAX_CLASSES = 10000


class ClassLabels:
    """Two-way map between class id strings and class indices.

    Parameters
    ----------
    names : sequence of str
        The detector's class names; index ``i`` is ``names[i]``.
    """

    def __init__(self, names: Sequence[str]):
        self.names: list[str] = [str(name) for name in names]
        self._index = {name: i for i, name in enumerate(self.names)}
        self._names_array = np.asarray(self.names, dtype=object)

    def index_of(self, class_id: str) -> int:
        """Class index of a ``class_id`` string: a known name, a decimal index, or a new name (appended).

        Raises
        ------
        ValueError
            When a new name would grow the table beyond :data:`MAX_CLASSES`.
        """
        index = self._index.get(class_id)
        if index is not None:
            return index
        if class_id.isascii() and class_id.isdigit() and int(class_id) < MAX_CLASSES:
            return int(class_id)
        if len(self.names) >= MAX_CLASSES:
            raise ValueError(f"class id {class_id[:40]!r} would exceed {MAX_CLASSES} distinct classes")
        self._index[class_id] = len(self.names)
        self.names.append(class_id)
        self._names_array = np.asarray(self.names, dtype=object)
        return len(self.names) - 1

    def labels(self, classes: np.ndarray, as_index: bool = False) -> list[str]:
        """``class_id`` strings for class indices: names (indices without a name as digits) or indices."""
        classes = np.asarray(classes, dtype=np.int64).reshape(-1)
        if as_index:
            return [str(c) for c in classes.tolist()]
        # One snapshot: index_of may append a name from a callback thread while the worker reads.
        names = self._names_array
        known = (classes >= 0) & (classes < len(names))
        out = np.asarray(classes.astype(str), dtype=object)
        out[known] = names[classes[known]]
        return out.tolist()
