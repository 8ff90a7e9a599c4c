"""Message conversions of the ROS layer (no ROS graph needed): images out, detections in, tracks out.

Decoding every encoding and every bad image is tested in test_image_codec.py; here rclpy's own message
types go through that shared decoder. Detection arrays written and read as bytes are checked against
rclpy's own serialisation of the same messages.
"""
import cv2
import numpy as np
import pytest

from deepsort_ros.image_codec import image_message_to_bgr
from deepsort_ros.ros import conversions, detection_wire
from deepsort_ros.ros.conversions import (bgr_to_image, detection_array_to_numpy, serialized_detections_to_numpy,
                                          serialized_tracks, stamp_to_ns, tracks_to_detection_array,
                                          wire_format_matches_rmw)
from deepsort_ros.ros.labels import MAX_CLASSES, ClassLabels
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

RNG = np.random.default_rng(7)


def test_bgr_to_image_round_trips_through_the_decoder_and_keeps_the_header():
    bgr = RNG.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    header = Header(frame_id="cam")
    header.stamp.sec, header.stamp.nanosec = 12, 34
    msg = bgr_to_image(bgr, header)
    assert (msg.encoding, msg.step, msg.height, msg.width) == ("bgr8", 18, 4, 6)
    assert msg.header.frame_id == "cam" and msg.header.stamp.nanosec == 34
    np.testing.assert_array_equal(image_message_to_bgr(msg), bgr)
    with pytest.raises(ValueError):
        bgr_to_image(bgr[:, :, 0], header)


def test_stamps_become_exact_nanoseconds():
    header = Header()
    header.stamp.sec, header.stamp.nanosec = 1_700_000_000, 999_999_999
    assert stamp_to_ns(header.stamp) == 1_700_000_000_999_999_999


def test_rclpy_compressed_images_go_through_the_decoder():
    bgr = RNG.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    png = CompressedImage(format="png", data=cv2.imencode(".png", bgr)[1].tobytes())
    np.testing.assert_array_equal(image_message_to_bgr(png), bgr)
    with pytest.raises(ValueError, match="compressed image"):
        image_message_to_bgr(CompressedImage(format="png", data=b"not an image"))


def _raw_image(encoding: str, pixels: np.ndarray) -> Image:
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    step = pixels.shape[1] * channels * pixels.itemsize
    return Image(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding, step=step,
                 is_bigendian=0, data=np.ascontiguousarray(pixels).tobytes())


@pytest.mark.skipif(conversions.CvBridge is None, reason="cv_bridge is not installed (pip-only environment)")
@pytest.mark.parametrize("encoding", sorted(conversions.CV_BRIDGE_ENCODINGS))
def test_cv_bridge_and_the_shared_decoder_agree(encoding):
    channels = {"bgr8": 3, "rgb8": 3, "bgra8": 4, "rgba8": 4, "mono8": 1, "mono16": 1}[encoding]
    dtype = np.uint16 if encoding == "mono16" else np.uint8
    pixels = RNG.integers(0, np.iinfo(dtype).max, (5, 7, channels), dtype=dtype, endpoint=True)
    msg = _raw_image(encoding, pixels[:, :, 0] if channels == 1 else pixels)
    np.testing.assert_array_equal(conversions.image_to_bgr(msg), image_message_to_bgr(msg))


def test_image_to_bgr_checks_and_converts_without_cv_bridge_too(monkeypatch):
    monkeypatch.setattr(conversions, "CvBridge", None)  # a pip-only install, even where cv_bridge exists
    bgr = RNG.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    np.testing.assert_array_equal(conversions.image_to_bgr(_raw_image("rgb8", bgr[:, :, ::-1])), bgr)
    broken = _raw_image("bgr8", bgr)
    broken.step = 5
    with pytest.raises(ValueError):
        conversions.image_to_bgr(broken)


def _detection(cx, cy, w, h, class_id="person", score=0.9):
    detection = Detection2D()
    detection.bbox.center.position.x, detection.bbox.center.position.y = float(cx), float(cy)
    detection.bbox.size_x, detection.bbox.size_y = float(w), float(h)
    if class_id is not None:
        result = ObjectHypothesisWithPose()
        result.hypothesis.class_id, result.hypothesis.score = class_id, float(score)
        detection.results = [result]
    return detection


