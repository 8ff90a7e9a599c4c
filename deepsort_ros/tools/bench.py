"""``deepsort-bench``: where the milliseconds go, per stage, on a video or synthetic frames.

Prints a table of per-stage median and 95th-percentile milliseconds (decode, detect, embed, motion,
track, spatial) for the pipeline on the frames, the time to crop + resize + normalise 30 boxes of a 640x480
frame, and how the tracker's update time grows with the number of objects (512-d features). With
``--json`` the last line is one JSON object::

    {"stages_ms": {"decode": ..., "detect": ..., "embed": ..., "motion": ..., "track": ..., "spatial": ...},
     "crop_preprocess_30_ms": ..., "track_scaling_ms": {"10": ..., "50": ..., "100": ..., "200": ...}}

(medians). ``--gt`` adds the detector's recall and precision against MOTChallenge ground truth (frame i
of the video = MOT frame i), ``--mot SEQ_DIR`` the tracker's own time per frame on a MOT sequence with
its appearance features (``"track_sequence_ms"`` in the JSON), ``--plot`` writes a PNG of the tracker
scaling. Camera motion estimation is
switched on so its cost is measured even on fixed cameras. The ``spatial`` stage (tracks in metres) is timed
apart, in depth mode with ``SPATIAL_TRACKS`` tracks on a 640x480 16UC1 depth image of the synthetic RGB-D
scene (:mod:`deepsort_ros.tools.synthetic_depth`), its worst case.

Examples::

    deepsort-bench
    deepsort-bench --frames vtest.avi --appearance torch:osnet_x0_25 --random-init
    deepsort-bench --frames vtest.avi --detector motion --gt PETS09-S2L1/gt/gt.txt --json
    deepsort-bench --mot PETS09-S2L1 --json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from deepsort_ros.perception import parse_backend_spec
from deepsort_ros.pipeline import STAGES as PIPELINE_STAGES, Pipeline
from deepsort_ros.tools.synthetic_scene import SyntheticScene

STAGES = ("decode",) + PIPELINE_STAGES
# The stages timed on the benchmark's frames; "spatial" is timed on its own RGB-D scene.
FRAME_STAGES = tuple(stage for stage in STAGES if stage != "spatial")
SPATIAL_TRACKS = 20
SCALING_COUNTS = (10, 50, 100, 200)
FEATURE_DIM = 512


def video_frames(path: str, limit: int) -> Iterator[tuple[np.ndarray, float]]:
    """``(bgr, decode_ms)`` for up to ``limit`` frames of a video file."""
    import cv2

    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise ValueError(f"cannot open video {path}")
    try:
        for _ in range(limit):
            start = time.perf_counter()
            ok, bgr = capture.read()
            elapsed = (time.perf_counter() - start) * 1e3
            if not ok:
                return
            yield bgr, elapsed
    finally:
        capture.release()


def synthetic_frames(limit: int, people: int = 5) -> Iterator[tuple[np.ndarray, float]]:
    """``(bgr, decode_ms)`` of a synthetic 640x480 scene, each frame JPEG-encoded then timed decoding."""
    import cv2

    scene = SyntheticScene(people=people, empty_frames=30)
    for index in range(limit):
        encoded = cv2.imencode(".jpg", scene.frame(index)[0], [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
        start = time.perf_counter()
        bgr = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        yield bgr, (time.perf_counter() - start) * 1e3


def summarise(samples: list[float]) -> dict[str, float]:
    """Median and 95th percentile of a list of milliseconds (zeros when empty)."""
    if not samples:
        return {"median": 0.0, "p95": 0.0}
    values = np.asarray(samples)
    return {"median": float(np.median(values)), "p95": float(np.percentile(values, 95))}


def time_call(function: Callable[[], Any], repeats: int, warmup: int = 3) -> float:
    """Median milliseconds of ``function()`` over ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def random_boxes(count: int, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` person-sized boxes inside a ``width`` x ``height`` frame."""
    box_w = rng.uniform(20, 80, count)
    box_h = box_w * rng.uniform(2.0, 3.0, count)
    box_h = np.minimum(box_h, height - 1)
    x1 = rng.uniform(0, width - box_w)
    y1 = rng.uniform(0, height - box_h)
    return np.stack([x1, y1, x1 + box_w, y1 + box_h], axis=1).astype(np.float32)


def crop_preprocess_ms(embedder, repeats: int = 30) -> tuple[float, str]:
    """Median ms to cut, resize and normalise 30 boxes of a 640x480 frame, and what was timed.

    Times the appearance backend's own ``preprocess`` when it has one (torch: its crop sampler on its
    device, synchronising CUDA; onnx: the CPU sampler writing NCHW), else the CPU sampler's NHWC layout,
    which the torch backend uses on a CPU (256x128 crops).
    """
    from deepsort_ros.perception.crops import CropSampler

    embedder = getattr(embedder, "network", embedder)  # a network with colour mixed in: the network's crops
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    boxes = random_boxes(30, 640, 480, rng)
    preprocess = getattr(embedder, "preprocess", None)
    if preprocess is None:
        sampler = CropSampler(256, 128)
        return time_call(lambda: sampler(frame, boxes), repeats), "CPU remap sampler, NHWC"
    device = embedder.device
    # A torch device on a GPU runs asynchronously; the onnx backend cuts its crops on the CPU.
    synchronise = None
    if getattr(device, "type", None) == "cuda":
        import torch

        synchronise = torch.cuda.synchronize

    def run():
        preprocess(frame, boxes)
        if synchronise is not None:
            synchronise(device)

    what = f"{embedder.crop} sampler on {device}" if hasattr(embedder, "crop") else "CPU remap sampler, NCHW"
    return time_call(run, repeats), f"{embedder.description}: {what}"


def track_scaling(counts=SCALING_COUNTS, dim: int = FEATURE_DIM, frames: int = 100) -> dict[str, dict[str, float]]:
    """Tracker update ms (``median_ms``, ``p95_ms``) with ``n`` people and ``dim``-d features, per n in ``counts``.

    Uses the core's synthetic crowd timing (:func:`deepsort_ros.tools.tracker_timing.time_synthetic`).
    """
    from deepsort_ros.tools.tracker_timing import time_synthetic

    return {str(n): time_synthetic(n, dim, frames=frames) for n in counts}


def spatial_stage_ms(tracks: int = SPATIAL_TRACKS, frames: int = 60) -> list[float]:
    """Milliseconds of the pipeline's spatial stage per frame in depth mode: ``tracks`` people walking in the
    synthetic RGB-D scene (640x480, 16UC1 depth), detected by their true boxes."""
    from deepsort_ros.core.spatial_estimator import SpatialFrame
    from deepsort_ros.tools.synthetic_depth import DepthScene

    rng = np.random.default_rng(0)
    people = np.column_stack([rng.uniform(-2.0, 2.0, tracks), rng.uniform(3.0, 6.5, tracks),
                              rng.uniform(-0.5, 0.5, tracks), rng.uniform(-0.3, 0.3, tracks)])
    scene = DepthScene(people=people)
    camera = scene.camera
    pipeline = Pipeline.from_config({"detector": {"backend": "external"}, "spatial": {"mode": "depth"}})
    rendered = [scene.render(index / 15.0) for index in range(min(frames, 15))]
    times = []
    for index in range(frames):
        frame = rendered[index % len(rendered)]
        result = pipeline.process(frame.bgr, index / 15.0, detections=(frame.boxes, np.ones(tracks)),
                                  spatial=SpatialFrame(camera, frame.depth_mm, 0.001))
        times.append(result.timings_ms["spatial"])
    return times


def build_pipeline(args: argparse.Namespace):
    """The Pipeline the command-line options describe (camera motion estimation on)."""
    detector = parse_backend_spec(args.detector, kind="detector")
    if detector["backend"] == "external":
        raise ValueError("--detector external has no detector to time; use motion or ultralytics:PATH")
    reid = parse_backend_spec(args.appearance)
    if args.device and detector["backend"] == "ultralytics":
        detector["device"] = args.device
    if reid["backend"] in ("torch", "onnx") and args.device:
        reid["device"] = args.device
    if reid["backend"] == "torch" and args.random_init:
        reid["random_init"] = True
    return Pipeline.from_config({"detector": detector, "reid": reid, "motion_compensation": True})


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Time everything the options ask for; returns the JSON summary plus p95 values and extras."""
    pipeline = build_pipeline(args)
    frames = video_frames(args.frames, args.num_frames) if args.frames else synthetic_frames(args.num_frames)
    samples: dict[str, list[float]] = {stage: [] for stage in FRAME_STAGES}
    quality = None
    if args.gt:
        from deepsort_ros.perception.detection_quality import DetectionCounts
        from deepsort_ros.tools.mot import read_mot_rows

        ground_truth = read_mot_rows(args.gt)
        gt_starts = ground_truth.frame_slices(args.num_frames)
        quality = DetectionCounts()
    detections = []
    for index, (bgr, decode_ms) in enumerate(frames):
        # Frame times at 10 fps (vtest.avi's rate); only the tracker's time step depends on them.
        result = pipeline.process(bgr, timestamp=index / 10.0)
        detections.append(len(result.detections[0]))
        samples["decode"].append(decode_ms)
        for stage in PIPELINE_STAGES:
            if stage in samples:
                samples[stage].append(result.timings_ms[stage])
        if quality is not None:
            here = slice(gt_starts[index + 1], gt_starts[index + 2])       # MOT frame index + 1
            quality.add(result.detections[0], ground_truth.boxes_xyxy[here], ground_truth.scores[here] != 0)
    if not samples["decode"]:
        raise ValueError(f"no frames read from {args.frames}")
    # The first frames include lazy initialisation; skip them when there are enough frames.
    skip = min(5, len(samples["decode"]) // 4)
    stats = {stage: summarise(values[skip:]) for stage, values in samples.items()}
    stats["spatial"] = summarise(spatial_stage_ms()[5:])
    crop_ms, crop_what = crop_preprocess_ms(pipeline.embedder)
    scaling = track_scaling()
    summary: dict[str, Any] = {
        "stages_ms": {stage: stats[stage]["median"] for stage in STAGES},
        "crop_preprocess_30_ms": crop_ms,
        "track_scaling_ms": {n: timing["median_ms"] for n, timing in scaling.items()},
    }
    sequence = None
    if args.mot:
        from deepsort_ros.tools.tracker_timing import sequence_features, time_mot_sequence

        sequence = time_mot_sequence(args.mot, sequence_features(args.mot))
        summary["track_sequence_ms"] = sequence["median_ms"]
    extras = {"p95_ms": {stage: stats[stage]["p95"] for stage in STAGES}, "frames": len(samples["decode"]),
              "crop_what": crop_what, "source": args.frames or "synthetic 640x480, 5 people",
              "track_scaling_p95_ms": {n: timing["p95_ms"] for n, timing in scaling.items()},
              "detections_per_frame": float(np.mean(detections)), "track_sequence": sequence}
    if quality is not None:
        extras["detector_recall"] = quality.recall
        extras["detector_precision"] = quality.precision
    return {"summary": summary, "extras": extras}


def print_table(report: dict[str, Any], args: argparse.Namespace) -> None:
    """Human-readable results."""
    summary, extras = report["summary"], report["extras"]
    print(f"deepsort-bench: {extras['frames']} frames of {extras['source']}; detector {args.detector} "
          f"({extras['detections_per_frame']:.1f} detections per frame), appearance {args.appearance}; spatial: "
          f"depth mode, {SPATIAL_TRACKS} tracks, 640x480 depth")
    print(f"{'stage':<10}{'median ms':>12}{'p95 ms':>12}")
    for stage in STAGES:
        print(f"{stage:<10}{summary['stages_ms'][stage]:>12.2f}{extras['p95_ms'][stage]:>12.2f}")
    print(f"crop + resize + normalise, 30 boxes of 640x480: {summary['crop_preprocess_30_ms']:.2f} ms "
          f"({extras['crop_what']})")
    print(f"tracker update by object count ({FEATURE_DIM}-d features):")
    print(f"{'objects':<10}{'median ms':>12}{'p95 ms':>12}")
    for n, median in summary["track_scaling_ms"].items():
        print(f"{n:<10}{median:>12.2f}{extras['track_scaling_p95_ms'][n]:>12.2f}")
    sequence = extras["track_sequence"]
    if sequence is not None:
        print(f"tracker alone on {sequence['sequence']} ({sequence['frames']} frames, {sequence['feature_dim']}-d "
              f"features): median {sequence['median_ms']:.2f} ms, p95 {sequence['p95_ms']:.2f} ms")
    if "detector_recall" in extras:
        print(f"detector vs ground truth (IoU >= 0.5): recall {extras['detector_recall']:.3f}, "
              f"precision {extras['detector_precision']:.3f}")


def plot_scaling(scaling: dict[str, float], path: str) -> None:
    """PNG of tracker update time against object count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = [int(n) for n in scaling]
    figure, axes = plt.subplots(figsize=(5, 3.5))
    axes.plot(counts, list(scaling.values()), marker="o")
    axes.set_xlabel("objects per frame")
    axes.set_ylabel("tracker update (ms, median)")
    axes.set_title(f"Tracker scaling, {FEATURE_DIM}-d features")
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepsort-bench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", help="video file to time on (default: synthetic 640x480 frames)")
    parser.add_argument("--detector", default="motion", help="motion (default) or ultralytics:PATH")
    parser.add_argument("--appearance", default="histogram",
                        help="none, histogram (default), torch:PATH_OR_ARCH or onnx:PATH")
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N for ultralytics, torch and onnx backends")
    parser.add_argument("--random-init", action="store_true",
                        help="allow random weights for a torch architecture name (timing only)")
    parser.add_argument("--num-frames", type=int, default=200, help="frames to process (default 200)")
    parser.add_argument("--gt", help="MOTChallenge gt.txt: also print the detector's recall and precision")
    parser.add_argument("--mot", metavar="SEQ_DIR",
                        help="MOT sequence folder: also time the tracker alone on its det.txt with its "
                             "det/features*.npy (the tracker speed target is on PETS09-S2L1)")
    parser.add_argument("--plot", metavar="PNG", help="write a plot of the tracker scaling")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the medians")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.num_frames < 1:
        print("deepsort-bench: --num-frames must be at least 1", file=sys.stderr)
        return 2
    try:
        report = run_benchmark(args)
    except ValueError as error:
        print(f"deepsort-bench: {error}", file=sys.stderr)
        return 2
    print_table(report, args)
    if args.plot:
        plot_scaling(report["summary"]["track_scaling_ms"], args.plot)
        print(f"wrote {args.plot}")
    if args.json:
        print(json.dumps(report["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
