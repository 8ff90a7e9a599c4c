"""``deepsort-eval``: run the tracker on MOTChallenge sequences and score them with TrackEval.

Usage::

    deepsort-eval SEQ_DIR [SEQ_DIR ...] [--features NPY | --appearance BACKEND] [--colour-weight W]
                  [--frames [NAME=]VIDEO_OR_IMAGE_DIR ...] [--config KEY=VALUE ...] [--out DIR] [--plot]
                  [--calibration FILE [--spatial KEY=VALUE ...]]
    deepsort-eval --compare RUN1.json RUN2.json ... --out DIR

Each sequence runs as a user would run it: with the appearance features shipped beside its detections
(``det/features_*.npy``) when it has them, by motion alone when it has none; ``--features NPY`` (one
sequence) or ``--appearance BACKEND`` (features computed from the frames; ``none``: motion only everywhere;
``ground-truth``: an ideal appearance read from gt.txt, :func:`ground_truth_features`, for upper bounds)
choose instead. ``--colour-weight W`` mixes colour histograms of the frames into the appearance
(:mod:`deepsort_ros.perception.colour_mix`): into a features file's features, as the torch and onnx backends do
with their network's (whose own ``colour_weight``, 0.15 unless given here, they use otherwise). Tracker
settings not given with ``--config`` take the appearance's preset (``perception.tracker_preset``: motion
alone, the histogram embedder and colour-mixed network features have one), then the TrackerConfig defaults; a
features file without colour brings no preset (the defaults are tuned for learned features). stdout gets one
row per sequence, their mean, and as its last line one JSON object ``{"sequences": {NAME: {HOTA, DetA, AssA,
MOTA, IDF1, IDSW, ms_per_frame}}, "mean": {...}}`` (percent; IDSW a count; ms_per_frame the median
tracker-only time per frame). ``--out`` also writes ``results.txt`` (MOT format) and ``metrics.json`` (into
``DIR/NAME/`` with several sequences); ``--plot`` adds ``timeline.png``. ``--compare`` draws ``compare.png``
from several ``metrics.json`` files. ``--calibration`` (a Tsai calibration, e.g. PETS09-S2L1's View_001.xml;
one sequence) also gives every reported track a ground position and velocity in metres
(:mod:`deepsort_ros.tools.spatial_eval`): ``results.txt`` fills MOT's world columns x, y, z, ``velocities.txt``
holds ``frame,id,vx,vy,vz`` (m/s), and the sequence's JSON entry gains ``"spatial"``: position and velocity
errors (median, p90) against gt world positions.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from deepsort_ros.core import Tracker, TrackerConfig
from deepsort_ros.tools import mot
from deepsort_ros.tools.overrides import parse_overrides

SUMMARY_KEYS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW")
# Appearance features shipped beside a sequence's detections, one row per det.txt row.
SHIPPED_FEATURES = "features_*.npy"
# --appearance value for an ideal appearance read from the ground truth (upper bounds, not tracking).
GROUND_TRUTH = "ground-truth"


def iter_frames(source: str | Path):
    """Yield BGR frames of a video file or of the images of a folder (in natural name order).

    Raises
    ------
    ValueError
        When the source is missing or unreadable, or an image of a folder cannot be read (a skipped image
        would shift every later frame against det.txt).
    """
    # OpenCV (behind the sources) is only needed when appearance is computed from frames.
    from deepsort_ros.sources import ImageFolderSource, VideoFileSource

    source = Path(source)
    if not source.exists():
        raise ValueError(f"frames source {source} not found")
    with (ImageFolderSource(source) if source.is_dir() else VideoFileSource(source)) as frames:
        for expected, frame in enumerate(frames):
            if frame.index != expected:
                raise ValueError(f"cannot read frame {expected + 1} of {source}")
            yield frame.bgr


def find_frames(seq_dir: Path, info: mot.SeqInfo) -> Path:
    """The sequence's own frames: its image folder, else its single video under ``video/``."""
    image_dir = seq_dir / info.im_dir
    if image_dir.is_dir():
        return image_dir
    videos = sorted((seq_dir / "video").glob("*.*")) if (seq_dir / "video").is_dir() else []
    if len(videos) == 1:
        return videos[0]
    raise ValueError(f"no frames for {seq_dir}: pass --frames VIDEO_OR_IMAGE_DIR (--frames {info.name}=... with "
                     "several sequences; needed by --appearance and --colour-weight)")


