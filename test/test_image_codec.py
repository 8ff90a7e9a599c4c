"""The shared image decoder (no ROS): every raw encoding, depth images, compressed images, and every kind of
bad input.

Messages are plain namespaces with the fields of sensor_msgs/Image and CompressedImage; their data comes
as bytes, array.array (rclpy) or a numpy array (rosbags), as the node and the bag sources hand them over.
"""
import array
import struct
import zlib
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from deepsort_ros.image_codec import (DEPTH_ENCODINGS, SUPPORTED_ENCODINGS, check_raw_image,
                                      compressed_image_to_bgr, depth_image_to_array, image_message_to_bgr,
                                      raw_image_to_bgr)

RNG = np.random.default_rng(7)
HEIGHT, WIDTH = 5, 7
# 4:2:2 images hold pixel pairs.
YUV_WIDTH = 6


def raw_message(encoding, pixels, padding=0, bigendian=0, container=bytes):
    """A raw image whose rows are ``pixels`` rows as bytes plus ``padding`` junk bytes each."""
    rows = np.ascontiguousarray(pixels).reshape(pixels.shape[0], -1).view(np.uint8)
    if padding:
        rows = np.concatenate([rows, np.full((rows.shape[0], padding), 0xAB, np.uint8)], axis=1)
    data = {bytes: rows.tobytes, array.array: lambda: array.array("B", rows.tobytes()),
            np.ndarray: lambda: rows.reshape(-1).copy()}[container]()
    return SimpleNamespace(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding,
                           is_bigendian=bigendian, step=rows.shape[1], data=data)


