"""deepsort-bench: table, JSON summary, detector quality against ground truth, scaling plot."""
import json

import cv2
import numpy as np
import pytest

from deepsort_ros.tools import bench
from deepsort_ros.tools.synthetic_scene import SyntheticScene


def test_json_summary_on_synthetic_frames(tmp_path, capsys, monkeypatch):
    # Fewer tracker frames keep the test quick; the command's own default is used otherwise.
    monkeypatch.setattr(bench, "track_scaling",
                        lambda: {str(n): {"median_ms": 0.5 * n, "p95_ms": n} for n in bench.SCALING_COUNTS})
    plot = tmp_path / "scaling.png"
    assert bench.main(["--num-frames", "12", "--json", "--plot", str(plot)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) == {"stages_ms", "crop_preprocess_30_ms", "track_scaling_ms"}
    assert set(summary["stages_ms"]) == {"decode", "detect", "embed", "motion", "track", "spatial"}
    assert all(value > 0 for value in summary["stages_ms"].values())
    assert summary["crop_preprocess_30_ms"] > 0
    assert summary["track_scaling_ms"] == {"10": 5.0, "50": 25.0, "100": 50.0, "200": 100.0}
    assert any(line.startswith("detect") for line in lines)
    assert any(line.split() == ["200", "100.00", "200.00"] for line in lines)
    assert plot.stat().st_size > 1000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_mot_sequence_adds_the_tracker_time_on_it(tmp_path, capsys, monkeypatch):
    from test_eval_cli import FRAMES, write_sequence

    monkeypatch.setattr(bench, "track_scaling",
                        lambda: {str(n): {"median_ms": 1.0, "p95_ms": 2.0} for n in bench.SCALING_COUNTS})
    seq = write_sequence(tmp_path / "seq")
    assert bench.main(["--num-frames", "3", "--appearance", "none", "--mot", str(seq), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["track_sequence_ms"] > 0
    assert any(line.startswith(f"tracker alone on synthetic ({FRAMES} frames, 16-d features)") for line in lines)


def test_track_scaling_uses_core_timing():
    scaling = bench.track_scaling(counts=(10, 20), frames=5)
    assert set(scaling) == {"10", "20"}
    assert all(0 < timing["median_ms"] <= timing["p95_ms"] for timing in scaling.values())


def test_video_with_ground_truth_reports_detector_quality(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench, "track_scaling",
                        lambda: {str(n): {"median_ms": 1.0, "p95_ms": 2.0} for n in bench.SCALING_COUNTS})
    scene = SyntheticScene(people=3, seed=2, empty_frames=30)
    video, gt = tmp_path / "scene.avi", tmp_path / "gt.txt"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    rows = []
    for index, (bgr, boxes, ids) in enumerate(scene.frames(70)):
        writer.write(bgr)
        rows += [[index + 1, i, x1, y1, x2 - x1, y2 - y1, 1, -1, -1, -1] for i, (x1, y1, x2, y2) in zip(ids, boxes)]
    writer.release()
    np.savetxt(gt, np.array(rows), delimiter=",", fmt="%g")
    assert bench.main(["--frames", str(video), "--gt", str(gt), "--appearance", "none"]) == 0
    out = capsys.readouterr().out
    recall = float(out.split("recall ")[1].split(",")[0])
    precision = float(out.split("precision ")[1].split()[0])
    # The first frames with people are spent learning the scene; afterwards nearly every person is found.
    assert recall > 0.7 and precision > 0.8


@pytest.mark.parametrize("argv, message", [
    (["--detector", "external"], "no detector to time"),
    (["--detector", "yolo"], "allowed forms"),
    (["--appearance", "torch:osnet_x0_25"], "random_init"),
    (["--frames", "/nonexistent.avi"], "cannot open video"),
    (["--num-frames", "0"], "at least 1"),
])
def test_bad_options_exit_with_message(argv, message, capsys):
    assert bench.main(argv) == 2
    assert message in capsys.readouterr().err
