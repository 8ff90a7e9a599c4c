"""vision_msgs/Detection2DArray to and from its serialised (CDR) bytes, without ROS: the one codec of the
``tracks`` layout, used by the node, the bag writer of ``deepsort-track``, the demo and the soak benchmark.

The layout of a ``tracks`` message (the contract consumers rely on): one Detection2D per track, each with
the image's header; ``id`` the track id in decimal; ``bbox.center.position`` and ``size_x`` / ``size_y``
the box in image pixels (``theta`` 0); ``results`` one ObjectHypothesisWithPose whose ``hypothesis`` is
(class name or index string, score) and whose pose is the identity with zero covariance. The score is
the score of the detection the track matched this frame, and exactly 0 for a track coasting on its Kalman
prediction (no detection this frame): consumers tell measured from predicted boxes by ``score > 0``
(:func:`published_scores`).

Bytes, not message objects: rclpy turns every nested field into a Python object, field by field, in both
directions, which costs the node about 1.1 ms per frame with 20 tracks (measured with ``python -m
deepsort_ros.ros.node_overhead``; see the README). ROS 2 middlewares serialise messages as plain CDR
(rosbag2 records them so, whatever the middleware), and this module writes what
``rclpy.serialization.serialize_message`` writes (checked in the tests; padding bytes are zero here),
little endian. It reads little-endian CDR; other representations raise
:class:`UnsupportedRepresentation` so a ROS caller can have its middleware re-serialise them first.

Layout reminders (offsets count from the end of the 4-byte encapsulation header): a primitive is
aligned to its size, a string is a uint32 byte count (terminating NUL included) and its UTF-8 bytes, a
sequence a uint32 count and its elements, and nested structs add no padding of their own.
"""
from __future__ import annotations

import struct
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from deepsort_ros.core.track import TrackState

# Encapsulation header: representation id CDR_LE (0x0001), options 0.
CDR_LE_HEADER = b"\x00\x01\x00\x00"
_CDR_LE_ID = b"\x00\x01"
_PADDING = bytes(8)
_ONE_RESULT = struct.pack("<I", 1)
_UINT32 = struct.Struct("<I")
_STAMP = struct.Struct("<iI")
_SCORE = struct.Struct("<d")
_BBOX = struct.Struct("<5d")
# Doubles from a result's score to the end of its Detection2D's bbox: score, pose (position xyz,
# orientation xyzw), covariance[36], bbox (center x, y, theta, size_x, size_y).
_DOUBLES_PER_DETECTION = 1 + 7 + 36 + 5
_POSE_AND_COVARIANCE_BYTES = (7 + 36) * 8
# Smallest possible Detection2D on the wire: stamp, empty frame_id, no results, bbox, empty id.
_MIN_DETECTION_BYTES = 8 + 4 + 4 + 40 + 4


class UnsupportedRepresentation(ValueError):
    """The bytes are not little-endian plain CDR (another byte order or XCDR2): re-serialise them first."""


class DetectionArray(NamedTuple):
    """What the codec reads from a serialised Detection2DArray."""

    stamp_sec: int
    stamp_nanosec: int
    frame_id: str
    # (N, 5) float64 per detection: centre x, centre y, size x, size y, score of the first result (1 without).
    values: np.ndarray
    # (N,) class_id of each detection's first result ("" without).
    class_ids: list[str]
    # (N,) Detection2D.id of each detection (the track id in decimal in the node's tracks).
    ids: list[str]

    @property
    def stamp_ns(self) -> int:
        """The header stamp in integer nanoseconds."""
        return self.stamp_sec * 1_000_000_000 + self.stamp_nanosec

    def boxes_xyxy(self) -> np.ndarray:
        """(N, 4) float64 boxes as corners (x1, y1, x2, y2)."""
        centres, sizes = self.values[:, :2], self.values[:, 2:4]
        return np.concatenate([centres - sizes * 0.5, centres + sizes * 0.5], axis=1)

    def track_ids(self) -> np.ndarray:
        """(N,) int64 track ids; ValueError when an id is not a decimal integer (not the node's tracks)."""
        try:
            return np.array([int(text) for text in self.ids], dtype=np.int64)
        except ValueError:
            raise ValueError(f"detection ids {self.ids[:5]} are not all decimal track ids") from None


@lru_cache(maxsize=4096)
def _cdr_string(text: str) -> bytes:
    """A string field: byte count and UTF-8 bytes with their NUL (rcl cuts a string at its first NUL)."""
    data = text.encode("utf-8").split(b"\0", 1)[0] + b"\0"
    return _UINT32.pack(len(data)) + data


_COASTING = int(TrackState.COASTING)
_SMALLEST_SCORE = np.finfo(np.float64).tiny


def published_scores(tracks) -> np.ndarray:
    """The scores a ``tracks`` message carries for :class:`deepsort_ros.core.Tracks` ``tracks``: the matched
    detection's score, 0 for a track coasting on its prediction.

    A matched detection scored 0 (possible with ``tracker.min_score`` 0) is written as the smallest positive
    double, so ``score > 0`` stays an exact test for "measured this frame"."""
    return np.where(tracks.states == _COASTING, 0.0, np.maximum(tracks.scores, _SMALLEST_SCORE))


