"""ROS messages <-> numpy: BGR arrays to images, detections to arrays, tracks to Detection2DArray, stamps.

Detection2DArray also goes to and from its serialised bytes directly (:mod:`deepsort_ros.ros.detection_wire`),
which the node uses on its per-frame path where :func:`wire_format_matches_rmw` holds.

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
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

from deepsort_ros.image_codec import check_raw_image, image_message_to_bgr
from deepsort_ros.ros.detection_wire import decode_detection_array, encode_tracks

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


def detection_array_to_numpy(msg: Detection2DArray, class_index: Callable[[str], int]) -> ReadDetections:
    """Read external detections as tracker input (see :class:`ReadDetections`).

    Parameters
    ----------
    msg : Detection2DArray
        Boxes by centre and size in image pixels; the first result of each detection gives class and
        score (no results: score 1 and class id ``""``).
    class_index : callable
        Maps a ``class_id`` string to the tracker's class index (called for good rows only).
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
    return _checked_detections(values, class_ids, class_index)


def serialized_detections_to_numpy(data: bytes, class_index: Callable[[str], int]
                                   ) -> tuple[Header, ReadDetections]:
    """:func:`detection_array_to_numpy` for a serialised Detection2DArray (a raw subscription's bytes).

    Returns
    -------
    tuple
        ``(header, ReadDetections)``.

    Raises
    ------
    ValueError
        When the bytes are malformed.
    """
    decoded = decode_detection_array(data)
    if decoded is None:  # another representation than XCDR1 little endian: rclpy reads it
        try:
            msg = deserialize_message(data, Detection2DArray)
        except Exception as error:  # rclpy raises plain RuntimeErrors for bytes it cannot read
            raise ValueError(f"serialised Detection2DArray cannot be read: {error}") from None
        return msg.header, detection_array_to_numpy(msg, class_index)
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


def serialized_tracks(header: Header, ids: np.ndarray, boxes_xyxy: np.ndarray, scores: np.ndarray,
                      class_ids: Sequence[str]) -> bytes:
    """The serialised form of :func:`tracks_to_detection_array`'s message, built without message objects
    (about ten times faster; publish it where :func:`wire_format_matches_rmw` holds)."""
    return encode_tracks(header.stamp.sec, header.stamp.nanosec, header.frame_id, ids, boxes_xyxy, scores,
                         class_ids)


def wire_format_matches_rmw() -> bool:
    """Whether this middleware serialises Detection2DArray as :mod:`deepsort_ros.ros.detection_wire` does.

    Both directions are checked on a sample with odd string lengths (the cases that need padding): the
    middleware must read :func:`serialized_tracks`'s bytes as :func:`tracks_to_detection_array`'s
    message, and the decoder must read the middleware's bytes of that message back.
    """
    header = Header(frame_id="cam")
    header.stamp.sec, header.stamp.nanosec = 1_700_000_000, 123_456_789
    ids, scores, class_ids = np.array([7, 12345]), np.array([0.25, 1.0]), ["person", "bicycle"]
    boxes = np.array([[1.5, 2.0, 11.5, 32.0], [100.0, 50.0, 140.0, 130.0]])
    expected = tracks_to_detection_array(header, ids, boxes, scores, class_ids)
    try:
        written = deserialize_message(serialized_tracks(header, ids, boxes, scores, class_ids), Detection2DArray)
        read = decode_detection_array(serialize_message(expected))
    except Exception:  # any failure to read the other side's bytes means the formats differ
        return False
    values = np.concatenate([(boxes[:, :2] + boxes[:, 2:]) * 0.5, boxes[:, 2:] - boxes[:, :2], scores[:, None]],
                            axis=1)
    return (written == expected and read is not None and read.class_ids == class_ids
            and (read.stamp_sec, read.stamp_nanosec, read.frame_id) == (1_700_000_000, 123_456_789, "cam")
            and np.array_equal(read.values, values))
