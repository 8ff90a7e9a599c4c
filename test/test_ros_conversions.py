"""Message conversions of the ROS layer (no ROS graph needed): every encoding, bad input, detections."""
import struct
import zlib

import cv2
import numpy as np
import pytest

from deepsort_ros.ros import conversions
from deepsort_ros.ros.conversions import (bgr_to_image, compressed_to_bgr, detection_array_to_numpy, image_to_bgr,
                                          image_to_bgr_numpy, tracks_to_detection_array)
from deepsort_ros.ros.labels import MAX_CLASSES, ClassLabels
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

RNG = np.random.default_rng(7)
HEIGHT, WIDTH = 5, 7


def _image(encoding, pixels, padding=0, bigendian=0):
    """An Image whose rows are ``pixels`` rows as bytes plus ``padding`` junk bytes each."""
    rows = np.ascontiguousarray(pixels).reshape(pixels.shape[0], -1).view(np.uint8)
    if padding:
        rows = np.concatenate([rows, np.full((rows.shape[0], padding), 0xAB, np.uint8)], axis=1)
    return Image(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding, is_bigendian=bigendian,
                 step=rows.shape[1], data=rows.tobytes())


def _cases():
    """(encoding, message pixels, expected BGR) built independently of the code under test."""
    bgr = RNG.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    alpha = RNG.integers(0, 256, (HEIGHT, WIDTH, 1), dtype=np.uint8)
    gray = RNG.integers(0, 256, (HEIGHT, WIDTH), dtype=np.uint8)
    gray3 = np.repeat(gray[:, :, None], 3, axis=2)
    wide = RNG.integers(0, 65536, (HEIGHT, WIDTH), dtype=np.uint16)
    wide[0, :4] = (0, 128, 129, 65535)  # rounding edges of v * 255 / 65535
    wide_expected = np.repeat(np.floor(wide / 257.0 + 0.5).astype(np.uint8)[:, :, None], 3, axis=2)
    return [
        ("bgr8", bgr, bgr),
        ("8UC3", bgr, bgr),
        ("rgb8", bgr[:, :, ::-1], bgr),
        ("bgra8", np.concatenate([bgr, alpha], axis=2), bgr),
        ("rgba8", np.concatenate([bgr[:, :, ::-1], alpha], axis=2), bgr),
        ("mono8", gray, gray3),
        ("8UC1", gray, gray3),
        ("mono16", wide.astype("<u2"), wide_expected),
        ("mono16-bigendian", wide.astype(">u2"), wide_expected),
    ]


@pytest.mark.parametrize("padding", [0, 3])
@pytest.mark.parametrize("encoding,pixels,expected", _cases(), ids=[c[0] for c in _cases()])
def test_every_encoding_converts_to_the_same_bgr(encoding, pixels, expected, padding):
    bigendian = int(encoding.endswith("bigendian"))
    msg = _image(encoding.split("-")[0], pixels, padding=padding, bigendian=bigendian)
    out = image_to_bgr(msg)
    assert out.dtype == np.uint8 and out.shape == (HEIGHT, WIDTH, 3)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(image_to_bgr_numpy(msg), expected)


@pytest.mark.skipif(conversions.CvBridge is None, reason="cv_bridge is not installed (pip-only environment)")
@pytest.mark.parametrize("encoding,pixels,expected", _cases(), ids=[c[0] for c in _cases()])
def test_cv_bridge_and_numpy_agree(encoding, pixels, expected):
    msg = _image(encoding.split("-")[0], pixels, padding=2, bigendian=int(encoding.endswith("bigendian")))
    np.testing.assert_array_equal(conversions.image_to_bgr_cv_bridge(msg), image_to_bgr_numpy(msg))