def encode_tracks(stamp_sec: int, stamp_nanosec: int, frame_id: str, ids: np.ndarray, boxes_xyxy: np.ndarray,
                  scores: np.ndarray, class_ids: Sequence[str]) -> bytes:
    """The serialised ``tracks`` Detection2DArray (layout in the module docstring), ready for
    ``Publisher.publish`` or a bag writer.

    Parameters
    ----------
    stamp_sec, stamp_nanosec, frame_id
        The input image's header, copied into the array and every detection.
    ids : ndarray
        (M,) integer track ids.
    boxes_xyxy : ndarray
        (M, 4) boxes in image pixels.
    scores : ndarray
        (M,) score of the detection each track last matched.
    class_ids : sequence of str
        (M,) class name or index string per track.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    count = len(boxes)
    # Every detection's doubles in one array: the constant pose (identity orientation) and zero covariance
    # come from the fill, geometry and score from two vectorised writes.
    doubles = np.zeros((count, _DOUBLES_PER_DETECTION))
    doubles[:, 0] = scores
    doubles[:, 7] = 1.0
    doubles[:, 44:46] = (boxes[:, :2] + boxes[:, 2:]) * 0.5
    doubles[:, 47:49] = boxes[:, 2:] - boxes[:, :2]
    block = doubles.tobytes()
    block_size = _DOUBLES_PER_DETECTION * 8

    header = _STAMP.pack(stamp_sec, stamp_nanosec) + _cdr_string(frame_id)
    out = bytearray(CDR_LE_HEADER)
    out += header
    out += _PADDING[:-len(out) % 4]
    out += _UINT32.pack(count)
    for row, (track_id, class_id) in enumerate(zip(np.asarray(ids, dtype=np.int64).tolist(), class_ids)):
        # len(out) - 4 is the payload offset; the 4-byte header keeps it congruent to len(out) mod 4.
        out += _PADDING[:-len(out) % 4]
        out += header
        out += _PADDING[:-len(out) % 4]
        out += _ONE_RESULT
        out += _cdr_string(class_id)
        out += _PADDING[:(4 - len(out)) % 8]
        out += block[row * block_size:(row + 1) * block_size]
        # Doubles leave the offset 8-aligned, so the id string needs no padding.
        track_id_bytes = b"%d\0" % track_id
        out += _UINT32.pack(len(track_id_bytes))
        out += track_id_bytes
    return bytes(out)


def _read_string(data: bytes, offset: int) -> tuple[str, int]:
    (length,) = _UINT32.unpack_from(data, offset)
    start = offset + 4
    end = start + length
    if end > len(data):
        raise struct.error(f"a string of {length} bytes at offset {offset} runs past the end")
    # The same reading as rclpy: one trailing NUL dropped, invalid UTF-8 replaced.
    stop = end - 1 if length and data[end - 1] == 0 else end
    return data[start:stop].decode("utf-8", "replace"), end


def _skip_string(data: bytes, offset: int) -> int:
    """The offset after the string at ``offset`` (for strings the codec does not read)."""
    (length,) = _UINT32.unpack_from(data, offset)
    end = offset + 4 + length
    if end > len(data):
        raise struct.error(f"a string of {length} bytes at offset {offset} runs past the end")
    return end


def decode_detection_array(data: bytes) -> DetectionArray:
    """Read the header and each detection's box, first result (score, class id) and id.

    Reads any Detection2DArray (another detector's too: detections without results get score 1 and class
    id ``""``, further results are skipped), not only the node's tracks.

    Raises
    ------
    UnsupportedRepresentation
        When the bytes use another representation than little-endian plain CDR.
    ValueError
        When the bytes are truncated or their counts do not fit the data.
    """
    if len(data) < 4:
        raise ValueError(f"serialised Detection2DArray of {len(data)} bytes is too short")
    if data[:2] != _CDR_LE_ID:
        raise UnsupportedRepresentation(f"serialised Detection2DArray has representation id 0x{data[:2].hex()}, "
                                        f"not little-endian CDR (0x0001)")
    try:
        sec, nanosec = _STAMP.unpack_from(data, 4)
        frame_id, offset = _read_string(data, 12)
        offset += -offset % 4
        (count,) = _UINT32.unpack_from(data, offset)
        offset += 4
        if count > (len(data) - offset) // _MIN_DETECTION_BYTES:
            raise struct.error(f"{count} detections cannot fit in {len(data) - offset} bytes")
        values = np.empty((count, 5), dtype=np.float64)
        class_ids, ids = [], []
        for row in range(count):
            offset += -offset % 4
            offset = _skip_string(data, offset + 8)  # the detection's own header: stamp, frame_id
            offset += -offset % 4
            (results,) = _UINT32.unpack_from(data, offset)
            offset += 4
            class_id, score = "", 1.0
            for result in range(results):
                name, offset = _read_string(data, offset)
                offset += (4 - offset) % 8
                if result == 0:
                    class_id, (score,) = name, _SCORE.unpack_from(data, offset)
                offset += 8 + _POSE_AND_COVARIANCE_BYTES
            offset += (4 - offset) % 8
            cx, cy, _, size_x, size_y = _BBOX.unpack_from(data, offset)
            detection_id, offset = _read_string(data, offset + _BBOX.size)
            values[row] = (cx, cy, size_x, size_y, score)
            class_ids.append(class_id)
            ids.append(detection_id)
    except struct.error as error:
        raise ValueError(f"serialised Detection2DArray of {len(data)} bytes is malformed: {error}") from None
    return DetectionArray(sec, nanosec, frame_id, values, class_ids, ids)