def named_frames(value: str) -> tuple[str | None, Path]:
    """A ``--frames`` value as ``(sequence name, path)``: ``NAME=PATH``, or ``(None, PATH)`` for a bare path
    (one whose text before any ``=`` is a folder path)."""
    name, separator, path = value.partition("=")
    if not separator or "/" in name or "\\" in name:
        return None, Path(value)
    return name, Path(path)


def frames_for(seq_dir: Path, info: mot.SeqInfo, frames: list[str] | None) -> Path:
    """The frames of a sequence: the ``--frames`` value naming it (``NAME=PATH``, or a bare PATH when only
    one sequence runs), else :func:`find_frames`."""
    for name, path in map(named_frames, frames or []):
        if name is None or name == info.name:
            return path
    return find_frames(seq_dir, info)


def build_appearance(spec: str, colour_weight: float | None = None):
    """An embedder for a backend spec (``none`` gives None), with ``colour_weight`` for the network backends
    when given; perception is imported only here."""
    from deepsort_ros.perception import build_embedder, parse_backend_spec

    config = parse_backend_spec(spec)
    if colour_weight is not None:
        config["colour_weight"] = colour_weight
    return build_embedder(config)


def embed_detections(seq_dir: Path, embedder, frames: Path) -> np.ndarray:
    """``embedder.embed(bgr, boxes_xyxy)`` of every det.txt box in its frame of ``frames`` (frame i = MOT frame
    i), one row per det.txt row (file order).

    Raises
    ------
    ValueError
        When ``frames`` cannot be read or ends before the sequence does.
    """
    info = mot.read_seqinfo(seq_dir)
    detections = mot.read_mot_rows(seq_dir / "det" / "det.txt")
    starts = detections.frame_slices(info.seq_length)
    rows: list[np.ndarray] = []
    frame_iter = iter_frames(frames)
    for frame in range(1, info.seq_length + 1):
        image = next(frame_iter, None)
        if image is None:
            raise ValueError(f"{frames} ends before frame {frame} of {info.seq_length}")
        part = slice(starts[frame], starts[frame + 1])
        if part.stop > part.start:
            rows.append(np.asarray(embedder.embed(image, detections.boxes_xyxy[part].astype(np.float32)),
                                   dtype=np.float32))
    if not rows:
        return np.zeros((0, 0), np.float32)         # no detections: nothing to describe
    embedded = np.empty((len(detections), rows[0].shape[1]), np.float32)
    # Rows are in (frame, file) order here; detections.order maps them back to det.txt rows.
    embedded[detections.order] = np.concatenate(rows)
    return embedded


def mix_colour(seq_dir: Path, features: np.ndarray, frames: Path, colour_weight: float) -> np.ndarray:
    """A features file's rows (det.txt order) with the colour histograms of their boxes in ``frames`` mixed in
    (:func:`deepsort_ros.perception.colour_mix.mix`), as the network backends mix them."""
    from deepsort_ros.perception.colour_mix import mix
    from deepsort_ros.perception.histogram_embedder import HistogramEmbedder

    return mix(features, embed_detections(seq_dir, HistogramEmbedder(), frames), colour_weight)


def ground_truth_features(seq_dir: Path, seed: int = 0) -> np.ndarray:
    """An ideal appearance, to measure what tracking would score with a perfect ReID network.

    Each det.txt box is paired one-to-one with the ground-truth boxes of its frame
    (:func:`mot.match_to_ground_truth`: IoU >= 0.5; people marked ``consider = 0`` included: they are real
    people). A paired box's feature is the one-hot of its person, so the same person is at cosine distance 0 and
    different people at 1; an unpaired box (a false detection) gets a random unit vector of its own (seeded),
    nearly orthogonal to every other.

    Returns
    -------
    (N, P + 64) float32
        One row per det.txt row (file order); P people.
    """
    info = mot.read_seqinfo(seq_dir)
    detections = mot.read_mot_rows(seq_dir / "det" / "det.txt")
    truth = mot.read_mot_rows(seq_dir / "gt" / "gt.txt")
    people = np.unique(truth.ids)
    person_ids = mot.match_to_ground_truth(truth, detections, info.seq_length)   # per sorted detection row
    known = person_ids >= 0
    noise_dim = 64
    features = np.zeros((len(detections), len(people) + noise_dim), np.float32)
    features[known.nonzero()[0], np.searchsorted(people, person_ids[known])] = 1.0
    noise = np.random.default_rng(seed).standard_normal(((~known).sum(), noise_dim))
    features[~known, len(people):] = noise / np.linalg.norm(noise, axis=1, keepdims=True)
    in_file_order = np.empty_like(features)
    in_file_order[detections.order] = features
    return in_file_order


