"""MOT file handling and TrackEval scoring, including the 'consider = 0' rule."""
import warnings

import numpy as np
import pytest

from deepsort_ros.tools import mot


def rows(table):
    """MotRows from ``frame, id, x1, y1, x2, y2, score`` tuples."""
    table = np.asarray(table, dtype=float).reshape(-1, 7)
    return mot.MotRows(frames=table[:, 0].astype(np.int64), ids=table[:, 1].astype(np.int64),
                       boxes_xyxy=table[:, 2:6], scores=table[:, 6], order=np.arange(len(table)))


def test_read_write_round_trip(tmp_path):
    path = tmp_path / "res.txt"
    boxes = np.array([[10.0, 20.0, 50.0, 120.0], [0.5, 1.5, 10.5, 31.5]])
    mot.write_results(path, np.array([2, 1]), np.array([7, 3]), boxes, np.array([0.9, 0.8]))
    back = mot.read_mot_rows(path)
    assert back.frames.tolist() == [1, 2]                     # sorted by frame
    assert back.ids.tolist() == [3, 7]
    assert np.allclose(back.boxes_xyxy, boxes[::-1])
    assert back.order.tolist() == [1, 0]
    assert path.read_text().splitlines()[1] == "1,3,0.50,1.50,10.00,30.00,0.8000,-1,-1,-1"


def test_read_rejects_missing_files_and_short_rows(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        mot.read_mot_rows(tmp_path / "nope.txt")
    (tmp_path / "short.txt").write_text("1,2,3,4\n")
    with pytest.raises(ValueError, match="6 columns"):
        mot.read_mot_rows(tmp_path / "short.txt")


def test_seqinfo(tmp_path):
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nname=S\nframeRate=7\nseqLength=12\nimWidth=64\n"
                                          "imHeight=48\n")
    info = mot.read_seqinfo(tmp_path)
    assert (info.name, info.frame_rate, info.seq_length, info.width) == ("S", 7.0, 12, 64)
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nname=S\n")
    with pytest.raises(ValueError, match="seqLength"):
        mot.read_seqinfo(tmp_path)


def test_perfect_results_score_100():
    gt = rows([(f, i, 10 * i, 0, 10 * i + 8, 20, 1) for f in (1, 2, 3) for i in (1, 2)])
    metrics = mot.evaluate(gt, gt, 3)
    for key in ("HOTA", "DetA", "AssA", "MOTA", "IDF1"):
        assert metrics[key] == pytest.approx(100.0)
    assert metrics["IDSW"] == 0 and metrics["FP"] == 0 and metrics["FN"] == 0


def test_an_identity_switch_is_counted():
    gt = rows([(f, 1, 0, 0, 10, 20, 1) for f in (1, 2, 3, 4)])
    results = rows([(f, 5 if f < 3 else 6, 0, 0, 10, 20, 1) for f in (1, 2, 3, 4)])
    metrics = mot.evaluate(gt, results, 4)
    assert metrics["IDSW"] == 1
    assert metrics["IDF1"] == pytest.approx(50.0)
    assert metrics["MOTA"] == pytest.approx(75.0)


def test_not_considered_people_are_neither_missed_nor_false_positives():
    # Person 2 is marked consider = 0 in every frame; the tracker follows both people.
    gt = rows([(f, i, 20 * i, 0, 20 * i + 10, 20, 1 if i == 1 else 0) for f in (1, 2) for i in (1, 2)])
    results = rows([(f, i, 20 * i + 1, 0, 20 * i + 11, 20, 1) for f in (1, 2) for i in (1, 2)])
    metrics = mot.evaluate(gt, results, 2)
    assert metrics["FP"] == 0 and metrics["FN"] == 0 and metrics["gt_ids"] == 1
    # A box beside the ignored person (IoU < 0.5) is still a false positive.
    stray = rows([(1, 9, 40, 30, 50, 50, 1)])
    assert mot.evaluate(gt, stray, 2)["FP"] == 1


def test_a_box_on_a_considered_person_next_to_an_ignored_one_is_kept():
    # Two overlapping people, only the first considered: the tracker box on the first must stay scored.
    gt = rows([(1, 1, 0, 0, 10, 20, 1), (1, 2, 3, 0, 13, 20, 0)])
    results = rows([(1, 4, 0, 0, 10, 20, 1)])
    metrics = mot.evaluate(gt, results, 1)
    assert metrics["FN"] == 0 and metrics["FP"] == 0


def test_trackeval_metrics_run_on_this_numpy_without_warnings():
    # TrackEval releases before 1.3 used np.float/np.int (removed in numpy 1.24); the installed one must
    # score a sequence with switches, misses and false positives without touching removed or deprecated API.
    gt = rows([(f, i, 20 * i, 0, 20 * i + 10, 20, 1) for f in range(1, 6) for i in (1, 2)])
    results = rows([(f, 7 if f < 3 else 8, 21, 0, 31, 20, 1) for f in range(1, 6)] + [(2, 9, 90, 90, 99, 99, 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = mot.evaluate(gt, results, 5)
    assert metrics["IDSW"] == 1 and metrics["FP"] == 1 and metrics["FN"] == 5
