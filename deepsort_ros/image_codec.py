"""Image messages to arrays, without ROS: the one decoder of the node and the bag sources, for colour
images (to BGR) and depth images (to depth values and their unit).

Works on any object with the fields of ``sensor_msgs/Image`` (``encoding``, ``height``, ``width``,
``step``, ``data``, ``is_bigendian``) or ``sensor_msgs/CompressedImage`` (``format``, ``data``): rclpy
messages in the node, rosbags-deserialised ones in :mod:`deepsort_ros.sources`. Only numpy and OpenCV are
used, so both layers get the same pixels from the same bytes.

Every function checks the message first and raises ``ValueError`` naming what is wrong, so callers can
log and skip a bad image instead of crashing or tracking garbage. 16-bit images are scaled to 8 bits as
cv_bridge does (``v * 255 / 65535``, rounded).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import cv2
import numpy as np

from deepsort_ros import MAX_IMAGE_PIXELS

# Larger images are corrupt headers or hostile input; refusing them avoids giant allocations.
MAX_IMAGE_SIDE = 16384


class RawEncoding(NamedTuple):
    """How the bytes of one raw encoding are laid out and turned into BGR."""

    channels: int
    channel_bytes: int
    # OpenCV conversion to BGR; None when the pixels already are BGR.
    to_bgr: int | None
    # 4:2:2 formats share chroma between two neighbouring pixels, so rows hold an even number of them.
    width_multiple: int = 1


RAW_ENCODINGS: dict[str, RawEncoding] = {
    "bgr8": RawEncoding(3, 1, None),
    "8UC3": RawEncoding(3, 1, None),
    "rgb8": RawEncoding(3, 1, cv2.COLOR_RGB2BGR),
    "bgra8": RawEncoding(4, 1, cv2.COLOR_BGRA2BGR),
    "8UC4": RawEncoding(4, 1, cv2.COLOR_BGRA2BGR),
    "rgba8": RawEncoding(4, 1, cv2.COLOR_RGBA2BGR),
    "mono8": RawEncoding(1, 1, cv2.COLOR_GRAY2BGR),
    "8UC1": RawEncoding(1, 1, cv2.COLOR_GRAY2BGR),
    "mono16": RawEncoding(1, 2, cv2.COLOR_GRAY2BGR),
    "16UC1": RawEncoding(1, 2, cv2.COLOR_GRAY2BGR),
    # ROS names UYVY "yuv422" and YUYV "yuv422_yuy2"; newer releases also use "uyvy" and "yuyv".
    "yuv422": RawEncoding(2, 1, cv2.COLOR_YUV2BGR_UYVY, 2),
    "uyvy": RawEncoding(2, 1, cv2.COLOR_YUV2BGR_UYVY, 2),
    "yuv422_yuy2": RawEncoding(2, 1, cv2.COLOR_YUV2BGR_YUY2, 2),
    "yuyv": RawEncoding(2, 1, cv2.COLOR_YUV2BGR_YUY2, 2),
}
SUPPORTED_ENCODINGS = tuple(RAW_ENCODINGS)
# Depth encodings (REP 118): pixel type and metres per unit.
DEPTH_ENCODINGS: dict[str, tuple[np.dtype, float]] = {
    "16UC1": (np.dtype("u2"), 0.001), "mono16": (np.dtype("u2"), 0.001), "32FC1": (np.dtype("f4"), 1.0)}
_MONO16_TO_8 = 255.0 / 65535.0


def check_image_size(width: int, height: int) -> None:
    """Raise ``ValueError`` unless ``width`` x ``height`` is a plausible image size."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size {width}x{height} is empty")
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
        raise ValueError(f"image size {width}x{height} exceeds the limit ({MAX_IMAGE_SIDE} per side, "
                         f"{MAX_IMAGE_PIXELS} pixels)")


def check_raw_image(msg: Any) -> RawEncoding:
    """Check a raw image's encoding, size, step and data length; return its encoding's layout.

    Raises
    ------
    ValueError
        On an unsupported encoding, an empty or huge size, an odd width for a 4:2:2 encoding, a step
        shorter than a row, or a data length other than ``step * height``.
    """
    layout = RAW_ENCODINGS.get(msg.encoding)
    if layout is None:
        raise ValueError(f"unsupported image encoding {msg.encoding!r}; supported: {', '.join(SUPPORTED_ENCODINGS)}")
    if msg.width % layout.width_multiple:
        raise ValueError(f"{msg.encoding} image width {msg.width} is not a multiple of {layout.width_multiple}")
    _check_rows(msg, layout.channels * layout.channel_bytes)
    return layout


