"""Message conversions of the ROS layer (no ROS graph needed): images out, detections in, tracks out.

Decoding every encoding and every bad image is tested in test_image_codec.py, the Detection2DArray codec
against rclpy's serialisation in test_detection_codec.py; here rclpy's own message types go through them.
"""
import cv2
import numpy as np
import pytest

from deepsort_ros.image_codec import image_message_to_bgr
from deepsort_ros import detection_codec
from deepsort_ros.ros import conversions
from deepsort_ros.ros.conversions import bgr_to_image, serialized_detections_to_numpy, serialized_tracks, stamp_to_ns
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


def _read(msg: Detection2DArray, class_index):
    """The tracker input the node makes of ``msg`` arriving on its raw detections subscription."""
    header, detections = serialized_detections_to_numpy(serialize_message(msg), class_index)
    assert header == msg.header
    return detections


def test_detection_arrays_become_xyxy_boxes_with_class_indices():
    labels = ClassLabels(["person", "car"])
    msg = Detection2DArray(detections=[_detection(10, 20, 4, 8), _detection(50, 60, 10, 6, "car", 0.5),
                                       _detection(5, 5, 2, 2, "dog", 0.3), _detection(7, 7, 2, 2, None)])
    read = _read(msg, labels.index_of)
    assert (read.dropped, read.problem) == (0, "")
    boxes, scores, classes = read.detections
    np.testing.assert_allclose(boxes, [[8, 16, 12, 24], [45, 57, 55, 63], [4, 4, 6, 6], [6, 6, 8, 8]])
    np.testing.assert_allclose(scores, [0.9, 0.5, 0.3, 1.0])
    assert classes.tolist() == [0, 1, 2, 3]
    assert labels.names == ["person", "car", "dog", ""]
    empty = _read(Detection2DArray(), labels.index_of)
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
    read = _read(msg, labels.index_of)
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
    msg = deserialize_message(serialized_tracks(header, ids, boxes, np.array([0.8, 0.4]), ["person", "7"]),
                              Detection2DArray)
    assert msg.header.frame_id == "camera_optical" and msg.header.stamp.sec == 100
    assert [d.id for d in msg.detections] == ["3", "17"]
    first, second = msg.detections
    assert first.header.stamp.nanosec == 5 and first.header.frame_id == "camera_optical"
    assert (first.bbox.center.position.x, first.bbox.center.position.y) == (20.0, 40.0)
    assert (first.bbox.size_x, first.bbox.size_y) == (20.0, 40.0)
    assert (second.bbox.center.position.x, second.bbox.size_y) == (1.5, 8.0)
    assert [d.results[0].hypothesis.class_id for d in msg.detections] == ["person", "7"]
    assert [d.results[0].hypothesis.score for d in msg.detections] == [0.8, 0.4]
    empty = deserialize_message(serialized_tracks(header, np.zeros(0), np.zeros((0, 4)), np.zeros(0), []),
                                Detection2DArray)
    assert empty.detections == [] and empty.header == header


def test_class_labels_map_names_indices_and_new_names():
    labels = ClassLabels(["person", "car"])
    assert labels.index_of("car") == 1 and labels.index_of("5") == 5 and labels.index_of("truck") == 2
    assert labels.labels(np.array([0, 2, 5])) == ["person", "truck", "5"]
    assert labels.labels(np.array([0, 2, 5]), as_index=True) == ["0", "2", "5"]
    assert labels.labels(np.zeros(0, dtype=np.int64)) == []
    crowded = ClassLabels([str(i) + "x" for i in range(MAX_CLASSES)])
    with pytest.raises(ValueError, match="distinct classes"):
        crowded.index_of("one too many")


def test_malformed_serialized_detections_raise_value_errors():
    msg = Detection2DArray(detections=[_detection(10, 20, 4, 8)])
    data = serialize_message(msg)
    labels = ClassLabels([])
    for length in range(len(data)):  # every truncation
        with pytest.raises(ValueError):
            serialized_detections_to_numpy(data[:length], labels.index_of)
    with pytest.raises(ValueError, match="cannot be read"):  # neither the codec nor rclpy can read it
        serialized_detections_to_numpy(b"\x00\x07\x00\x00garbage", labels.index_of)


def test_representations_the_codec_does_not_read_are_reserialised_by_the_middleware(monkeypatch):
    msg = Detection2DArray(detections=[_detection(10, 20, 4, 8), _detection(50, 60, 10, 6, "car", 0.5)])
    msg.header.frame_id = "cam"
    data = serialize_message(msg)
    decode = detection_codec.decode_detection_array
    seen = []

    def codec_reading_only_the_middlewares_bytes(given):
        seen.append(given)
        if given is data:
            raise detection_codec.UnsupportedRepresentation("pretend big endian")
        return decode(given)

    monkeypatch.setattr(conversions, "decode_detection_array", codec_reading_only_the_middlewares_bytes)
    header, read = serialized_detections_to_numpy(data, ClassLabels(["person", "car"]).index_of)
    boxes, scores, classes = read.detections
    assert len(seen) == 2 and seen[1] == data  # re-serialised by rclpy, then decoded
    assert header == msg.header
    np.testing.assert_allclose(boxes, [[8, 16, 12, 24], [45, 57, 55, 63]])
    assert classes.tolist() == [0, 1] and scores.tolist() == pytest.approx([0.9, 0.5])