def appearance_tracker_preset(spec: str) -> dict:
    """Tracker settings the appearance backend ``spec`` brings (``perception.tracker_preset``).

    det.txt holds a CNN detector's boxes and scores, for which the TrackerConfig defaults were chosen, so no
    detector preset applies.
    """
    from deepsort_ros.perception import parse_backend_spec, tracker_preset

    return tracker_preset(embedder_backend=parse_backend_spec(spec)["backend"])


def shipped_features(seq_dir: Path) -> Path | None:
    """The sequence's ``det/features_*.npy``, or None when it has none; several raise ValueError (which one
    is meant must be said with --features)."""
    found = sorted((seq_dir / "det").glob(SHIPPED_FEATURES))
    if len(found) > 1:
        raise ValueError(f"{seq_dir / 'det'} holds several feature files {[p.name for p in found]}: choose one "
                         "with --features")
    return found[0] if found else None


def run_sequence(seq_dir: str | Path, config: TrackerConfig, features: np.ndarray | None = None,
                 progress: bool = True, on_frame=None):
    """Track a MOT sequence's detections, timestamping frames from ``seqinfo.ini``'s frame rate as a
    camera driver would.

    Parameters
    ----------
    seq_dir : path
        Folder with ``seqinfo.ini`` and ``det/det.txt``.
    config : TrackerConfig
    features : (N, D) array, optional
        Appearance per det.txt row (file order); :func:`embed_detections` computes it from frames.
    progress : bool
        Show a tqdm bar on stderr.
    on_frame : callable, optional
        Called as ``on_frame(frame_number, timestamp_s, tracks)`` after each frame is tracked (e.g.
        :class:`deepsort_ros.tools.spatial_eval.MetricRecorder`).

    Returns
    -------
    results : mot.MotRows
        Reported tracks of every frame.
    times_ms : (seq_length,) float
        Tracker-only time per frame.
    """
    from tqdm import tqdm

    seq_dir = Path(seq_dir)
    info = mot.read_seqinfo(seq_dir)
    detections = mot.read_mot_rows(seq_dir / "det" / "det.txt")
    if features is not None:
        if len(features) != len(detections):
            raise ValueError(f"{len(features)} feature rows for {len(detections)} det.txt rows")
        features = np.asarray(features)[detections.order]
    starts = detections.frame_slices(info.seq_length)
    tracker = Tracker(config)
    times_ms = np.zeros(info.seq_length)
    rows = []
    for frame in tqdm(range(1, info.seq_length + 1), desc=info.name, unit="frame", disable=not progress,
                      file=sys.stderr):
        part = slice(starts[frame], starts[frame + 1])
        boxes, scores = detections.boxes_xyxy[part], detections.scores[part]
        frame_features = features[part] if features is not None else None
        began = time.perf_counter()
        tracks = tracker.update(boxes, scores, frame_features, timestamp=(frame - 1) / info.frame_rate)
        times_ms[frame - 1] = (time.perf_counter() - began) * 1e3
        if on_frame is not None:
            on_frame(frame, (frame - 1) / info.frame_rate, tracks)
        rows.append((np.full(len(tracks), frame), tracks.ids, tracks.boxes_xyxy, tracks.scores))
    frames_col = np.concatenate([r[0] for r in rows]).astype(np.int64)
    results = mot.MotRows(frames=frames_col, ids=np.concatenate([r[1] for r in rows]),
                          boxes_xyxy=np.concatenate([r[2] for r in rows]).reshape(-1, 4),
                          scores=np.concatenate([r[3] for r in rows]), order=np.arange(len(frames_col)))
    return results, times_ms