def _check_rows(msg: Any, pixel_bytes: int) -> None:
    """Check a raw image's size, step and data length for pixels of ``pixel_bytes`` bytes each."""
    check_image_size(msg.width, msg.height)
    row_bytes = msg.width * pixel_bytes
    if msg.step < row_bytes:
        raise ValueError(f"image step {msg.step} is shorter than a {msg.width}-pixel {msg.encoding} row "
                         f"({row_bytes} bytes)")
    if len(msg.data) != msg.step * msg.height:
        raise ValueError(f"image data has {len(msg.data)} bytes; step {msg.step} x height {msg.height} "
                         f"needs {msg.step * msg.height}")


def _values(msg: Any, dtype: np.dtype, row_bytes: int) -> np.ndarray:
    """A checked raw image's first ``row_bytes`` of each row as (height, row_bytes / itemsize) ``dtype`` values
    in the message's byte order: a view of its data unless the rows are padded."""
    rows = np.frombuffer(msg.data, dtype=np.uint8).reshape(msg.height, msg.step)[:, :row_bytes]
    return np.ascontiguousarray(rows).view(dtype.newbyteorder(">" if msg.is_bigendian else "<"))


def raw_image_to_bgr(msg: Any) -> np.ndarray:
    """Check a raw image (``sensor_msgs/Image`` fields) and convert it to BGR uint8.

    Returns
    -------
    ndarray
        (height, width, 3) uint8; for bgr8/8UC3 images without row padding this is a view of the
        message's data (no copy, read-only when the data is).

    Raises
    ------
    ValueError
        When the message fails :func:`check_raw_image`.
    """
    layout = check_raw_image(msg)
    height, width = msg.height, msg.width
    if layout.channel_bytes == 2:
        wide = _values(msg, np.dtype("u2"), width * 2).astype(np.uint16)
        # Same scaling and rounding as cv_bridge (cv::Mat::convertTo with 255/65535).
        pixels = cv2.convertScaleAbs(wide, alpha=_MONO16_TO_8)
    else:
        pixels = _values(msg, np.dtype("u1"), width * layout.channels).reshape(height, width, layout.channels)
    if layout.to_bgr is None:
        return np.ascontiguousarray(pixels)
    return cv2.cvtColor(np.ascontiguousarray(pixels), layout.to_bgr)


def depth_image_to_array(msg: Any) -> tuple[np.ndarray, float]:
    """Check a depth image (``sensor_msgs/Image`` fields) and return ``(depth (H, W), metres per unit)``.

    Returns
    -------
    depth : ndarray
        (height, width) uint16 (16UC1 and mono16, millimetres) or float32 (32FC1, metres) in the message's
        byte order; a view of the message's data unless its rows are padded.
    metres_per_unit : float

    Raises
    ------
    ValueError
        For another encoding, an empty or huge size, a step shorter than a row, or a data length other than
        ``step * height``.
    """
    found = DEPTH_ENCODINGS.get(msg.encoding)
    if found is None:
        raise ValueError(f"depth encoding {msg.encoding!r} is not supported (16UC1 millimetres or 32FC1 metres)")
    dtype, metres_per_unit = found
    _check_rows(msg, dtype.itemsize)
    return _values(msg, dtype, msg.width * dtype.itemsize), metres_per_unit


def compressed_image_to_bgr(msg: Any) -> np.ndarray:
    """Decode a compressed image (``sensor_msgs/CompressedImage`` fields: JPEG, PNG, ...) to BGR uint8.

    Raises
    ------
    ValueError
        When the data is empty, cannot be decoded, or decodes to an implausible size.
    """
    described = msg.format or "no format"
    buffer = np.frombuffer(msg.data, dtype=np.uint8)
    if buffer.size == 0:
        raise ValueError(f"compressed image ({described}) has no data")
    try:
        bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error as error:  # OpenCV refuses headers beyond OPENCV_IO_MAX_IMAGE_PIXELS this way.
        raise ValueError(f"compressed image ({described}) cannot be decoded: {' '.join(str(error).split())}") from None
    if bgr is None:
        raise ValueError(f"compressed image ({described}, {buffer.size} bytes) cannot be decoded")
    check_image_size(bgr.shape[1], bgr.shape[0])
    return bgr


def image_message_to_bgr(msg: Any) -> np.ndarray:
    """Convert a raw (has ``encoding``) or compressed (has ``format``) image message to BGR uint8.

    Raises
    ------
    ValueError
        When the message is bad (see :func:`raw_image_to_bgr`, :func:`compressed_image_to_bgr`) or is
        neither kind of image.
    """
    if hasattr(msg, "encoding"):
        return raw_image_to_bgr(msg)
    if hasattr(msg, "format"):
        return compressed_image_to_bgr(msg)
    raise ValueError(f"{type(msg).__name__} is not an image message (it has neither an encoding nor a format)")
