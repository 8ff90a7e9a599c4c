"""deepsort-eval on small synthetic MOT sequences whose scores are known, plus its plots."""
import json
import subprocess
import sys

import numpy as np
import pytest

from deepsort_ros.tools import eval as deepsort_eval
from deepsort_ros.tools import mot
from deepsort_ros.tools.tracker_timing import time_mot_sequence, time_synthetic

FRAMES, PEOPLE = 30, 3


def write_sequence(root, detections_from_gt=True, ignored_person=None):
    """A 30-frame sequence of 3 people walking right; det.txt copies gt.txt (perfect detections)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "seqinfo.ini").write_text(f"[Sequence]\nname=synthetic\nimDir=img1\nframeRate=10\n"
                                      f"seqLength={FRAMES}\nimWidth=640\nimHeight=480\nimExt=.jpg\n")
    gt_lines, det_lines = [], []
    for frame in range(1, FRAMES + 1):
        for person in range(1, PEOPLE + 1):
            left, top = 20 + 4 * frame, 40 + 130 * (person - 1)
            consider = 0 if person == ignored_person else 1
            gt_lines.append(f"{frame},{person},{left},{top},40,100,{consider},-1,-1,-1")
            det_lines.append(f"{frame},-1,{left},{top},40,100,0.95,-1,-1,-1")
    (root / "gt").mkdir(exist_ok=True)
    (root / "det").mkdir(exist_ok=True)
    (root / "gt" / "gt.txt").write_text("\n".join(gt_lines) + "\n")
    (root / "det" / "det.txt").write_text("\n".join(det_lines if detections_from_gt else []) + "\n")
    features = np.repeat(np.eye(PEOPLE, 16, dtype=np.float32)[None], FRAMES, axis=0).reshape(-1, 16)
    np.save(root / "det" / "features.npy", features)
    return root


def run_cli(capsys, *argv):
    code = deepsort_eval.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out.strip().splitlines(), captured.err


def only_sequence(line):
    """The summary of the one sequence in a JSON summary line."""
    summary = json.loads(line)
    assert len(summary["sequences"]) == 1
    return next(iter(summary["sequences"].values()))


def test_perfect_detections_score_100(tmp_path, capsys):
    seq = write_sequence(tmp_path / "seq")
    code, lines, _ = run_cli(capsys, seq, "--config", "n_init=1", "--config", "output_box=detection",
                             "--no-progress")
    assert code == 0
    summary = only_sequence(lines[-1])
    for key in ("HOTA", "DetA", "AssA", "MOTA", "IDF1"):
        assert summary[key] == pytest.approx(100.0), key
    assert summary["IDSW"] == 0
    assert summary["ms_per_frame"] > 0


def test_unreported_tentative_frames_cost_exactly_their_misses(tmp_path, capsys):
    seq = write_sequence(tmp_path / "seq")
    code, lines, _ = run_cli(capsys, seq, "--features", seq / "det" / "features.npy", "--config", "n_init=3",
                             "--config", "output_box=detection", "--no-progress")
    summary = only_sequence(lines[-1])
    found = PEOPLE * (FRAMES - 2)                             # the first 2 frames of each person are tentative
    assert code == 0 and summary["IDSW"] == 0
    assert summary["IDF1"] == pytest.approx(100 * 2 * found / (PEOPLE * FRAMES + found), abs=1e-3)
    assert summary["MOTA"] == pytest.approx(100 * found / (PEOPLE * FRAMES), abs=1e-3)


def test_out_writes_results_and_metrics(tmp_path, capsys):
    seq = write_sequence(tmp_path / "seq", ignored_person=2)
    out = tmp_path / "out"
    code, lines, _ = run_cli(capsys, seq, "--config", "n_init=1", "--out", out, "--no-progress")
    assert code == 0
    results = mot.read_mot_rows(out / "results.txt")
    assert len(results) == PEOPLE * FRAMES and len(np.unique(results.ids)) == PEOPLE
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["FP"] == 0 and metrics["gt_ids"] == PEOPLE - 1  # the ignored person is not a false positive
    assert metrics["tracker_config"]["n_init"] == 1
    assert only_sequence(lines[-1])["HOTA"] == metrics["HOTA"]


def test_plot_and_compare_write_pngs(tmp_path, capsys):
    seq = write_sequence(tmp_path / "seq")
    for name, n_init in (("fast", 1), ("slow", 5)):
        code, _, _ = run_cli(capsys, seq, "--config", f"n_init={n_init}", "--out", tmp_path / name, "--plot",
                             "--no-progress")
        assert code == 0
        png = tmp_path / name / "timeline.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    code, lines, _ = run_cli(capsys, "--compare", tmp_path / "fast" / "metrics.json",
                             tmp_path / "slow" / "metrics.json", "--out", tmp_path / "cmp")
    assert code == 0
    summary = json.loads(lines[-1])
    assert set(summary["runs"]) == {"fast", "slow"}
    assert summary["runs"]["fast"]["IDF1"] > summary["runs"]["slow"]["IDF1"]
    png = tmp_path / "cmp" / "compare.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


@pytest.mark.parametrize("extra, message", [
    (["--config", "max_age=-1"], "max_age"),
    (["--config", "bogus=1"], "bogus"),
    (["--plot"], "--out"),
    (["--features", "missing.npy"], "not found"),
])
def test_errors_exit_2_with_a_message(tmp_path, capsys, extra, message):
    seq = write_sequence(tmp_path / "seq")
    code, _, err = run_cli(capsys, seq, *extra, "--no-progress")
    assert code == 2 and message in err


def test_features_must_align_with_det_rows(tmp_path, capsys):
    seq = write_sequence(tmp_path / "seq")
    np.save(tmp_path / "short.npy", np.ones((5, 8), np.float32))
    code, _, err = run_cli(capsys, seq, "--features", tmp_path / "short.npy", "--no-progress")
    assert code == 2 and "one row per det.txt row" in err


def test_module_runs_as_a_command(tmp_path):
    seq = write_sequence(tmp_path / "seq")
    done = subprocess.run([sys.executable, "-m", "deepsort_ros.tools.eval", str(seq), "--no-progress"],
                          capture_output=True, text=True, timeout=120, check=True)
    summary = only_sequence(done.stdout.strip().splitlines()[-1])
    assert set(deepsort_eval.SUMMARY_KEYS) <= set(summary) and "ms_per_frame" in summary


def test_timing_helpers_report_per_frame_times(tmp_path):
    seq = write_sequence(tmp_path / "seq")
    sequence = time_mot_sequence(seq, seq / "det" / "features.npy")
    assert sequence["frames"] == FRAMES and sequence["feature_dim"] == 16 and sequence["median_ms"] > 0
    crowd = time_synthetic(num_objects=20, feature_dim=32, frames=10, warmup=5)
    assert crowd["frames"] == 10 and crowd["mean_tracks"] > 10


def test_pets09_with_shared_features_meets_the_targets(mot_data, capsys):
    seq = mot_data / "PETS09-S2L1"
    code, lines, _ = run_cli(capsys, seq, "--features", seq / "det" / "features_mobilenetv2_imagenet.npy",
                             "--no-progress")
    summary = only_sequence(lines[-1])
    assert code == 0
    assert summary["HOTA"] >= 46.0 and summary["IDF1"] >= 70.0 and summary["IDSW"] < 65


def test_many_sequences_each_with_its_own_appearance_and_the_mean(tmp_path, capsys):
    shipped = write_sequence(tmp_path / "a")
    (shipped / "det" / "features.npy").rename(shipped / "det" / "features_test.npy")
    (shipped / "seqinfo.ini").write_text((shipped / "seqinfo.ini").read_text().replace("name=synthetic", "name=A"))
    motion = write_sequence(tmp_path / "b", ignored_person=2)
    (motion / "det" / "features.npy").unlink()
    (motion / "seqinfo.ini").write_text((motion / "seqinfo.ini").read_text().replace("name=synthetic", "name=B"))
    code, lines, _ = run_cli(capsys, shipped, motion, "--config", "n_init=1", "--out", tmp_path / "out",
                             "--no-progress")
    assert code == 0
    summary = json.loads(lines[-1])
    assert set(summary["sequences"]) == {"A", "B"}
    for key in (*deepsort_eval.SUMMARY_KEYS, "ms_per_frame"):
        values = [summary["sequences"][name][key] for name in ("A", "B")]
        assert summary["mean"][key] == pytest.approx(np.mean(values), abs=1e-3), key
    # A row per sequence and the mean, each naming the appearance it ran with.
    assert any(line.startswith("A ") and "features_test.npy" in line for line in lines)
    assert any(line.startswith("B ") and line.rstrip().endswith("none") for line in lines)
    assert any(line.startswith("mean ") for line in lines)
    recorded = {name: json.loads((tmp_path / "out" / name / "metrics.json").read_text()) for name in ("A", "B")}
    assert recorded["A"]["appearance"].endswith("features_test.npy") and recorded["B"]["appearance"] == "none"
    # --appearance none runs every sequence on motion alone.
    code, lines, _ = run_cli(capsys, shipped, "--appearance", "none", "--no-progress")
    assert code == 0 and lines[-3].startswith("A ") and lines[-3].rstrip().endswith("none")


def test_features_file_names_one_sequence(tmp_path, capsys):
    seq = write_sequence(tmp_path / "seq")
    code, _, err = run_cli(capsys, seq, seq, "--features", seq / "det" / "features.npy", "--no-progress")
    assert code == 2 and "one SEQ_DIR" in err


def test_ground_truth_appearance_names_each_person_and_no_one_else(tmp_path, capsys):
    seq = write_sequence(tmp_path / "seq")
    det = seq / "det" / "det.txt"
    # A false detection far from everyone in frame 5, listed first (file order differs from frame order).
    det.write_text("5,-1,600,400,30,60,0.9,-1,-1,-1\n" + det.read_text())
    features = deepsort_eval.ground_truth_features(seq)
    detections = mot.read_mot_rows(det)
    assert features.shape[0] == FRAMES * PEOPLE + 1
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    similarity = unit @ unit.T
    # det.txt rows 1.. repeat persons 1, 2, 3 per frame; row 0 is the false detection.
    person = np.r_[-1, np.tile(np.arange(PEOPLE), FRAMES)]
    same = person[:, None] == person[None, :]
    real = person >= 0
    assert np.allclose(similarity[np.ix_(real, real)][same[np.ix_(real, real)]], 1.0)
    assert np.allclose(similarity[np.ix_(real, real)][~same[np.ix_(real, real)]], 0.0)
    assert np.allclose(similarity[0, real], 0.0)
    assert len(detections) == len(features)
    code, lines, _ = run_cli(capsys, seq, "--appearance", "ground-truth", "--config", "n_init=1", "--config",
                             "output_box=detection", "--no-progress")
    summary = only_sequence(lines[-1])
    assert code == 0 and summary["IDSW"] == 0 and summary["IDF1"] > 98.0     # the false detection: 1 FP
    code, _, err = run_cli(capsys, seq, "--appearance", "ground-truth", "--colour-weight", "0.2")
    assert code == 2 and "--colour-weight" in err
