"""The demo (ROS layer): recording and summary logic, its DDS profile, its errors, a short run through the node."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import cv2
import numpy as np
import pytest

from deepsort_ros.ros import demo
from deepsort_ros.tools.mot import read_mot_rows


def test_recording_writes_tracks_video_and_summary(tmp_path):
    recording = demo.DemoRecording(tmp_path, fps=10.0)
    # Irregular stamps: frame numbers come from their order, not from a rate.
    stamps = [1_000_000_000 + i * 100_000_000 + i * i * 7_000_000 for i in range(6)]
    for frame in (1, 2, 3, 5):  # the recorder's own image subscription missed frames 4 and 6
        recording.add_image(stamps[frame - 1])
    recording.add_image(stamps[0])  # a repeated stamp is the same frame
    latencies_ms = [10.0, 20.0, 30.0, 40.0]
    # Results of frames 1, 2, 4 and 6 arrive out of order; frames 3 and 5 were dropped by the node.
    for frame, latency in zip([6, 1, 4, 2], latencies_ms):
        stamp = stamps[frame - 1]
        ids = np.array([7, 9]) if frame != 6 else np.array([9])
        boxes = np.tile([[10.0, 20.0, 30.0, 60.0]], (len(ids), 1)) + frame
        recording.add_tracks(stamp, stamp + int(latency * 1e6), ids, boxes, np.full(len(ids), 0.5))
    for _ in range(4):
        recording.add_annotated(np.zeros((48, 64, 3), np.uint8))
    recording.set_node_totals({"total_received": 6, "total_processed": 4, "total_dropped": 2})

    summary = recording.close(6, {"video": "clip.avi"})
    assert summary == json.loads((tmp_path / "summary.json").read_text())
    assert summary["frames_published"] == 6 and summary["frames_in"] == 6
    assert summary["frames_processed"] == 4 and summary["frames_dropped"] == 2 and summary["frames_seen"] == 6
    assert summary["tracks"] == 2 and summary["track_rows"] == 7
    assert summary["latency_mean_ms"] == pytest.approx(25.0)
    assert summary["latency_p95_ms"] == pytest.approx(np.percentile(latencies_ms, 95))
    assert summary["annotated_frames"] == 4 and summary["video"] == "clip.avi"
    assert summary["node_totals"]["total_dropped"] == 2

    rows = read_mot_rows(tmp_path / "tracks.txt")
    assert rows.frames.tolist() == [1, 1, 2, 2, 4, 4, 6]
    assert rows.ids.tolist() == [7, 9, 7, 9, 7, 9, 9]
    np.testing.assert_allclose(rows.boxes_xyxy[-1], [16.0, 26.0, 36.0, 66.0])
    capture = cv2.VideoCapture(str(tmp_path / "annotated.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    capture.release()


def test_unfinished_recording_still_writes_its_files(tmp_path):
    recording = demo.DemoRecording(tmp_path, fps=10.0)
    recording.set_node_totals({"total_received": 3})
    summary = recording.close(None, {})
    assert summary["frames_published"] == 3 and summary["frames_processed"] == 0
    assert summary["latency_mean_ms"] is None
    assert (tmp_path / "tracks.txt").read_text() == ""


def test_node_totals_come_from_the_trackers_status():
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    other = DiagnosticStatus(hardware_id="/camera", values=[KeyValue(key="total_received", value="99")])
    ours = DiagnosticStatus(hardware_id="/tracker_node", values=[
        KeyValue(key="total_received", value="12"), KeyValue(key="total_dropped", value="2"),
        KeyValue(key="device", value="cpu")])
    assert demo.node_totals(DiagnosticArray(status=[other, ours]), "/tracker_node") == {
        "total_received": 12, "total_dropped": 2}
    assert demo.node_totals(DiagnosticArray(status=[other]), "/tracker_node") is None


def test_missing_video_says_how_to_get_it(tmp_path, capsys):
    assert demo.main(["--video", str(tmp_path / "vtest.avi"), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "vtest.avi not found" in err and "opencv-doc" in err and "make setup" in err
    assert not (tmp_path / "summary.json").exists()


def test_missing_model_is_named(tmp_path, capsys, vtest_avi):
    assert demo.main(["--model", str(tmp_path / "yolo.pt"), "--out", str(tmp_path)]) == 1
    assert "yolo.pt not found" in capsys.readouterr().err


def test_shipped_fastdds_profile_is_used_unless_the_user_has_one(monkeypatch):
    namespace = {"dds": "http://www.eprosima.com"}
    profile = ElementTree.parse(demo.FASTDDS_PROFILE).getroot()
    assert profile.find(".//dds:transport_descriptor[dds:type='SHM']/dds:segment_size", namespace).text == "33554432"
    addresses = profile.findall(".//dds:transport_descriptor[dds:type='UDPv4']//dds:address", namespace)
    assert [a.text for a in addresses] == ["127.0.0.1"]
    assert profile.find(".//dds:useBuiltinTransports", namespace).text == "false"
    monkeypatch.delenv("FASTDDS_DEFAULT_PROFILES_FILE", raising=False)
    demo.use_large_image_transport()
    assert os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] == str(demo.FASTDDS_PROFILE)
    monkeypatch.setenv("FASTDDS_DEFAULT_PROFILES_FILE", "/etc/my_profile.xml")
    demo.use_large_image_transport()
    assert os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] == "/etc/my_profile.xml"


def test_video_publisher_waits_for_the_node_and_the_recorder(tmp_path):
    command = demo.publisher_command(tmp_path / "clip.avi", None)
    assert "wait_for_subscribers:=2" in command and f"wait_timeout_s:={demo.NODE_READY_TIMEOUT_S}" in command
    # Reliable delivery keeps a frame for a slow subscriber only while the publisher's history holds it.
    assert f"qos.depth:={demo.INPUT_QUEUE_DEPTH}" in command


def walkers_clip(path, frames=30, height=240, width=320):
    """Two textured blobs walking across a static textured background, as a lossless video."""
    rng = np.random.default_rng(5)
    background = cv2.GaussianBlur(rng.integers(40, 90, (height, width, 3), dtype=np.uint8), (5, 5), 0)
    walkers = [rng.integers(150, 255, (64, 24, 3), dtype=np.uint8), rng.integers(0, 70, (64, 24, 3), dtype=np.uint8)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 10.0, (width, height))
    for frame in range(frames):
        image = background.copy()
        for lane, (top, texture) in enumerate(zip((30, 140), walkers)):
            left = 20 + 7 * frame if lane == 0 else width - 44 - 7 * frame
            image[top:top + 64, left:left + 24] = texture
        writer.write(image)
    writer.release()


def test_short_demo_through_the_real_node(tmp_path, ros_env):
    clip = tmp_path / "walkers.avi"
    walkers_clip(clip)
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "deepsort_ros.ros.demo", "--video", str(clip), "--out",
                             str(out), "--rate", "15"], env=ros_env, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "of 30 frames processed" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_published"] == summary["frames_in"] == summary["frames_seen"] == 30, summary
    assert summary["frames_processed"] >= 27, summary
    assert summary["frames_dropped"] == 30 - summary["frames_processed"]
    assert summary["latency_mean_ms"] > 0 and summary["latency_p95_ms"] >= summary["latency_mean_ms"]
    assert all(code == 0 for code in summary["exit_codes"].values()), summary["exit_codes"]
    rows = read_mot_rows(out / "tracks.txt")
    assert rows.frames.max() <= 30
    assert summary["fastdds_profile"] == str(demo.FASTDDS_PROFILE)
    late = rows.frames >= 12
    # Both walkers are followed, each under one id, to the end.
    assert len(np.unique(rows.ids[late])) == 2
    assert summary["annotated_frames"] >= summary["frames_processed"] - 2
