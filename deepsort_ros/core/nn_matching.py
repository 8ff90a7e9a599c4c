"""Per-track appearance memory and cosine distances to new detections.

Two memories, chosen by :class:`TrackerConfig.appearance_update`:

- ``ema``: one L2-normalised exponential moving average per track (StrongSORT); distances are one matrix
  product.
- ``gallery``: the last ``budget`` features per track in a ring buffer (DeepSORT's nearest-neighbour
  metric); distances are one matrix product and a minimum over each track's stored features.
"""
from __future__ import annotations

import numpy as np

APPEARANCE_MODES = ("ema", "gallery")


def row_norms(features: np.ndarray) -> np.ndarray:
    """(N,) Euclidean lengths of the rows of (N, D) ``features``."""
    return np.sqrt(np.einsum("ij,ij->i", features, features))


def normalise_rows(features: np.ndarray, norms: np.ndarray | None = None) -> np.ndarray:
    """(N, D) float32 rows scaled to unit length (all-zero rows stay zero), as a new array; ``norms`` are
    the rows' :func:`row_norms` when the caller already has them."""
    features = np.asarray(features, dtype=np.float32)
    if norms is None:
        norms = row_norms(features)
    return features / np.maximum(norms, 1e-12)[:, None]


class AppearanceMemory:
    """Appearance features of all tracks, stored as arrays aligned with the track store's rows.

    Parameters
    ----------
    mode : {'ema', 'gallery'}
    ema_alpha : float
        Weight of the old average in ``ema`` mode.
    budget : int
        Features kept per track in ``gallery`` mode.
    """

    def __init__(self, mode: str = "ema", ema_alpha: float = 0.9, budget: int = 100):
        if mode not in APPEARANCE_MODES:
            raise ValueError(f"appearance mode {mode!r}: allowed {APPEARANCE_MODES}")
        self.mode = mode
        self.ema_alpha = ema_alpha
        self.budget = budget if mode == "gallery" else 1
        self.dim: int | None = None
        self.features = np.zeros((0, self.budget, 0), dtype=np.float32)   # (M, B, D)
        self.counts = np.zeros(0, dtype=np.int64)                          # stored features per track

    def __len__(self) -> int:
        return len(self.counts)

    def _check_dim(self, features: np.ndarray) -> None:
        if self.dim is None:
            self.dim = features.shape[1]
            self.features = np.zeros((len(self.counts), self.budget, self.dim), dtype=np.float32)
        elif features.shape[1] != self.dim:
            raise ValueError(f"features have dimension {features.shape[1]}, earlier frames had {self.dim}")

    def append(self, features: np.ndarray | None, count: int) -> None:
        """Add ``count`` tracks, with their first (normalised) features or none."""
        new = np.zeros((count, self.budget, self.dim or 0), dtype=np.float32)
        new_counts = np.zeros(count, dtype=np.int64)
        if features is not None and count:
            self._check_dim(features)
            new = np.zeros((count, self.budget, self.dim), dtype=np.float32)
            new[:, 0] = features
            new_counts[:] = 1
        self.features = np.concatenate([self.features, new], axis=0)
        self.counts = np.concatenate([self.counts, new_counts])

    def keep(self, mask: np.ndarray) -> None:
        """Drop the tracks where ``mask`` is False."""
        self.features = self.features[mask]
        self.counts = self.counts[mask]

    def update(self, rows: np.ndarray, features: np.ndarray, ema_alpha: float | None = None) -> None:
        """Fold normalised ``features`` (K, D) into tracks ``rows`` (K,); ``ema_alpha`` overrides the
        configured weight of the old average for this update (the tracker scales it by the frame step)."""
        if not len(rows):
            return
        self._check_dim(features)
        if self.mode == "ema":
            # Tracks born without features take the new one as is (their stored zeros weigh nothing).
            old = np.float32(self.ema_alpha if ema_alpha is None else ema_alpha)
            alpha = np.where(self.counts[rows] > 0, old, np.float32(0.0))[:, None]
            blend = self.features[rows, 0]                    # a copy: fancy indexing
            blend *= alpha
            blend += (1.0 - alpha) * features
            self.features[rows, 0] = normalise_rows(blend)
            self.counts[rows] = 1
        else:
            slots = self.counts[rows] % self.budget
            self.features[rows, slots] = features
            self.counts[rows] += 1

    def distance(self, rows: np.ndarray, features: np.ndarray) -> np.ndarray:
        """(len(rows), N) cosine distances; tracks without features get 1 (uninformative)."""
        if self.dim is None or not len(rows) or not len(features):
            return np.ones((len(rows), len(features)))
        self._check_dim(features)
        known = (self.counts[rows] > 0)[:, None]
        if self.mode == "ema":
            similarity = self.features[rows, 0] @ features.T                 # (K, N)
            return np.where(known, 1.0 - similarity, 1.0).astype(np.float64)
        stored = self.features[rows]                                        # (K, B, D)
        similarity = (stored.reshape(-1, self.dim) @ features.T).reshape(len(rows), self.budget, len(features))
        filled = np.arange(self.budget)[None, :] < self.counts[rows][:, None]
        best = np.where(filled[:, :, None], similarity, -np.inf).max(axis=1)
        return np.where(known, 1.0 - best, 1.0).astype(np.float64)
