"""Tracker-only timing: a real MOT sequence with its appearance features, and synthetic crowds of any size.

``deepsort-bench`` calls these; ``python -m deepsort_ros.tools.tracker_timing [SEQ_DIR]`` prints both as JSON.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from deepsort_ros.core import Tracker, TrackerConfig


def _summary(times_ms: np.ndarray, **extra) -> dict:
    return {"median_ms": round(float(np.median(times_ms)), 4),
            "p95_ms": round(float(np.percentile(times_ms, 95)), 4),
            "mean_ms": round(float(np.mean(times_ms)), 4), "frames": int(len(times_ms)), **extra}


def time_mot_sequence(seq_dir: str | Path, features: str | Path | None = None,
                      config: TrackerConfig | None = None) -> dict:
    """Per-frame ``Tracker.update`` time over a MOT sequence's det.txt (and features .npy, if given).

    Returns
    -------
    dict
        ``median_ms, p95_ms, mean_ms, frames, sequence, feature_dim``.
    """
    from deepsort_ros.tools import mot
    from deepsort_ros.tools.eval import run_sequence

    seq_dir = Path(seq_dir)
    feature_array = None
    if features is not None:
        detections = mot.read_mot_rows(seq_dir / "det" / "det.txt")
        feature_array = mot.load_features(features, len(detections))
    _, times_ms = run_sequence(seq_dir, config or TrackerConfig(), feature_array, progress=False)
    return _summary(times_ms, sequence=mot.read_seqinfo(seq_dir).name,
                    feature_dim=0 if feature_array is None else int(feature_array.shape[1]))


def sequence_features(seq_dir: str | Path) -> Path | None:
    """The sequence's appearance features file (the first ``det/features*.npy``), or None."""
    features = sorted((Path(seq_dir) / "det").glob("features*.npy"))
    return features[0] if features else None


def synthetic_crowd(num_objects: int, feature_dim: int, frames: int, seed: int = 0, width: float = 1920.0,
                    height: float = 1080.0, miss_rate: float = 0.05):
    """Yield ``(boxes_xyxy, scores, features)`` per frame for people walking straight across an image.

    Each object keeps a fixed appearance vector (plus noise), is missed now and then and sometimes detected
    with a low score, so tracks coast, re-match, take the low-score stage and are born as in real scenes.
    """
    rng = np.random.default_rng(seed)
    heights = rng.uniform(40.0, 160.0, num_objects)
    sizes = np.column_stack([0.4 * heights, heights])
    centres = rng.uniform([0.0, 0.0], [width, height], (num_objects, 2))
    velocities = rng.normal(0.0, 3.0, (num_objects, 2))
    identities = rng.normal(size=(num_objects, feature_dim)).astype(np.float32)
    for _ in range(frames):
        centres = np.mod(centres + velocities, [width, height])
        seen = rng.random(num_objects) > miss_rate
        jitter = rng.normal(0.0, 1.0, (num_objects, 2))
        boxes = np.concatenate([centres - sizes / 2 + jitter, centres + sizes / 2 + jitter], axis=1)[seen]
        # Mostly confident detections, as a CNN detector gives visible people, and a tenth doubtful ones for
        # the low-score stage.
        doubtful = rng.random(num_objects) < 0.1
        scores = np.where(doubtful, rng.uniform(0.5, 0.8, num_objects), rng.uniform(0.85, 1.0, num_objects))[seen]
        features = identities[seen] + 0.3 * rng.normal(size=(int(seen.sum()), feature_dim)).astype(np.float32)
        yield boxes, scores, features


def time_synthetic(num_objects: int = 200, feature_dim: int = 512, frames: int = 200, warmup: int = 20,
                   seed: int = 0, config: TrackerConfig | None = None) -> dict:
    """Per-frame ``Tracker.update`` time with ``num_objects`` people and ``feature_dim``-d appearance.

    The first ``warmup`` frames (tracks being born) are not timed.

    Returns
    -------
    dict
        ``median_ms, p95_ms, mean_ms, frames, num_objects, feature_dim, mean_tracks``.
    """
    tracker = Tracker(config or TrackerConfig())
    times_ms, counts = [], []
    for index, (boxes, scores, features) in enumerate(synthetic_crowd(num_objects, feature_dim,
                                                                      frames + warmup, seed)):
        began = time.perf_counter()
        tracks = tracker.update(boxes, scores, features)
        elapsed = (time.perf_counter() - began) * 1e3
        if index >= warmup:
            times_ms.append(elapsed)
            counts.append(len(tracks))
    return _summary(np.asarray(times_ms), num_objects=num_objects, feature_dim=feature_dim,
                    mean_tracks=round(float(np.mean(counts)), 1))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    report = {"synthetic_200x512": time_synthetic(200, 512)}
    if argv:
        report["sequence"] = time_mot_sequence(argv[0], sequence_features(argv[0]))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
