"""ROS messages <-> numpy: images to BGR arrays, detections to arrays, tracks to Detection2DArray.

Every function that reads a message checks it first and raises ``ValueError`` naming what is wrong, so
the node can log and skip a bad message instead of crashing or tracking garbage.

Raw images go through cv_bridge when it is importable (robots with apt ROS 2) and through the numpy
conversion here otherwise; both give the same pixels (cv_bridge semantics: 16-bit images are scaled by
255/65535 with rounding).
"""
from __future__ import annotations

import array
from collections.abc import Callable, Sequence

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from deepsort_ros.ros import MAX_DECODED_PIXELS

try:
    from cv_bridge import CvBridge
except ImportError:  # pip-only installs have no cv_bridge; the numpy conversion is equivalent.
    CvBridge = None

# encoding -> (channels, bytes per channel, OpenCV conversion to BGR or None when already BGR).
RAW_ENCODINGS: dict[str, tuple[int, int, int | None]] = {
    "bgr8": (3, 1, None),
    "8UC3": (3, 1, None),
    "rgb8": (3, 1, cv2.COLOR_RGB2BGR),
    "bgra8": (4, 1, cv2.COLOR_BGRA2BGR),
    "rgba8": (4, 1, cv2.COLOR_RGBA2BGR),
    "mono8": (1, 1, cv2.COLOR_GRAY2BGR),
    "8UC1": (1, 1, cv2.COLOR_GRAY2BGR),
    "mono16": (1, 2, cv2.COLOR_GRAY2BGR),
}
SUPPORTED_ENCODINGS = tuple(RAW_ENCODINGS)
# Larger images are corrupt headers or hostile input; refusing them avoids giant allocations.
MAX_IMAGE_SIDE = 16384
MAX_IMAGE_PIXELS = MAX_DECODED_PIXELS
# cv_bridge cannot turn these into bgr8 directly (no colour information): take them as they are.
_CV_BRIDGE_PASSTHROUGH = frozenset({"8UC1"})
_MONO16_TO_8 = 255.0 / 65535.0


