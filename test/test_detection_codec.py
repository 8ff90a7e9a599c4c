"""The Detection2DArray codec (deepsort_ros.detection_codec) against rclpy's own serialisation.

The tracks layout is spelled out once more here with rclpy message objects, as the contract consumers read;
the codec must write what rclpy serialises that message to (padding aside), and read whatever rclpy
serialises (any Detection2DArray, not only the node's) as rclpy's messages say.
"""
import subprocess
import sys

import numpy as np
import pytest

from deepsort_ros.core import Tracks, TrackState
from deepsort_ros.detection_codec import (UnsupportedRepresentation, decode_detection_array, encode_tracks,
                                        published_scores)

pytest.importorskip("rclpy")
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose  # noqa: E402


def tracks_message(header: Header, ids, boxes, scores, class_ids) -> Detection2DArray:
    """The tracks contract with rclpy objects: one Detection2D per track, the image's header, id in decimal,
    centre and size in pixels, one result (class, score) with the identity pose."""
    msg = Detection2DArray(header=header)
    for track_id, (x1, y1, x2, y2), score, class_id in zip(ids, boxes, scores, class_ids):
        detection = Detection2D(header=header, id=str(int(track_id)))
        detection.bbox.center.position.x, detection.bbox.center.position.y = (x1 + x2) / 2, (y1 + y2) / 2
        detection.bbox.size_x, detection.bbox.size_y = x2 - x1, y2 - y1
        result = ObjectHypothesisWithPose()
        result.hypothesis.class_id, result.hypothesis.score = class_id, float(score)
        detection.results = [result]
        msg.detections.append(detection)
    return msg


def _random_header(rng) -> Header:
    header = Header(frame_id="c" * int(rng.integers(0, 7)) + ("é" if rng.random() < 0.3 else ""))
    header.stamp.sec, header.stamp.nanosec = int(rng.integers(-5, 2**31)), int(rng.integers(0, 10**9))
    return header


def _random_tracks(rng):
    count = int(rng.integers(0, 6))
    ids = rng.integers(0, 10 ** int(rng.integers(1, 12)), count)
    boxes = rng.uniform(0, 600, (count, 4))
    boxes[:, 2:] += boxes[:, :2]
    scores = rng.uniform(0, 1, count)
    class_ids = ["x" * int(rng.integers(0, 9)) for _ in range(count)]
    return ids, boxes, scores, class_ids


def _encode(header, *tracks):
    return encode_tracks(header.stamp.sec, header.stamp.nanosec, header.frame_id, *tracks)


def test_encoded_tracks_are_the_bytes_rclpy_serialises_the_tracks_message_to():
    rng = np.random.default_rng(3)
    # Every string length modulo 8 for frame_id, class names and ids, so every padding case occurs.
    for trial in range(300):
        header = _random_header(rng)
        tracks = _random_tracks(rng)
        expected = tracks_message(header, *tracks)
        data = _encode(header, *tracks)
        # Same length and content; not byte for byte, since Fast CDR leaves padding bytes uninitialised.
        assert len(data) == len(serialize_message(expected)), trial
        assert deserialize_message(data, Detection2DArray) == expected, trial


def test_strings_are_cut_at_a_nul_as_rcl_does():
    header = Header(frame_id="cam\0era")
    msg = deserialize_message(_encode(header, np.array([4]), np.array([[0.0, 0, 2, 2]]), np.array([0.5]),
                                      ["per\0son"]), Detection2DArray)
    assert msg.header.frame_id == "cam" and msg.detections[0].results[0].hypothesis.class_id == "per"


def test_decoding_encoded_tracks_gives_them_back():
    rng = np.random.default_rng(8)
    for trial in range(50):
        header = _random_header(rng)
        ids, boxes, scores, class_ids = _random_tracks(rng)
        decoded = decode_detection_array(_encode(header, ids, boxes, scores, class_ids))
        assert (decoded.stamp_sec, decoded.stamp_nanosec, decoded.frame_id) == (
            header.stamp.sec, header.stamp.nanosec, header.frame_id), trial
        assert decoded.stamp_ns == header.stamp.sec * 10**9 + header.stamp.nanosec
        assert decoded.track_ids().tolist() == ids.tolist() and decoded.track_ids().dtype == np.int64
        np.testing.assert_allclose(decoded.boxes_xyxy(), boxes.reshape(-1, 4), atol=1e-9)
        np.testing.assert_array_equal(decoded.values[:, 4], scores)
        assert decoded.class_ids == class_ids


