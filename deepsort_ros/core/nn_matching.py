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
    """Appearance features of all tracks, aligned with the track store's rows.

    Parameters
    ----------
    mode : {'ema', 'gallery'}
    ema_alpha : float
        Weight of the old average in ``ema`` mode.
    budget : int
        Features kept per track in ``gallery`` mode.

    Notes
    -----
    ``ema`` keeps one (M, D) row per track. ``gallery`` keeps one flat bank of the features actually stored,
    (S, D) with the owning track row of each, so memory grows with what tracks have seen (S <= M x budget)
    and births and deaths copy only the small per-track arrays and the bank rows that survive.
    """

    def __init__(self, mode: str = "ema", ema_alpha: float = 0.9, budget: int = 100):
        if mode not in APPEARANCE_MODES:
            raise ValueError(f"appearance mode {mode!r}: allowed {APPEARANCE_MODES}")
        self.mode = mode
        self.ema_alpha = ema_alpha
        self.budget = budget if mode == "gallery" else 1
        self.dim: int | None = None
        self.counts = np.zeros(0, dtype=np.int64)            # features seen per track (ema: 0 or 1)
        self.features = np.zeros((0, 0), dtype=np.float32)   # ema: (M, D) averages; gallery: (S, D) bank
        # gallery: track row of each bank row. Rows are only appended and masked, so bank order is insertion
        # order (newest last).
        self.owners = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.counts)

    @property
    def stored(self) -> int:
        """Feature vectors held (ema: one per track that has any; gallery: the bank's rows)."""
        return int(np.count_nonzero(self.counts)) if self.mode == "ema" else len(self.owners)

    def _check_dim(self, features: np.ndarray) -> None:
        if self.dim is None:
            self.dim = features.shape[1]
            rows = len(self.counts) if self.mode == "ema" else 0
            self.features = np.zeros((rows, self.dim), dtype=np.float32)
        elif features.shape[1] != self.dim:
            raise ValueError(f"features have dimension {features.shape[1]}, earlier frames had {self.dim}")

    def append(self, features: np.ndarray | None, count: int) -> None:
        """Add ``count`` tracks, with their first (normalised) features or none."""
        first = len(self.counts)
        self.counts = np.concatenate([self.counts, np.zeros(count, dtype=np.int64)])
        if self.mode == "ema" and self.dim is not None:
            self.features = np.concatenate([self.features, np.zeros((count, self.dim), dtype=np.float32)])
        if features is not None and count:
            self.update(np.arange(first, first + count), features)

    def keep(self, mask: np.ndarray) -> None:
        """Drop the tracks where ``mask`` is False."""
        self.counts = self.counts[mask]
        if self.mode == "ema":
            if self.dim is not None:
                self.features = self.features[mask]
            return
        alive = mask[self.owners]
        new_row = np.cumsum(mask) - 1                      # old track row -> new track row
        self.owners = new_row[self.owners[alive]]
        self.features = self.features[alive]

    def update(self, rows: np.ndarray, features: np.ndarray, ema_alpha: float | None = None) -> None:
        """Fold normalised ``features`` (K, D) into tracks ``rows`` (K,); ``ema_alpha`` overrides the
        configured weight of the old average for this update (the tracker scales it by the frame step)."""
        if not len(rows):
            return
        self._check_dim(features)
        if self.mode == "ema":
            # Tracks without features yet take the new one as is (their stored zeros weigh nothing).
            old = np.float32(self.ema_alpha if ema_alpha is None else ema_alpha)
            alpha = np.where(self.counts[rows] > 0, old, np.float32(0.0))[:, None]
            blend = self.features[rows]                       # a copy: fancy indexing
            blend *= alpha
            blend += (1.0 - alpha) * features
            self.features[rows] = normalise_rows(blend)
            self.counts[rows] = 1
            return
        self.features = np.concatenate([self.features, features])
        self.owners = np.concatenate([self.owners, rows])
        self.counts[rows] += 1
        if np.count_nonzero(self.counts[rows] > self.budget):
            # Keep each track's newest ``budget`` features: rank bank rows newest first within their track.
            order = np.lexsort((-np.arange(len(self.owners)), self.owners))
            owners = self.owners[order]
            starts = np.searchsorted(owners, owners, side="left")
            keep = np.zeros(len(order), dtype=bool)
            keep[order] = (np.arange(len(order)) - starts) < self.budget
            self.features, self.owners = self.features[keep], self.owners[keep]
            np.minimum(self.counts, self.budget, out=self.counts)

    def distance(self, rows: np.ndarray, features: np.ndarray) -> np.ndarray:
        """(len(rows), N) cosine distances; tracks without features get 1 (uninformative)."""
        if self.dim is None or not len(rows) or not len(features):
            return np.ones((len(rows), len(features)))
        self._check_dim(features)
        if self.mode == "ema":
            similarity = self.features[rows] @ features.T                      # (K, N)
            known = (self.counts[rows] > 0)[:, None]
            return np.where(known, 1.0 - similarity, 1.0).astype(np.float64)
        # Nearest stored feature per track: bank rows of the wanted tracks, one product, a max per track.
        position = np.full(len(self.counts), -1, dtype=np.int64)
        position[rows] = np.arange(len(rows))
        owner_position = position[self.owners]
        wanted = (owner_position >= 0).nonzero()[0]
        best = np.full((len(rows), len(features)), -np.inf, dtype=np.float32)
        if len(wanted):
            np.maximum.at(best, owner_position[wanted], self.features[wanted] @ features.T)
        return np.where(np.isfinite(best), 1.0 - best, 1.0).astype(np.float64)
