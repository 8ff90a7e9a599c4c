"""ROS messages <-> numpy: BGR arrays to images, detections to arrays, tracks to Detection2DArray, stamps.

Detection2DArray goes to and from its serialised bytes (:mod:`deepsort_ros.detection_codec`, the one codec
of its layout, shared with the tools): the node subscribes to detections and publishes tracks as bytes.

Incoming images are decoded by :mod:`deepsort_ros.image_codec` (shared with the bag sources), or, for
the common raw encodings, by cv_bridge where it is installed (robots with apt ROS 2); both give the same
pixels. Every function that reads a message checks it first and raises ``ValueError`` naming what is
wrong, so the node can log and skip a bad message instead of crashing or tracking garbage; a bad row of a
detection array drops that row only (:class:`ReadDetections` counts them).
"""
from __future__ import annotations

import array
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection2DArray

from deepsort_ros.detection_codec import UnsupportedRepresentation, decode_detection_array, encode_tracks
from deepsort_ros.image_codec import check_raw_image, image_message_to_bgr

try:
    from cv_bridge import CvBridge
except ImportError:  # pip-only installs have no cv_bridge; the shared decoder gives the same pixels.
    CvBridge = None

# Raw encodings cv_bridge converts to bgr8 itself; everything else goes through the shared decoder.
CV_BRIDGE_ENCODINGS = frozenset({"bgr8", "rgb8", "bgra8", "rgba8", "mono8", "mono16"})
_bridge = None


def stamp_to_ns(stamp) -> int:
    """A builtin_interfaces/Time as integer nanoseconds (exact, unlike float seconds)."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def image_to_bgr(msg) -> np.ndarray:
    """Check and convert a sensor_msgs Image or CompressedImage to (H, W, 3) BGR uint8.

    Raises
    ------
    ValueError
        When the message is malformed (see :mod:`deepsort_ros.image_codec`).
    """
    if CvBridge is None or getattr(msg, "encoding", None) not in CV_BRIDGE_ENCODINGS:
        return image_message_to_bgr(msg)
    global _bridge
    check_raw_image(msg)
    if _bridge is None:
        _bridge = CvBridge()
    return np.ascontiguousarray(_bridge.imgmsg_to_cv2(msg, desired_encoding="bgr8"))


def bgr_to_image(bgr: np.ndarray, header: Header) -> Image:
    """Wrap a (H, W, 3) BGR uint8 array in a bgr8 Image with ``header``."""
    if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
        raise ValueError(f"expected a BGR uint8 image (H, W, 3), got {bgr.dtype} {bgr.shape}")
    msg = Image(header=header, height=bgr.shape[0], width=bgr.shape[1], encoding="bgr8", is_bigendian=0,
                step=bgr.shape[1] * 3)
    # array('B', bytes) copies in one go; a list of ints would be orders of magnitude slower.
    msg.data = array.array("B", np.ascontiguousarray(bgr).tobytes())
    return msg


class ReadDetections(NamedTuple):
    """External detections as tracker input, without the rows that could not be used.

    Attributes
    ----------
    detections : tuple
        ``(boxes_xyxy (N,4) float32, scores (N,) float32, classes (N,) int64)`` of the good rows.
    dropped : int
        Rows dropped: a non-finite centre, size or score, a size that is not positive, or a score outside
        [0, 1] (one bad row from another detector costs that row, not the whole frame).
    problem : str
        What was wrong with the first dropped row ("" when none was).
    """

    detections: tuple[np.ndarray, np.ndarray, np.ndarray]
    dropped: int
    problem: str


def serialized_detections_to_numpy(data: bytes, class_index: Callable[[str], int]
                                   ) -> tuple[Header, ReadDetections]:
    """Read a serialised Detection2DArray (a raw subscription's bytes) as tracker input.

    Parameters
    ----------
    data : bytes
        The array as the middleware delivered it: boxes by centre and size in image pixels, the first
        result of each detection giving class and score (no results: score 1 and class id ``""``).
    class_index : callable
        Maps a ``class_id`` string to the tracker's class index (called for good rows only).

    Returns
    -------
    tuple
        ``(header, ReadDetections)``: bad rows are dropped and counted there, not raised.

    Raises
    ------
    ValueError
        When the bytes are malformed.
    """
    try:
        decoded = decode_detection_array(data)
    except UnsupportedRepresentation:
        # Another byte order or XCDR2 (rare): the middleware re-serialises it as the codec reads it.
        try:
            data = serialize_message(deserialize_message(data, Detection2DArray))
        except Exception as error:  # rclpy raises plain RuntimeErrors for bytes it cannot read
            raise ValueError(f"serialised Detection2DArray cannot be read: {_one_line(error)}") from None
        decoded = decode_detection_array(data)
    header = Header(frame_id=decoded.frame_id)
    header.stamp.sec, header.stamp.nanosec = decoded.stamp_sec, decoded.stamp_nanosec
    return header, _checked_detections(decoded.values, decoded.class_ids, class_index)


def _checked_detections(values: np.ndarray, class_ids: list[str], class_index: Callable[[str], int]
                        ) -> ReadDetections:
    """Check (N, 5) centre x, centre y, size x, size y, score rows, drop bad ones, make tracker input."""
    count = len(values)
    with np.errstate(invalid="ignore"):
        non_finite = ~np.isfinite(values).all(axis=1)
        no_size = ~non_finite & ((values[:, 2] <= 0) | (values[:, 3] <= 0))
        bad_score = ~non_finite & ((values[:, 4] < 0) | (values[:, 4] > 1))
    bad = non_finite | no_size | bad_score
    problem = ""
    if bad.any():
        row = int(np.argmax(bad))
        if non_finite[row]:
            problem = f"detection {row} of {count} has a non-finite centre, size or score"
        elif no_size[row]:
            problem = f"detection {row} of {count} has a non-positive size {values[row, 2]}x{values[row, 3]}"
        else:
            problem = f"detection {row} of {count} has score {values[row, 4]} outside [0, 1]"
        keep = ~bad
        values = values[keep]
        class_ids = [class_id for class_id, good in zip(class_ids, keep.tolist()) if good]
    centres, sizes = values[:, :2], values[:, 2:4]
    boxes = np.concatenate([centres - sizes * 0.5, centres + sizes * 0.5], axis=1).astype(np.float32)
    classes = np.fromiter((class_index(c) for c in class_ids), dtype=np.int64, count=len(class_ids))
    return ReadDetections((boxes, values[:, 4].astype(np.float32), classes), int(np.count_nonzero(bad)), problem)


def serialized_tracks(header: Header, ids: np.ndarray, boxes_xyxy: np.ndarray, scores: np.ndarray,
                      class_ids: Sequence[str]) -> bytes:
    """The serialised ``tracks`` message for the image with ``header`` (layout:
    :mod:`deepsort_ros.detection_codec`), ready for ``Publisher.publish``."""
    return encode_tracks(header.stamp.sec, header.stamp.nanosec, header.frame_id, ids, boxes_xyxy, scores,
                         class_ids)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