def _random_detection_array(rng) -> Detection2DArray:
    """Another detector's array: any headers, ids, zero to three results (only the first one counts)."""
    msg = Detection2DArray(header=_random_header(rng))
    for _ in range(int(rng.integers(0, 6))):
        detection = Detection2D(header=_random_header(rng), id="i" * int(rng.integers(0, 9)))
        detection.bbox.center.position.x, detection.bbox.center.position.y = rng.uniform(1, 300, 2)
        detection.bbox.center.theta = rng.uniform(-1, 1)
        detection.bbox.size_x, detection.bbox.size_y = rng.uniform(1, 300, 2)
        for _ in range(int(rng.integers(0, 4))):
            result = ObjectHypothesisWithPose()
            result.hypothesis.class_id, result.hypothesis.score = "k" * int(rng.integers(0, 9)), rng.uniform(0, 1)
            result.pose.pose.position.x = rng.uniform(-5, 5)
            detection.results.append(result)
        msg.detections.append(detection)
    return msg


def test_any_serialised_detection_array_reads_as_rclpys_message_says():
    rng = np.random.default_rng(4)
    for trial in range(300):
        msg = _random_detection_array(rng)
        decoded = decode_detection_array(serialize_message(msg))
        assert (decoded.stamp_sec, decoded.stamp_nanosec, decoded.frame_id) == (
            msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id), trial
        expected = [(d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.size_x, d.bbox.size_y,
                     d.results[0].hypothesis.score if d.results else 1.0) for d in msg.detections]
        assert decoded.values.dtype == np.float64 and decoded.values.shape == (len(expected), 5)
        np.testing.assert_array_equal(decoded.values, np.array(expected).reshape(-1, 5))
        assert decoded.class_ids == [d.results[0].hypothesis.class_id if d.results else "" for d in msg.detections]
        assert decoded.ids == [d.id for d in msg.detections]


def test_malformed_bytes_raise_value_errors():
    data = serialize_message(_random_detection_array(np.random.default_rng(5)))
    for length in range(len(data)):  # every truncation
        with pytest.raises(ValueError):
            decode_detection_array(data[:length])
    huge_count = bytearray(serialize_message(Detection2DArray()))
    huge_count[-4:] = (2**32 - 1).to_bytes(4, "little")
    with pytest.raises(ValueError, match="cannot fit"):
        decode_detection_array(bytes(huge_count))
    with pytest.raises(UnsupportedRepresentation, match="0x0000"):  # big endian CDR
        decode_detection_array(b"\x00\x00\x00\x00" + data[4:])


def test_ids_that_are_not_track_ids_are_refused():
    msg = Detection2DArray(detections=[Detection2D(id="7"), Detection2D(id="person-3")])
    with pytest.raises(ValueError, match="decimal track ids"):
        decode_detection_array(serialize_message(msg)).track_ids()


def test_codec_is_ros_free():
    code = ("import sys, deepsort_ros.detection_codec; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rclpy', 'rosidl_runtime_py', 'cv2')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_published_scores_are_zero_exactly_for_coasting_tracks():
    states = np.array([TrackState.CONFIRMED, TrackState.COASTING, TrackState.CONFIRMED], np.int8)
    tracks = Tracks(ids=np.array([1, 2, 3]), boxes_xyxy=np.tile([0.0, 0.0, 2.0, 2.0], (3, 1)),
                    scores=np.array([0.9, 0.8, 0.0]), classes=np.zeros(3, np.int64), states=states)
    scores = published_scores(tracks)
    assert scores[0] == 0.9 and scores[1] == 0.0 and 0.0 < scores[2] < 1e-300
    decoded = decode_detection_array(encode_tracks(1, 2, "cam", tracks.ids, tracks.boxes_xyxy, scores, ["p"] * 3))
    assert (decoded.values[:, 4] > 0).tolist() == [True, False, True]