def check_image_size(width: int, height: int) -> None:
    """Raise ``ValueError`` unless ``width`` x ``height`` is a plausible image size."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size {width}x{height} is empty")
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
        raise ValueError(f"image size {width}x{height} exceeds the limit ({MAX_IMAGE_SIDE} per side, "
                         f"{MAX_IMAGE_PIXELS} pixels)")


def check_image(msg: Image) -> None:
    """Check an Image's encoding, size, step and data length.

    Raises
    ------
    ValueError
        On an unsupported encoding, an empty or huge size, a step shorter than a row, or a data length
        other than ``step * height``.
    """
    if msg.encoding not in RAW_ENCODINGS:
        raise ValueError(f"unsupported image encoding {msg.encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}")
    check_image_size(msg.width, msg.height)
    channels, channel_bytes, _ = RAW_ENCODINGS[msg.encoding]
    row_bytes = msg.width * channels * channel_bytes
    if msg.step < row_bytes:
        raise ValueError(f"image step {msg.step} is shorter than a {msg.width}-pixel {msg.encoding} row "
                         f"({row_bytes} bytes)")
    if len(msg.data) != msg.step * msg.height:
        raise ValueError(f"image data has {len(msg.data)} bytes; step {msg.step} x height {msg.height} "
                         f"needs {msg.step * msg.height}")


def image_to_bgr_numpy(msg: Image) -> np.ndarray:
    """Convert a checked Image to BGR uint8 without cv_bridge.

    Returns
    -------
    ndarray
        (height, width, 3) uint8; for bgr8/8UC3 images without row padding this is a view of the
        message's data (no copy).
    """
    channels, channel_bytes, conversion = RAW_ENCODINGS[msg.encoding]
    rows = np.frombuffer(msg.data, dtype=np.uint8).reshape(msg.height, msg.step)
    rows = rows[:, : msg.width * channels * channel_bytes]
    if channel_bytes == 2:
        dtype = np.dtype(">u2" if msg.is_bigendian else "<u2")
        wide = np.ascontiguousarray(rows).view(dtype).reshape(msg.height, msg.width).astype(np.uint16)
        # Same scaling and rounding as cv_bridge (cv::Mat::convertTo with 255/65535).
        pixels = cv2.convertScaleAbs(wide, alpha=_MONO16_TO_8)
    else:
        pixels = rows.reshape(msg.height, msg.width, channels)
    if conversion is None:
        return np.ascontiguousarray(pixels)
    return cv2.cvtColor(np.ascontiguousarray(pixels), conversion)


_bridge = None


def image_to_bgr_cv_bridge(msg: Image) -> np.ndarray:
    """Convert a checked Image to BGR uint8 with cv_bridge (only when it is installed)."""
    global _bridge
    if CvBridge is None:
        raise RuntimeError("cv_bridge is not installed")
    if _bridge is None:
        _bridge = CvBridge()
    if msg.encoding in _CV_BRIDGE_PASSTHROUGH:
        return cv2.cvtColor(_bridge.imgmsg_to_cv2(msg, desired_encoding="passthrough"), cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(_bridge.imgmsg_to_cv2(msg, desired_encoding="bgr8"))


def image_to_bgr(msg: Image) -> np.ndarray:
    """Check an Image and convert it to (H, W, 3) BGR uint8 (cv_bridge when importable).

    Raises
    ------
    ValueError
        When the message fails :func:`check_image`.
    """
    check_image(msg)
    if CvBridge is not None:
        return image_to_bgr_cv_bridge(msg)
    return image_to_bgr_numpy(msg)


def compressed_to_bgr(msg: CompressedImage) -> np.ndarray:
    """Decode a CompressedImage (JPEG, PNG, ...) to (H, W, 3) BGR uint8.

    Raises
    ------
    ValueError
        When the data is empty, cannot be decoded, or decodes to an implausible size.
    """
    if len(msg.data) == 0:
        raise ValueError(f"compressed image ({msg.format or 'no format'}) has no data")
    try:
        bgr = cv2.imdecode(np.frombuffer(msg.data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as error:  # OpenCV refuses headers beyond OPENCV_IO_MAX_IMAGE_PIXELS this way.
        raise ValueError(f"compressed image ({msg.format or 'no format'}) cannot be decoded: "
                         f"{' '.join(str(error).split())}") from None
    if bgr is None:
        raise ValueError(f"compressed image ({msg.format or 'no format'}, {len(msg.data)} bytes) cannot be "
                         f"decoded")
    check_image_size(bgr.shape[1], bgr.shape[0])
    return bgr


def bgr_to_image(bgr: np.ndarray, header: Header) -> Image:
    """Wrap a (H, W, 3) BGR uint8 array in a bgr8 Image with ``header``."""
    if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
        raise ValueError(f"expected a BGR uint8 image (H, W, 3), got {bgr.dtype} {bgr.shape}")
    msg = Image(header=header, height=bgr.shape[0], width=bgr.shape[1], encoding="bgr8", is_bigendian=0,
                step=bgr.shape[1] * 3)
    # array('B', bytes) copies in one go; a list of ints would be orders of magnitude slower.
    msg.data = array.array("B", np.ascontiguousarray(bgr).tobytes())
    return msg


def detection_array_to_numpy(msg: Detection2DArray, class_index: Callable[[str], int]
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read external detections as ``(boxes_xyxy (N,4) float32, scores (N,) float32, classes (N,) int64)``.

    Parameters
    ----------
    msg : Detection2DArray
        Boxes by centre and size in image pixels; the first result of each detection gives class and
        score (no results: score 1 and class id ``""``).
    class_index : callable
        Maps a ``class_id`` string to the tracker's class index.

    Raises
    ------
    ValueError
        When a centre, size or score is not finite, a size is not positive, or a score is outside [0, 1].
    """
    count = len(msg.detections)
    values = np.empty((count, 5), dtype=np.float64)
    class_ids = []
    for row, detection in enumerate(msg.detections):
        bbox = detection.bbox
        hypothesis = detection.results[0].hypothesis if detection.results else None
        values[row] = (bbox.center.position.x, bbox.center.position.y, bbox.size_x, bbox.size_y,
                       1.0 if hypothesis is None else hypothesis.score)
        class_ids.append("" if hypothesis is None else hypothesis.class_id)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise ValueError(f"detection {int(np.argmax(bad))} of {count} has a non-finite centre, size or score")
    bad = (values[:, 2] <= 0) | (values[:, 3] <= 0)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"detection {row} of {count} has a non-positive size {values[row, 2]}x{values[row, 3]}")
    bad = (values[:, 4] < 0) | (values[:, 4] > 1)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"detection {row} of {count} has score {values[row, 4]} outside [0, 1]")
    centres, sizes = values[:, :2], values[:, 2:4]
    boxes = np.concatenate([centres - sizes * 0.5, centres + sizes * 0.5], axis=1).astype(np.float32)
    classes = np.fromiter((class_index(c) for c in class_ids), dtype=np.int64, count=count)
    return boxes, values[:, 4].astype(np.float32), classes


def tracks_to_detection_array(header: Header, ids: np.ndarray, boxes_xyxy: np.ndarray, scores: np.ndarray,
                              class_ids: Sequence[str]) -> Detection2DArray:
    """Build the ``tracks`` message: one Detection2D per track, all with the image's header.

    Parameters
    ----------
    header : Header
        The input image's header (stamp and frame_id are kept).
    ids : ndarray
        (M,) track ids, written as decimal strings.
    boxes_xyxy : ndarray
        (M, 4) boxes in the original image's pixels.
    scores : ndarray
        (M,) score of the detection each track last matched.
    class_ids : sequence of str
        (M,) class name or index string per track.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    # One vectorised pass, then plain Python floats (fast to assign to message fields).
    geometry = np.concatenate([(boxes[:, :2] + boxes[:, 2:]) * 0.5, boxes[:, 2:] - boxes[:, :2]], axis=1).tolist()
    detections = []
    for track_id, (cx, cy, width, height), score, class_id in zip(
            np.asarray(ids).tolist(), geometry, np.asarray(scores, dtype=np.float64).tolist(), class_ids):
        detection = Detection2D(header=header, id=str(track_id))
        detection.bbox.center.position.x = cx
        detection.bbox.center.position.y = cy
        detection.bbox.size_x = width
        detection.bbox.size_y = height
        result = ObjectHypothesisWithPose()
        result.hypothesis.class_id = class_id
        result.hypothesis.score = score
        detection.results = [result]
        detections.append(detection)
    return Detection2DArray(header=header, detections=detections)
