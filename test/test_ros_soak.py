"""The soak benchmark's parts and a short run of it through the real node (bookkeeping only, no timing)."""
import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("rclpy")
from deepsort_ros.ros.soak import Crowd, IdLedger  # noqa: E402


def test_crowd_stays_within_its_bounds_while_people_come_and_go():
    crowd = Crowd(min_people=20, max_people=50, period=600, seed=1)
    in_view, seen = [], set()
    for frame in range(1200):
        ids, boxes, scores = crowd.detections(frame)
        in_view.append(len(crowd.ids))
        assert len(set(ids.tolist())) == len(ids)
        assert len(ids) <= len(crowd.ids)
        assert np.all(boxes[:, 2:] - boxes[:, :2] >= 4) and np.all((scores >= 0.5) & (scores <= 1))
        seen.update(crowd.ids.tolist())
    assert min(in_view) == 20 and max(in_view) == 50
    assert crowd.entered == len(seen) > 3 * 50  # everyone who left stays gone; ids are never given again
    assert max(seen) == crowd.entered


def test_id_ledger_flags_ids_back_after_they_must_have_died_and_duplicates():
    ledger = IdLedger(max_absence_s=3.0)
    ledger.add(0.0, np.array([1, 2]))
    ledger.add(1.0, np.array([1]))
    ledger.add(4.0, np.array([1]))      # absent 3 s: still the same track
    assert ledger.reused == [] and ledger.duplicates == 0
    ledger.add(4.5, np.array([2, 3]))   # absent 4.5 s: a new track under an old number
    ledger.add(5.0, np.array([3, 3]))
    assert ledger.reused == [(2, 0.0, 4.5)] and ledger.duplicates == 1 and ledger.count == 3


def test_short_soak_through_the_real_node(tmp_path, ros_env):
    summary_file = tmp_path / "soak.json"
    result = subprocess.run(
        [sys.executable, "-m", "deepsort_ros.ros.soak", "--frames", "300", "--window", "100", "--warmup", "100",
         "--json", str(summary_file), "--log-dir", str(tmp_path / "logs")],
        env=ros_env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr + (tmp_path / "logs" / "tracker_node.log").read_text()
    summary = json.loads(summary_file.read_text())
    assert summary["frames_answered"] == 300 and summary["frames_lost"] == 0
    assert [w["frames"] for w in summary["windows"]] == [100, 100, 100]
    assert summary["ids_reused"] == 0 and summary["ids_duplicated_in_a_frame"] == 0
    assert 20 <= summary["people_in_view_min"] <= summary["people_in_view_max"] <= 50
    # The node tracked the crowd: dozens of tracks per frame, ids counted, memory sampled.
    assert all(w["tracks_per_frame"] > 10 for w in summary["windows"][1:])
    assert summary["track_ids"] >= 20 and summary["windows"][-1]["track_ids"] == summary["track_ids"]
    assert summary["rss_after_warmup_mb"] > 0 and summary["rss_growth_after_warmup_mb"] is not None
    assert summary["node_exit_code"] == 0
    assert "soak: 300 of 300 frames answered" in result.stdout