def _bgr8(height=HEIGHT, width=WIDTH):
    return _image("bgr8", RNG.integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize("change,message", [
    (dict(encoding="yuv422"), "unsupported image encoding"),
    (dict(encoding=""), "unsupported image encoding"),
    (dict(step=WIDTH * 3 - 1), "shorter than"),
    (dict(data=b"\x00" * (WIDTH * 3 * HEIGHT - 1)), "needs"),
    (dict(data=b"\x00" * (WIDTH * 3 * HEIGHT + 5)), "needs"),
    (dict(data=b""), "needs"),
    (dict(height=0, width=0, step=0, data=b""), "empty"),
    (dict(height=HEIGHT * 2), "needs"),
    (dict(width=100_000, step=300_000), "exceeds the limit"),
    (dict(width=10_000, height=10_000, step=30_000), "exceeds the limit"),
])
def test_malformed_images_raise_value_errors(change, message):
    msg = _bgr8()
    for key, value in change.items():
        setattr(msg, key, value)
    with pytest.raises(ValueError, match=message):
        image_to_bgr(msg)


def test_bgr_to_image_round_trips_and_keeps_the_header():
    bgr = RNG.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    header = Header(frame_id="cam")
    header.stamp.sec, header.stamp.nanosec = 12, 34
    msg = bgr_to_image(bgr, header)
    assert (msg.encoding, msg.step, msg.height, msg.width) == ("bgr8", 18, 4, 6)
    assert msg.header.frame_id == "cam" and msg.header.stamp.nanosec == 34
    np.testing.assert_array_equal(image_to_bgr(msg), bgr)
    with pytest.raises(ValueError):
        bgr_to_image(bgr[:, :, 0], header)


def _png_claiming_size(width, height):
    """A valid small PNG whose IHDR is patched (with a correct CRC) to claim another size."""
    png = bytearray(cv2.imencode(".png", np.zeros((2, 2, 3), np.uint8))[1].tobytes())
    ihdr = 8 + 8  # signature, chunk length + type
    png[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    png[ihdr + 13:ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(png[ihdr - 4:ihdr + 13])))
    return bytes(png)


def test_compressed_images_decode_and_bad_bytes_raise():
    bgr = RNG.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    png = CompressedImage(format="png", data=cv2.imencode(".png", bgr)[1].tobytes())
    np.testing.assert_array_equal(compressed_to_bgr(png), bgr)
    jpeg = CompressedImage(format="jpeg", data=cv2.imencode(".jpg", bgr)[1].tobytes())
    assert compressed_to_bgr(jpeg).shape == (8, 9, 3)
    bad = [b"", b"not an image at all", bytes(png.data[: len(png.data) // 2]), RNG.bytes(500),
           _png_claiming_size(100_000, 100_000)]
    for data in bad:
        with pytest.raises(ValueError, match="compressed image"):
            compressed_to_bgr(CompressedImage(format="png", data=data))


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
    boxes, scores, classes = detection_array_to_numpy(msg, labels.index_of)
    np.testing.assert_allclose(boxes, [[8, 16, 12, 24], [45, 57, 55, 63], [4, 4, 6, 6], [6, 6, 8, 8]])
    np.testing.assert_allclose(scores, [0.9, 0.5, 0.3, 1.0])
    assert classes.tolist() == [0, 1, 2, 3]
    assert labels.names == ["person", "car", "dog", ""]
    empty = detection_array_to_numpy(Detection2DArray(), labels.index_of)
    assert [a.shape for a in empty] == [(0, 4), (0,), (0,)]


@pytest.mark.parametrize("values,message", [
    ((float("nan"), 1, 2, 2, 0.5), "non-finite"),
    ((1, 1, float("inf"), 2, 0.5), "non-finite"),
    ((1, 1, 2, float("nan"), 0.5), "non-finite"),
    ((1, 1, -2, 2, 0.5), "non-positive size"),
    ((1, 1, 2, 0, 0.5), "non-positive size"),
    ((1, 1, 2, 2, 1.5), "outside"),
    ((1, 1, 2, 2, float("nan")), "non-finite"),
])
def test_bad_detections_raise_value_errors(values, message):
    cx, cy, w, h, score = values
    msg = Detection2DArray(detections=[_detection(5, 5, 2, 2), _detection(cx, cy, w, h, "person", score)])
    with pytest.raises(ValueError, match=message):
        detection_array_to_numpy(msg, ClassLabels(["person"]).index_of)


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