def evaluate_sequence(seq_dir: str | Path, config: TrackerConfig, features=None, progress: bool = True,
                      on_frame=None) -> tuple[dict, mot.MotRows]:
    """Track and score one sequence; returns (metrics with ``ms_per_frame``, results)."""
    seq_dir = Path(seq_dir)
    info = mot.read_seqinfo(seq_dir)
    results, times_ms = run_sequence(seq_dir, config, features, progress, on_frame)
    metrics = mot.evaluate(mot.read_mot_rows(seq_dir / "gt" / "gt.txt"), results, info.seq_length, info.name)
    metrics["ms_per_frame"] = round(float(np.median(times_ms)), 4)
    metrics["ms_per_frame_p95"] = round(float(np.percentile(times_ms, 95)), 4)
    return metrics, results


def add_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments saying how sequences are tracked (appearance, frames, tracker settings), shared with
    ``deepsort-tune``; :func:`check_tracking_arguments` checks them."""
    parser.add_argument("--frames", action="append", metavar="[NAME=]VIDEO_OR_IMAGE_DIR",
                        help="video file or image folder of a sequence, for --appearance and --colour-weight "
                             "(frame i = MOT frame i); with several SEQ_DIRs give NAME=PATH (repeatable); "
                             "default: each sequence's image folder or its only video/*")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--features", metavar="NPY",
                        help=".npy appearance features, one row per det.txt row (one SEQ_DIR only); default: "
                             "the sequence's det/features_*.npy when present")
    source.add_argument("--appearance", metavar="BACKEND",
                        help="appearance computed from the frames instead: none (motion only), histogram, "
                             "torch:PATH_OR_ARCH, onnx:PATH (a backend's tracker preset fills the settings "
                             "--config leaves unset); or ground-truth: an ideal appearance from gt.txt (each "
                             "person's own one-hot), to measure what a perfect ReID network would give")
    parser.add_argument("--colour-weight", type=float, metavar="W",
                        help="mix colour histograms of the frames into the appearance with this share (0-0.9): "
                             "into features files' features, and as the torch and onnx backends' colour_weight "
                             "(default: features files as shipped, the backends' own 0.15)")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="tracker setting override (repeatable), e.g. --config max_age=60")


def check_tracking_arguments(args, seq_dirs: list[Path]) -> None:
    """Reject combinations of :func:`add_tracking_arguments`' arguments that cannot run, with ValueError."""
    if len(seq_dirs) > 1 and args.features:
        raise ValueError("--features names one sequence's file: give one SEQ_DIR with it")
    if len(seq_dirs) > 1 and any(named_frames(value)[0] is None for value in args.frames or []):
        raise ValueError("--frames with several SEQ_DIRs names its sequence: --frames NAME=VIDEO_OR_IMAGE_DIR")
    if args.colour_weight is not None:
        from deepsort_ros.perception.colour_mix import COLOUR_WEIGHT

        low, high = COLOUR_WEIGHT.range
        if not low <= args.colour_weight <= high:
            raise ValueError(f"--colour-weight {args.colour_weight:g}: must be in [{low:g}, {high:g}]")
    if args.colour_weight is not None and args.appearance in ("none", "histogram", GROUND_TRUTH):
        raise ValueError(f"--colour-weight mixes colour into features files' and the torch and onnx networks' "
                         f"features, not into --appearance {args.appearance}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepsort-eval",
        description="Run the tracker on MOTChallenge sequences and score them with TrackEval (HOTA, CLEAR, "
                    "Identity); people marked consider=0 and tracker boxes on them (IoU >= 0.5) are not scored. "
                    "Each sequence uses its det/features_*.npy appearance when it has one, motion alone when "
                    "not. Prints a row per sequence and the mean; the last stdout line is a JSON summary.",
        epilog="Example: deepsort-eval data/mot/PETS09-S2L1 data/mot/ETH-Bahnhof --out out/eval --plot")
    parser.add_argument("seq_dirs", nargs="*", metavar="SEQ_DIR",
                        help="MOT sequence folders (seqinfo.ini, gt/gt.txt, det/det.txt)")
    add_tracking_arguments(parser)
    parser.add_argument("--out", metavar="DIR", help="folder for results.txt, metrics.json and plots "
                                                     "(DIR/NAME/ per sequence when there are several)")
    parser.add_argument("--calibration", metavar="FILE",
                        help="Tsai camera calibration (e.g. PETS09 View_001.xml): also compute each track's "
                             "ground position and velocity in metres (results.txt world columns, velocities.txt) "
                             "and score them against gt world positions")
    parser.add_argument("--spatial", action="append", default=[], metavar="KEY=VALUE",
                        help="spatial setting override with --calibration (repeatable), e.g. --spatial "
                             "accel_std=0.5")
    parser.add_argument("--plot", action="store_true", help="also write timeline.png to --out")
    parser.add_argument("--compare", nargs="+", metavar="METRICS_JSON",
                        help="instead of tracking: bar chart of several metrics.json files into --out")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _compare(args) -> dict:
    from deepsort_ros.tools.eval_plots import plot_comparison

    if not args.out:
        raise ValueError("--compare needs --out DIR for compare.png")
    runs = {}
    for path in args.compare:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"metrics file {path} not found")
        metrics = json.loads(path.read_text())
        label = metrics.get("name") or path.parent.name or path.stem
        if label in runs:
            label = f"{label} ({path})"
        runs[label] = metrics
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_path = plot_comparison(runs, out / "compare.png")
    return {"compare": str(plot_path), "runs": {label: {k: m.get(k) for k in SUMMARY_KEYS}
                                                for label, m in runs.items()}}