def _yuv422_cases():
    """UYVY and YUYV pixels with the BGR that BT.601 (video range, as OpenCV) gives, within 1 level."""
    luma = RNG.integers(0, 256, (HEIGHT, YUV_WIDTH), dtype=np.uint8)
    u, v = (RNG.integers(0, 256, (HEIGHT, YUV_WIDTH // 2), dtype=np.uint8) for _ in range(2))
    uyvy = np.empty((HEIGHT, YUV_WIDTH, 2), np.uint8)
    uyvy[:, 0::2, 0], uyvy[:, 1::2, 0], uyvy[:, :, 1] = u, v, luma
    yuyv = np.ascontiguousarray(uyvy[:, :, ::-1])
    c = np.maximum(luma.astype(float) - 16, 0) * 1.164
    d, e = (np.repeat(chroma, 2, axis=1).astype(float) - 128 for chroma in (u, v))
    expected = np.clip(np.rint(np.stack([c + 2.018 * d, c - 0.391 * d - 0.813 * e, c + 1.596 * e], axis=2)), 0, 255)
    return [(name, uyvy, expected, 1) for name in ("yuv422", "uyvy")] + \
           [(name, yuyv, expected, 1) for name in ("yuv422_yuy2", "yuyv")]


def _cases():
    """(encoding, message pixels, expected BGR, tolerance) built independently of the code under test."""
    bgr = RNG.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    alpha = RNG.integers(0, 256, (HEIGHT, WIDTH, 1), dtype=np.uint8)
    gray = RNG.integers(0, 256, (HEIGHT, WIDTH), dtype=np.uint8)
    gray3 = np.repeat(gray[:, :, None], 3, axis=2)
    wide = RNG.integers(0, 65536, (HEIGHT, WIDTH), dtype=np.uint16)
    wide[0, :4] = (0, 128, 129, 65535)  # rounding edges of v * 255 / 65535, as cv_bridge rounds
    wide_expected = np.repeat(np.floor(wide / 257.0 + 0.5).astype(np.uint8)[:, :, None], 3, axis=2)
    return [
        ("bgr8", bgr, bgr, 0),
        ("8UC3", bgr, bgr, 0),
        ("rgb8", bgr[:, :, ::-1], bgr, 0),
        ("bgra8", np.concatenate([bgr, alpha], axis=2), bgr, 0),
        ("8UC4", np.concatenate([bgr, alpha], axis=2), bgr, 0),
        ("rgba8", np.concatenate([bgr[:, :, ::-1], alpha], axis=2), bgr, 0),
        ("mono8", gray, gray3, 0),
        ("8UC1", gray, gray3, 0),
        ("mono16", wide.astype("<u2"), wide_expected, 0),
        ("mono16-bigendian", wide.astype(">u2"), wide_expected, 0),
        ("16UC1", wide.astype("<u2"), wide_expected, 0),
        *_yuv422_cases(),
    ]


CASES = _cases()


def test_every_supported_encoding_is_tested():
    assert {case[0].split("-")[0] for case in CASES} == set(SUPPORTED_ENCODINGS)


@pytest.mark.parametrize("padding", [0, 3])
@pytest.mark.parametrize("encoding,pixels,expected,tolerance", CASES, ids=[c[0] for c in CASES])
def test_every_encoding_converts_to_bgr(encoding, pixels, expected, tolerance, padding):
    msg = raw_message(encoding.split("-")[0], pixels, padding=padding, bigendian=int(encoding.endswith("bigendian")))
    out = raw_image_to_bgr(msg)
    assert out.dtype == np.uint8 and out.shape == (HEIGHT, pixels.shape[1], 3)
    np.testing.assert_allclose(out, expected, rtol=0, atol=tolerance)
    np.testing.assert_array_equal(image_message_to_bgr(msg), out)


@pytest.mark.parametrize("container", [bytes, array.array, np.ndarray], ids=["bytes", "rclpy", "rosbags"])
def test_every_data_container_decodes_and_unpadded_bgr8_is_not_copied(container):
    bgr = RNG.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    msg = raw_message("bgr8", bgr, container=container)
    out = raw_image_to_bgr(msg)
    np.testing.assert_array_equal(out, bgr)
    assert np.shares_memory(out, np.frombuffer(msg.data, np.uint8))
    wide = RNG.integers(0, 65536, (HEIGHT, WIDTH), dtype=np.uint16).astype(">u2")
    np.testing.assert_array_equal(raw_image_to_bgr(raw_message("mono16", wide, 2, 1, container))[:, :, 0],
                                  np.floor(wide / 257.0 + 0.5).astype(np.uint8))


def _bgr8_message():
    return raw_message("bgr8", RNG.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8))


@pytest.mark.parametrize("change,message", [
    (dict(encoding="bayer_rggb8"), "unsupported image encoding 'bayer_rggb8'"),
    (dict(encoding=""), "unsupported image encoding"),
    (dict(step=WIDTH * 3 - 1), "step 20 is shorter than a 7-pixel bgr8 row"),
    (dict(data=b"\x00" * (WIDTH * 3 * HEIGHT - 1)), "has 104 bytes.*needs 105"),
    (dict(data=b"\x00" * (WIDTH * 3 * HEIGHT + 5)), "needs"),
    (dict(data=b""), "needs"),
    (dict(height=HEIGHT * 2), "needs"),
    (dict(height=0, width=0, step=0, data=b""), "empty"),
    (dict(height=0), "empty"),
    (dict(width=100_000, step=300_000), "exceeds the limit"),
    (dict(width=10_000, height=10_000, step=30_000), "exceeds the limit"),
    (dict(encoding="yuv422", step=WIDTH * 2, data=b"\x00" * (WIDTH * 2 * HEIGHT)), "not a multiple of 2"),
])
def test_malformed_raw_images_raise_value_errors(change, message):
    msg = _bgr8_message()
    for key, value in change.items():
        setattr(msg, key, value)
    with pytest.raises(ValueError, match=message):
        check_raw_image(msg)
    with pytest.raises(ValueError, match=message):
        raw_image_to_bgr(msg)


DEPTH_CASES = [("16UC1", "<u2", 0.001), ("16UC1", ">u2", 0.001), ("mono16", "<u2", 0.001), ("32FC1", "<f4", 1.0),
               ("32FC1", ">f4", 1.0)]


def test_every_depth_encoding_is_tested():
    assert {case[0] for case in DEPTH_CASES} == set(DEPTH_ENCODINGS)


@pytest.mark.parametrize("container", [bytes, array.array, np.ndarray], ids=["bytes", "rclpy", "rosbags"])
@pytest.mark.parametrize("padding", [0, 3])
@pytest.mark.parametrize("encoding,dtype,metres_per_unit", DEPTH_CASES, ids=[f"{c[0]}{c[1][0]}" for c in DEPTH_CASES])
def test_depth_images_decode_in_their_unit_and_byte_order(encoding, dtype, metres_per_unit, padding, container):
    values = RNG.uniform(0, 10_000, (HEIGHT, WIDTH)).astype(dtype)
    msg = raw_message(encoding, values, padding=padding, bigendian=int(dtype[0] == ">"), container=container)
    depth, unit = depth_image_to_array(msg)
    assert unit == metres_per_unit and depth.shape == (HEIGHT, WIDTH)
    np.testing.assert_array_equal(depth, values)
    if not padding:
        assert np.shares_memory(depth, np.frombuffer(msg.data, np.uint8))


@pytest.mark.parametrize("change,message", [
    (dict(encoding="rgb8"), "depth encoding 'rgb8' is not supported"),
    (dict(encoding="32FC1"), "step 14 is shorter than a 7-pixel 32FC1 row"),
    (dict(step=WIDTH * 2 - 1), "step 13 is shorter than a 7-pixel 16UC1 row"),
    (dict(data=b"\x00" * (WIDTH * 2 * HEIGHT + 2)), "has 72 bytes.*needs 70"),
    (dict(height=0, width=0, step=0, data=b""), "empty"),
    (dict(width=100_000, step=200_000), "exceeds the limit"),
])
def test_malformed_depth_images_raise_value_errors(change, message):
    msg = raw_message("16UC1", np.zeros((HEIGHT, WIDTH), "<u2"))
    for key, value in change.items():
        setattr(msg, key, value)
    with pytest.raises(ValueError, match=message):
        depth_image_to_array(msg)


def _png_claiming_size(width, height):
    """A valid small PNG whose IHDR is patched (with a correct CRC) to claim another size."""
    png = bytearray(cv2.imencode(".png", np.zeros((2, 2, 3), np.uint8))[1].tobytes())
    ihdr = 8 + 8  # signature, chunk length + type
    png[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    png[ihdr + 13:ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(png[ihdr - 4:ihdr + 13])))
    return bytes(png)


def test_compressed_images_decode():
    bgr = RNG.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    png = SimpleNamespace(format="png", data=cv2.imencode(".png", bgr)[1].reshape(-1))
    np.testing.assert_array_equal(compressed_image_to_bgr(png), bgr)
    np.testing.assert_array_equal(image_message_to_bgr(png), bgr)
    jpeg = SimpleNamespace(format="jpeg", data=array.array("B", cv2.imencode(".jpg", bgr)[1].tobytes()))
    assert compressed_image_to_bgr(jpeg).shape == (8, 9, 3)


@pytest.mark.parametrize("data,message", [
    (b"", r"compressed image \(png\) has no data"),
    (b"not an image at all", "cannot be decoded"),
    ("truncated", "cannot be decoded"),
    (RNG.bytes(500), "cannot be decoded"),
    (_png_claiming_size(100_000, 100_000), "cannot be decoded"),
    (cv2.imencode(".png", np.zeros((1, 17_000, 3), np.uint8))[1].tobytes(), "exceeds the limit"),
])
def test_bad_compressed_images_raise_value_errors(data, message):
    if data == "truncated":
        whole = cv2.imencode(".png", RNG.integers(0, 256, (8, 9, 3), dtype=np.uint8))[1].tobytes()
        data = whole[: len(whole) // 2]
    with pytest.raises(ValueError, match=message):
        compressed_image_to_bgr(SimpleNamespace(format="png", data=data))


def test_objects_that_are_no_image_are_refused():
    with pytest.raises(ValueError, match="SimpleNamespace is not an image message"):
        image_message_to_bgr(SimpleNamespace(data=b"\x00"))