def test_detection_arrays_become_xyxy_boxes_with_class_indices():
    labels = ClassLabels(["person", "car"])
    msg = Detection2DArray(detections=[_detection(10, 20, 4, 8), _detection(50, 60, 10, 6, "car", 0.5),
                                       _detection(5, 5, 2, 2, "dog", 0.3), _detection(7, 7, 2, 2, None)])
    read = detection_array_to_numpy(msg, labels.index_of)
    assert (read.dropped, read.problem) == (0, "")
    boxes, scores, classes = read.detections
    np.testing.assert_allclose(boxes, [[8, 16, 12, 24], [45, 57, 55, 63], [4, 4, 6, 6], [6, 6, 8, 8]])
    np.testing.assert_allclose(scores, [0.9, 0.5, 0.3, 1.0])
    assert classes.tolist() == [0, 1, 2, 3]
    assert labels.names == ["person", "car", "dog", ""]
    empty = detection_array_to_numpy(Detection2DArray(), labels.index_of)
    assert [a.shape for a in empty.detections] == [(0, 4), (0,), (0,)] and empty.dropped == 0


@pytest.mark.parametrize("values,message", [
    ((float("nan"), 1, 2, 2, 0.5), "non-finite"),
    ((1, 1, float("inf"), 2, 0.5), "non-finite"),
    ((1, 1, 2, float("nan"), 0.5), "non-finite"),
    ((1, 1, -2, 2, 0.5), "non-positive size"),
    ((1, 1, 2, 0, 0.5), "non-positive size"),
    ((1, 1, 2, 2, 1.5), "outside"),
    ((1, 1, 2, 2, float("nan")), "non-finite"),
])
def test_a_bad_detection_drops_that_row_only(values, message):
    cx, cy, w, h, score = values
    labels = ClassLabels(["person"])
    msg = Detection2DArray(detections=[_detection(5, 5, 2, 2), _detection(cx, cy, w, h, "dog", score),
                                       _detection(50, 60, 10, 6, "car", 0.5)])
    for read in (detection_array_to_numpy(msg, labels.index_of),
                 serialized_detections_to_numpy(serialize_message(msg), labels.index_of)[1]):
        assert read.dropped == 1 and message in read.problem and read.problem.startswith("detection 1 of 3")
        boxes, scores, classes = read.detections
        np.testing.assert_allclose(boxes, [[4, 4, 6, 6], [45, 57, 55, 63]])
        np.testing.assert_allclose(scores, [0.9, 0.5])
        assert classes.tolist() == [0, 1]
    assert labels.names == ["person", "car"]  # a dropped row teaches no class name


def test_tracks_message_follows_the_contract():
    header = Header(frame_id="camera_optical")
    header.stamp.sec, header.stamp.nanosec = 100, 5
    ids = np.array([3, 17], dtype=np.int64)
    boxes = np.array([[10.0, 20.0, 30.0, 60.0], [0.5, 1.5, 2.5, 9.5]])
    msg = tracks_to_detection_array(header, ids, boxes, np.array([0.8, 0.4]), ["person", "7"])
    assert msg.header.frame_id == "camera_optical" and msg.header.stamp.sec == 100
    assert [d.id for d in msg.detections] == ["3", "17"]
    first, second = msg.detections
    assert first.header.stamp.nanosec == 5 and first.header.frame_id == "camera_optical"
    assert (first.bbox.center.position.x, first.bbox.center.position.y) == (20.0, 40.0)
    assert (first.bbox.size_x, first.bbox.size_y) == (20.0, 40.0)
    assert (second.bbox.center.position.x, second.bbox.size_y) == (1.5, 8.0)
    assert [d.results[0].hypothesis.class_id for d in msg.detections] == ["person", "7"]
    assert [d.results[0].hypothesis.score for d in msg.detections] == [0.8, 0.4]
    assert tracks_to_detection_array(header, np.zeros(0), np.zeros((0, 4)), np.zeros(0), []).detections == []


def test_class_labels_map_names_indices_and_new_names():
    labels = ClassLabels(["person", "car"])
    assert labels.index_of("car") == 1 and labels.index_of("5") == 5 and labels.index_of("truck") == 2
    assert labels.labels(np.array([0, 2, 5])) == ["person", "truck", "5"]
    assert labels.labels(np.array([0, 2, 5]), as_index=True) == ["0", "2", "5"]
    assert labels.labels(np.zeros(0, dtype=np.int64)) == []
    crowded = ClassLabels([str(i) + "x" for i in range(MAX_CLASSES)])
    with pytest.raises(ValueError, match="distinct classes"):
        crowded.index_of("one too many")


def _random_header(rng) -> Header:
    header = Header(frame_id="c" * int(rng.integers(0, 7)) + ("é" if rng.random() < 0.3 else ""))
    header.stamp.sec, header.stamp.nanosec = int(rng.integers(-5, 2**31)), int(rng.integers(0, 10**9))
    return header


