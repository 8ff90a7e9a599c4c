"""The README's picture of tracks in metres: a frame of ``tracks/image`` beside a top-down plot of the tracks'
ground positions and velocities against the ground truth (PETS09-S2L1 with its Tsai calibration).

``python -m deepsort_ros.tools.spatial_plot SEQ_DIR --features NPY --calibration XML --frames VIDEO --frame N
--out PNG`` tracks the sequence's det.txt as ``deepsort-eval --calibration`` does, draws MOT frame ``N`` of
the video with the tracks' boxes, and plots, on the calibration's ground plane (metres), each track's
position trail of the last ``--trail`` frames, its velocity arrow (1 s long), and the ground-truth positions.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from deepsort_ros.core import TrackerConfig
from deepsort_ros.tools import mot
from deepsort_ros.tools.eval import iter_frames, run_sequence
from deepsort_ros.tools.spatial_eval import MOT_PIXEL_OFFSET, MetricRecorder, gt_world, spatial_errors


def plot(seq_dir: Path, features: Path, calibration: Path, frames: Path, frame: int, out: Path,
         trail: int = 14) -> dict:
    """Write the picture; returns the sequence's spatial errors (as deepsort-eval reports them)."""
    import matplotlib

    matplotlib.use("Agg")
    import cv2
    import matplotlib.pyplot as plt

    from deepsort_ros.annotate import Annotator, track_colour

    info = mot.read_seqinfo(seq_dir)
    detections = mot.read_mot_rows(seq_dir / "det" / "det.txt")
    recorder = MetricRecorder(calibration)
    results, _ = run_sequence(seq_dir, TrackerConfig(), mot.load_features(features, len(detections)),
                              progress=False, on_frame=recorder)
    metric = recorder.rows()
    errors = spatial_errors(seq_dir, results, metric, info.seq_length, info.frame_rate)
    gt_path = seq_dir / "gt" / "gt.txt"
    gt = mot.read_mot_rows(gt_path)
    world = gt_world(gt, gt_path)

    image = next(bgr for index, bgr in enumerate(iter_frames(frames), start=1) if index == frame)
    annotator = Annotator(trail_length=trail)
    for past in range(max(1, frame - trail), frame + 1):
        here = results.frames == past
        if past < frame:
            annotator.update_trails(results.ids[here], results.boxes_xyxy[here] - MOT_PIXEL_OFFSET)
    here = results.frames == frame
    drawn = annotator.draw(image, results.ids[here], results.boxes_xyxy[here] - MOT_PIXEL_OFFSET,
                           ["person"] * int(here.sum()))

    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [1.33, 1]})
    left.imshow(cv2.cvtColor(drawn, cv2.COLOR_BGR2RGB))
    left.set_title(f"tracks/image, frame {frame}")
    left.axis("off")
    gt_here = (gt.frames == frame) & (gt.scores != 0)
    right.scatter(world[gt_here, 0], world[gt_here, 1], s=90, facecolors="none", edgecolors="k",
                  label="ground truth (gt.txt world x, y)")
    recent = (results.frames > frame - trail) & (results.frames <= frame)
    for track_id in np.unique(results.ids[here]).tolist():
        b, g, r = track_colour(track_id)
        colour = (r / 255, g / 255, b / 255)
        rows = recent & (results.ids == track_id)
        right.plot(metric["positions"][rows, 0], metric["positions"][rows, 1], "-", color=colour, lw=1.5)
        now = np.flatnonzero(here & (results.ids == track_id))[0]
        x, y = metric["positions"][now, :2]
        vx, vy = metric["velocities"][now, :2]
        if np.isfinite([x, y, vx, vy]).all():
            right.plot(x, y, "o", color=colour, ms=5)
            right.arrow(x, y, vx, vy, color=colour, width=0.05, head_width=0.35, length_includes_head=True)
            right.annotate(str(track_id), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    position, velocity = errors["position_error_m"], errors["velocity_error_mps"]
    right.set_title(f"ground plane (m): position error median {position['median']:.2f} / p90 {position['p90']:.2f} m,"
                    f"\nvelocity error median {velocity['median']:.2f} m/s (arrows: 1 s of motion)", fontsize=9)
    right.set_xlabel("world x (m)")
    right.set_ylabel("world y (m)")
    right.set_aspect("equal")
    right.grid(True, alpha=0.3)
    right.legend(loc="lower left", fontsize=8)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=70)
    plt.close(figure)
    # 128 colours keep the committed picture small (Pillow comes with matplotlib).
    from PIL import Image

    with Image.open(out) as picture:
        picture.convert("RGB").quantize(colors=128).save(out, optimize=True)
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deepsort_ros.tools.spatial_plot",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("seq_dir", type=Path)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--calibration", type=Path, required=True)
    parser.add_argument("--frames", type=Path, required=True, help="the sequence's video or image folder")
    parser.add_argument("--frame", type=int, default=200, help="MOT frame number to draw")
    parser.add_argument("--out", type=Path, default=Path("docs/spatial_pets.png"))
    args = parser.parse_args(argv)
    try:
        errors = plot(args.seq_dir, args.features, args.calibration, args.frames, args.frame, args.out)
    except ValueError as error:
        print(f"spatial_plot: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
