"""Track states, the per-track arrays the tracker keeps, and the :class:`Tracks` it returns."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class TrackState(IntEnum):
    """Life cycle: TENTATIVE -> CONFIRMED after ``n_init`` matches; CONFIRMED <-> COASTING while it misses
    (deleted after ``max_age`` frames or ``max_age_s`` seconds); a TENTATIVE track dies on its first miss."""

    TENTATIVE = 1
    CONFIRMED = 2
    COASTING = 3


@dataclass(frozen=True)
class Tracks:
    """Tracks reported for one frame, one row per track.

    Attributes
    ----------
    ids : (M,) int64. A confirmed track's id is drawn when it is confirmed: 1, 2, 3 ... in order of
        confirmation, never reused within a tracker's life (not even after :meth:`Tracker.reset`). A tentative
        track (reported only with ``report_tentative``) has no id yet and carries a negative placeholder,
        distinct per tentative track and stable until it is confirmed (then it gets the next positive id).
    boxes_xyxy : (M, 4) float64, image pixels
    scores : (M,) float64, score of the detection last matched
    classes : (M,) int64
    states : (M,) int8 values of :class:`TrackState`
    """

    ids: np.ndarray
    boxes_xyxy: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    states: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def empty(cls) -> "Tracks":
        return cls(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64),
                   np.zeros(0, np.int8))


class TrackStore:
    """All live tracks as parallel arrays (row i of every array is one track)."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, np.int64)             # internal, unique per track, given at birth
        self.ids = np.zeros(0, np.int64)              # public: 0 until confirmed, then 1, 2, 3 ...
        self.mean = np.zeros((0, 8))
        self.covariance = np.zeros((0, 8, 8))
        self.states = np.zeros(0, np.int8)
        self.hits = np.zeros(0, np.int64)             # matches so far
        self.misses = np.zeros(0, np.int64)           # consecutive frames without a match
        self.last_seen = np.zeros(0)                  # timestamp of the last match (nan without timestamps)
        self.scores = np.zeros(0)
        self.classes = np.zeros(0, np.int64)
        self.det_boxes = np.zeros((0, 4))             # last matched detection box, xyxy
        self.steps_since = np.zeros(0)                # Kalman steps predicted since the last match
        self.next_key = 1
        self.next_id = 1

    def __len__(self) -> int:
        return len(self.ids)

    def append(self, mean: np.ndarray, covariance: np.ndarray, scores: np.ndarray, classes: np.ndarray,
               boxes_xyxy: np.ndarray, timestamp: float) -> None:
        """Start tentative tracks with fresh keys and no public id yet."""
        count = len(mean)
        self.keys = np.concatenate([self.keys, np.arange(self.next_key, self.next_key + count, dtype=np.int64)])
        self.next_key += count
        self.ids = np.concatenate([self.ids, np.zeros(count, np.int64)])
        self.mean = np.concatenate([self.mean, mean])
        self.covariance = np.concatenate([self.covariance, covariance])
        self.states = np.concatenate([self.states, np.full(count, TrackState.TENTATIVE, np.int8)])
        self.hits = np.concatenate([self.hits, np.ones(count, np.int64)])
        self.misses = np.concatenate([self.misses, np.zeros(count, np.int64)])
        self.last_seen = np.concatenate([self.last_seen, np.full(count, timestamp)])
        self.scores = np.concatenate([self.scores, scores])
        self.classes = np.concatenate([self.classes, classes])
        self.det_boxes = np.concatenate([self.det_boxes, boxes_xyxy])
        self.steps_since = np.concatenate([self.steps_since, np.zeros(count)])

    def confirm(self, rows: np.ndarray) -> None:
        """Confirm tracks ``rows``; those without a public id get the next ones, in row order (the order the
        tracks were born)."""
        self.states[rows] = TrackState.CONFIRMED
        new = rows[self.ids[rows] == 0]
        if len(new):
            self.ids[new] = np.arange(self.next_id, self.next_id + len(new), dtype=np.int64)
            self.next_id += len(new)

    def public_ids(self, rows: np.ndarray) -> np.ndarray:
        """Ids to report for tracks ``rows``: the public id, or minus the key while a track has none."""
        ids = self.ids[rows]
        return np.where(ids > 0, ids, -self.keys[rows])

    def keep(self, mask: np.ndarray) -> None:
        """Delete the tracks where ``mask`` is False."""
        for name in ("keys", "ids", "mean", "covariance", "states", "hits", "misses", "last_seen", "scores", "classes",
                     "det_boxes", "steps_since"):
            setattr(self, name, getattr(self, name)[mask])