def test_serialized_tracks_are_what_rclpy_reads_as_the_tracks_message():
    rng = np.random.default_rng(3)
    # Every string length modulo 8 for frame_id, class names and ids, so every padding case occurs.
    for trial in range(200):
        count = int(rng.integers(0, 6))
        header = _random_header(rng)
        ids = rng.integers(0, 10 ** int(rng.integers(1, 12)), count)
        boxes = rng.uniform(0, 600, (count, 4))
        boxes[:, 2:] += boxes[:, :2]
        scores = rng.uniform(0, 1, count)
        class_ids = ["x" * int(rng.integers(0, 9)) for _ in range(count)]
        expected = tracks_to_detection_array(header, ids, boxes, scores, class_ids)
        data = serialized_tracks(header, ids, boxes, scores, class_ids)
        assert len(data) == len(serialize_message(expected)), trial
        assert deserialize_message(data, Detection2DArray) == expected, trial


def test_serialized_tracks_cut_strings_at_a_nul_as_rcl_does():
    header = Header(frame_id="cam\0era")
    msg = deserialize_message(serialized_tracks(header, np.array([4]), np.array([[0.0, 0, 2, 2]]), np.array([0.5]),
                                                ["per\0son"]), Detection2DArray)
    assert msg.header.frame_id == "cam" and msg.detections[0].results[0].hypothesis.class_id == "per"


def _random_detection_array(rng) -> Detection2DArray:
    msg = Detection2DArray(header=_random_header(rng))
    for _ in range(int(rng.integers(0, 6))):
        detection = _detection(*rng.uniform(1, 300, 4), class_id="k" * int(rng.integers(0, 9)),
                               score=rng.uniform(0, 1))
        detection.header = _random_header(rng)
        detection.id = "i" * int(rng.integers(0, 9))
        extra = int(rng.integers(0, 3))
        if extra == 0:
            detection.results = []  # no results: score 1 and class ""
        else:
            detection.results = detection.results + [ObjectHypothesisWithPose() for _ in range(extra - 1)]
        msg.detections.append(detection)
    return msg


def test_serialized_detections_read_like_the_messages_rclpy_makes_of_them():
    rng = np.random.default_rng(4)
    for trial in range(200):
        msg = _random_detection_array(rng)
        header, read = serialized_detections_to_numpy(serialize_message(msg), ClassLabels(["person"]).index_of)
        expected = detection_array_to_numpy(msg, ClassLabels(["person"]).index_of)
        assert header == msg.header, trial
        assert (read.dropped, read.problem) == (expected.dropped, expected.problem)
        for got, want in zip(read.detections, expected.detections):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_malformed_serialized_detections_raise_value_errors():
    data = serialize_message(_random_detection_array(np.random.default_rng(5)))
    labels = ClassLabels([])
    for length in range(len(data)):  # every truncation
        with pytest.raises(ValueError):
            serialized_detections_to_numpy(data[:length], labels.index_of)
    huge_count = bytearray(serialize_message(Detection2DArray()))
    huge_count[-4:] = (2**32 - 1).to_bytes(4, "little")
    with pytest.raises(ValueError, match="cannot fit"):
        serialized_detections_to_numpy(bytes(huge_count), labels.index_of)
    with pytest.raises(ValueError, match="cannot be read"):  # not XCDR1 little endian: rclpy reads it
        serialized_detections_to_numpy(b"\x00\x07\x00\x00garbage", labels.index_of)


def test_other_representations_are_read_by_rclpy(monkeypatch):
    msg = Detection2DArray(detections=[_detection(10, 20, 4, 8), _detection(50, 60, 10, 6, "car", 0.5)])
    msg.header.frame_id = "cam"
    monkeypatch.setattr(conversions, "decode_detection_array", lambda data: None)
    header, read = serialized_detections_to_numpy(serialize_message(msg), ClassLabels(["person", "car"]).index_of)
    boxes, scores, classes = read.detections
    assert header == msg.header
    np.testing.assert_allclose(boxes, [[8, 16, 12, 24], [45, 57, 55, 63]])
    assert classes.tolist() == [0, 1] and scores.tolist() == pytest.approx([0.9, 0.5])


def test_wire_format_check_notices_a_mismatch(monkeypatch):
    assert wire_format_matches_rmw()  # Fast DDS, the middleware installed here
    encode = detection_wire.encode_tracks
    monkeypatch.setattr(conversions, "encode_tracks", lambda *args: encode(*args)[:-1])  # unreadable
    assert not wire_format_matches_rmw()
    monkeypatch.setattr(conversions, "encode_tracks", lambda sec, *args: encode(sec + 1, *args))  # other content
    assert not wire_format_matches_rmw()
    monkeypatch.setattr(conversions, "encode_tracks", encode)
    monkeypatch.setattr(conversions, "decode_detection_array", lambda data: None)
    assert not wire_format_matches_rmw()
