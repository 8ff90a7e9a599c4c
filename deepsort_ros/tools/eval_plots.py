"""PNG plots for ``deepsort-eval``: a track-id timeline coloured by true identity, and a run comparison."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from deepsort_ros.tools import mot

PERCENT_METRICS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def plot_timeline(gt: mot.MotRows, results: mot.MotRows, seq_length: int, path: str | Path,
                  title: str = "") -> Path:
    """Each track id as a row over frames, each point coloured by the person it covers (grey: nobody).

    A row changing colour is an identity switch; one colour spread over several rows is a fragmented
    person.
    """
    plt = _pyplot()
    path = Path(path)
    covered = mot.match_to_ground_truth(gt, results, seq_length)
    track_ids = np.unique(results.ids)
    rows = np.searchsorted(track_ids, results.ids)
    gt_ids = np.unique(gt.ids)
    # tab20 without its two greys, which are reserved for boxes covering nobody.
    palette = [colour for index, colour in enumerate(plt.get_cmap("tab20").colors) if index not in (14, 15)]
    figure, axes = plt.subplots(figsize=(12, max(3.0, 0.12 * len(track_ids) + 1.5)), dpi=100)
    missed = covered < 0
    axes.scatter(results.frames[missed], rows[missed], s=4, c="0.75", marker="|", label="no person")
    for index, person in enumerate(gt_ids):
        mine = covered == person
        if mine.any():
            axes.scatter(results.frames[mine], rows[mine], s=4, marker="|", color=palette[index % len(palette)],
                         label=f"person {person}")
    axes.set_xlim(0, seq_length + 1)
    axes.set_xlabel("frame")
    axes.set_ylabel("track (in order of id)")
    axes.set_title(title or "track ids over time, coloured by ground-truth identity")
    if len(gt_ids) <= 40:
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, markerscale=3, frameon=False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def plot_comparison(runs: dict[str, dict], path: str | Path) -> Path:
    """Grouped bars of HOTA, DetA, AssA, MOTA, IDF1 and a panel of ID switches, one bar per run."""
    if not runs:
        raise ValueError("nothing to compare: no runs given")
    plt = _pyplot()
    path = Path(path)
    labels = list(runs)
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=100,
                                         gridspec_kw={"width_ratios": [4, 1]})
    width = 0.8 / len(labels)
    positions = np.arange(len(PERCENT_METRICS))
    for index, label in enumerate(labels):
        values = [float(runs[label].get(key, np.nan)) for key in PERCENT_METRICS]
        bars = left.bar(positions + index * width, values, width, label=label)
        left.bar_label(bars, fmt="%.1f", fontsize=7)
    left.set_xticks(positions + 0.4 - width / 2, PERCENT_METRICS)
    left.set_ylabel("percent")
    left.legend(fontsize=8)
    switches = [float(runs[label].get("IDSW", np.nan)) for label in labels]
    bars = right.bar(np.arange(len(labels)), switches, color=[f"C{i % 10}" for i in range(len(labels))])
    right.bar_label(bars, fmt="%.0f", fontsize=7)
    right.set_xticks(np.arange(len(labels)), labels, rotation=30, ha="right", fontsize=7)
    right.set_title("ID switches")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