def sequence_appearance(seq_dir: Path, features: str | None, appearance: str | None,
                        colour_weight: float | None = None) -> tuple[str, dict]:
    """How a sequence is tracked: ``(source, preset)`` with source ``features:PATH``, a backend spec (``none``
    for motion alone) or ``ground-truth``, and the tracker settings that source brings (with colour mixed into a
    features file's features, those of colour-mixed network features)."""
    from deepsort_ros.perception import colour_mix

    if appearance is None:
        path = features or shipped_features(seq_dir)
        if path is not None:
            return f"features:{path}", dict(colour_mix.TRACKER_SETTINGS) if colour_weight else {}
        appearance = "none"
    if appearance == GROUND_TRUTH:
        return appearance, {}       # as features files: the TrackerConfig defaults are tuned for features
    return appearance, appearance_tracker_preset(appearance)


def prepare_appearance(seq_dir: Path, args) -> tuple[str, dict, np.ndarray | None]:
    """A sequence's appearance as the arguments (``features``, ``appearance``, ``colour_weight``, ``frames``)
    say: ``(source, preset, features)`` with :func:`sequence_appearance`'s source (``+ W colour`` added when
    colour is mixed in) and preset, and the features per det.txt row (None for motion alone), computed from
    the frames once for a backend."""
    info = mot.read_seqinfo(seq_dir)
    colour_weight = args.colour_weight
    source, preset = sequence_appearance(seq_dir, args.features, args.appearance, colour_weight)
    if source == "none":
        return source, preset, None
    if source == GROUND_TRUTH:
        return source, preset, ground_truth_features(seq_dir)
    if not source.startswith("features:"):
        embedder = build_appearance(source, colour_weight)
        return source, preset, embed_detections(seq_dir, embedder, frames_for(seq_dir, info, args.frames))
    features = mot.load_features(source[len("features:"):], len(mot.read_mot_rows(seq_dir / "det" / "det.txt")))
    if colour_weight:
        features = mix_colour(seq_dir, features, frames_for(seq_dir, info, args.frames), colour_weight)
        source = f"{source} + {colour_weight:g} colour"
    return source, preset, features


def evaluate_one(seq_dir: Path, args, overrides: dict, out: Path | None) -> dict:
    """Track and score one sequence as the arguments say; writes its files under ``out``; returns its
    summary and the appearance used."""
    info = mot.read_seqinfo(seq_dir)
    source, preset, features = prepare_appearance(seq_dir, args)
    config = TrackerConfig.from_dict({**preset, **overrides})
    recorder = None
    if args.spatial and not args.calibration:
        raise ValueError("--spatial needs --calibration FILE")
    if args.calibration:
        from deepsort_ros.tools.spatial_eval import MetricRecorder

        recorder = MetricRecorder(args.calibration, parse_overrides(args.spatial))
    metrics, results = evaluate_sequence(seq_dir, config, features, progress=not args.no_progress,
                                         on_frame=recorder)
    summary = summarise(metrics)
    metric = recorder.rows() if recorder is not None else None
    if metric is not None:
        from deepsort_ros.tools.spatial_eval import spatial_errors

        metrics["spatial"] = summary["spatial"] = spatial_errors(seq_dir, results, metric, info.seq_length,
                                                                 info.frame_rate)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        mot.write_results(out / "results.txt", results.frames, results.ids, results.boxes_xyxy, results.scores,
                          None if metric is None else metric["positions"])
        if metric is not None:
            from deepsort_ros.tools.spatial_eval import write_velocities

            write_velocities(out / "velocities.txt", metric)
        record = {"name": out.name, "sequence": info.name, "appearance": source, **metrics,
                  "tracker_config": config.to_dict()}
        (out / "metrics.json").write_text(json.dumps(record, indent=2) + "\n")
        if args.plot:
            from deepsort_ros.tools.eval_plots import plot_timeline

            gt = mot.read_mot_rows(seq_dir / "gt" / "gt.txt")
            plot_timeline(gt, results, info.seq_length, out / "timeline.png",
                          title=f"{info.name}: HOTA {metrics['HOTA']:.1f}, IDF1 {metrics['IDF1']:.1f}, "
                                f"IDSW {metrics['IDSW']}")
    return {"name": info.name, "appearance": source, "summary": summary}


def summarise(metrics: dict) -> dict:
    """The summary fields (``SUMMARY_KEYS`` and ``ms_per_frame``) of a sequence's metrics."""
    return {**{k: metrics[k] for k in SUMMARY_KEYS}, "ms_per_frame": metrics["ms_per_frame"]}


def mean_summary(summaries: list[dict]) -> dict:
    """Mean of every summary field over sequences (each sequence weighs the same)."""
    return {key: round(float(np.mean([s[key] for s in summaries])), 3) for key in (*SUMMARY_KEYS, "ms_per_frame")}


def format_table(rows: dict, mean: dict, appearance: dict) -> str:
    """The per-sequence rows and the mean as an aligned text table."""
    keys = (*SUMMARY_KEYS, "ms_per_frame")
    width = max([len(name) for name in rows] + [4])
    lines = [f"{'sequence':<{width}}  " + "  ".join(f"{k:>12}" for k in keys) + "  appearance"]
    for name, summary in (*rows.items(), ("mean", mean)):
        cells = "  ".join(f"{summary[k]:>12}" if k == "IDSW" and name != "mean" else f"{summary[k]:>12.3f}"
                          for k in keys)
        source = appearance.get(name, "")
        if source.startswith("features:"):
            source = f"features:{Path(source[len('features:'):]).name}"
        lines.append(f"{name:<{width}}  {cells}  {source}".rstrip())
    return "\n".join(lines)


def _evaluate(args) -> dict:
    if not args.seq_dirs:
        raise ValueError("SEQ_DIR is required (or use --compare)")
    if args.plot and not args.out:
        raise ValueError("--plot needs --out DIR")
    seq_dirs = [Path(d) for d in args.seq_dirs]
    if len(seq_dirs) > 1 and args.calibration:
        raise ValueError("--calibration names one sequence's file: give one SEQ_DIR with it")
    check_tracking_arguments(args, seq_dirs)
    overrides = parse_overrides(args.config)
    rows, appearance = {}, {}
    for seq_dir in seq_dirs:
        name = mot.read_seqinfo(seq_dir).name
        if name in rows:
            raise ValueError(f"sequence {name} is given twice")
        out = None if not args.out else Path(args.out) / name if len(seq_dirs) > 1 else Path(args.out)
        done = evaluate_one(seq_dir, args, overrides, out)
        rows[name], appearance[name] = done["summary"], done["appearance"]
    mean = mean_summary(list(rows.values()))
    print(format_table(rows, mean, appearance))
    return {"sequences": rows, "mean": mean}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = _compare(args) if args.compare else _evaluate(args)
    except ValueError as error:
        print(f"deepsort-eval: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
