"""Frame sources without ROS: video files, image folders, cameras and ROS 2 bags.

Every source is an iterable of :class:`Frame` tuples ``(index, timestamp_s, bgr, header)`` with BGR
``uint8`` images, so the offline tools treat a recording on disk exactly like a live camera. Bags are read
with the ``rosbags`` library (no ROS install needed); ``sensor_msgs/Image`` and
``sensor_msgs/CompressedImage`` are decoded by :mod:`deepsort_ros.image_codec`, as the node decodes
them.

Use :func:`open_source` to pick the right source for a command-line argument.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np

from deepsort_ros.image_codec import image_message_to_bgr

LOGGER = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
BAG_SUFFIXES = frozenset({".db3", ".mcap"})
IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


class BagHeader(NamedTuple):
    """Where a bag frame came from, so results can be written back next to it."""

    stamp_sec: int
    stamp_nanosec: int
    frame_id: str
    log_time_ns: int


class Frame(NamedTuple):
    """One image of a source.

    Attributes
    ----------
    index : int
        Position in the source, counting from 0 (MOT frame numbers are ``index + 1``).
    timestamp_s : float
        Capture time in seconds (the message stamp for bags, position / rate otherwise).
    bgr : np.ndarray
        ``(H, W, 3)`` uint8 image.
    header : BagHeader or None
        The message header and log time for bag frames, None for other sources.
    """

    index: int
    timestamp_s: float
    bgr: np.ndarray
    header: BagHeader | None = None


class FrameSource:
    """Base of all sources: an iterable of frames that knows its rate and, when it can, its length.

    Attributes
    ----------
    name : str
        Short name for output files (the file or folder stem, or ``camera<N>``).
    fps : float
        Frames per second of the recording (for timestamps and output videos).
    frame_count : int or None
        Number of frames, or None for endless sources such as cameras.
    """

    name: str = "source"
    fps: float = 30.0
    frame_count: int | None = None

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release files and devices; iterating again afterwards is not allowed."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class VideoFileSource(FrameSource):
    """Frames of a video file read with OpenCV; timestamps are the container's positions."""

    def __init__(self, path: str | Path, fps: float | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"video file not found: {self.path}")
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise ValueError(f"OpenCV cannot open {self.path} as a video")
        self.name = self.path.stem
        container_fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps or (container_fps if container_fps > 0 else 30.0))
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        while True:
            ok, bgr = self._capture.read()
            if not ok:
                return
            yield Frame(index, index / self.fps, bgr)
            index += 1

    def close(self) -> None:
        self._capture.release()


class CameraSource(FrameSource):
    """Frames of a camera by OpenCV index; timestamps count seconds from the first frame."""

    def __init__(self, camera_index: int, fps: float | None = None):
        self._capture = cv2.VideoCapture(camera_index)
        if not self._capture.isOpened():
            raise ValueError(f"cannot open camera {camera_index} (is it connected and free?)")
        self.name = f"camera{camera_index}"
        reported_fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps or (reported_fps if reported_fps > 0 else 30.0))
        self.frame_count = None

    def __iter__(self) -> Iterator[Frame]:
        start_ticks = cv2.getTickCount()
        index = 0
        while True:
            ok, bgr = self._capture.read()
            if not ok:
                LOGGER.warning("camera %s stopped delivering frames after %d", self.name, index)
                return
            elapsed_s = (cv2.getTickCount() - start_ticks) / cv2.getTickFrequency()
            yield Frame(index, elapsed_s, bgr)
            index += 1

    def close(self) -> None:
        self._capture.release()


def _natural_key(path: Path) -> list[Any]:
    # "img2" sorts before "img10", as people number frames.
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


class ImageFolderSource(FrameSource):
    """The images of a folder in natural name order (``2.png`` before ``10.png``)."""

    def __init__(self, folder: str | Path, fps: float | None = None):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"image folder not found: {self.folder}")
        self.paths = sorted(
            (p for p in self.folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
            key=_natural_key,
        )
        if not self.paths:
            raise ValueError(
                f"no images in {self.folder} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        self.name = self.folder.name
        self.fps = float(fps or 30.0)
        self.frame_count = len(self.paths)

    def __iter__(self) -> Iterator[Frame]:
        for index, path in enumerate(self.paths):
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if bgr is None:
                LOGGER.warning("skipping %s: not a readable image", path)
                continue
            yield Frame(index, index / self.fps, bgr)


def bag_typestore():
    """A rosbags typestore with the ROS 2 Kilted message types (sensor_msgs, std_msgs, ...)."""
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_KILTED)


class BagRecord(NamedTuple):
    """One message of a bag; ``frame`` is set for decoded messages of the image topic."""

    connection: Any
    log_time_ns: int
    rawdata: bytes
    frame: Frame | None


class BagSource(FrameSource):
    """Images of one topic of a ROS 2 bag (a bag folder, or a single ``.db3`` / ``.mcap`` file).

    Parameters
    ----------
    path : str or Path
        The bag folder (with ``metadata.yaml``) or one of its storage files.
    topic : str, optional
        Image topic; may be omitted when the bag holds exactly one image topic. A missing leading
        slash is tolerated.
    fps : float, optional
        Overrides the rate measured from the bag (for output videos).
    typestore : rosbags Typestore, optional
        For deserialising; defaults to :func:`bag_typestore`.
    """

    def __init__(self, path: str | Path, topic: str | None = None, fps: float | None = None,
                 typestore: Any = None):
        from rosbags.rosbag2 import Reader, ReaderError

        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"bag not found: {self.path}")
        self.typestore = typestore or bag_typestore()
        try:
            self.reader = Reader(self.path)
            self.reader.open()
        except ReaderError as error:
            raise ValueError(f"cannot read bag {self.path}: {error}") from error
        try:
            self.topic, self.msgtype = self._choose_topic(topic)
        except ValueError:
            self.reader.close()
            raise
        self.connections = [c for c in self.reader.connections if c.topic == self.topic]
        if self.path.is_dir():
            self.name = self.path.name
        elif (self.path.parent / "metadata.yaml").is_file():
            self.name = self.path.parent.name
        else:
            self.name = self.path.stem
        self.frame_count = sum(c.msgcount for c in self.connections) or None
        self.fps = float(fps or self._recorded_rate())

    def _recorded_rate(self) -> float:
        """Image messages per second over the bag's span (30 when it cannot be told)."""
        duration_s = self.reader.duration * 1e-9
        if self.frame_count and self.frame_count > 1 and duration_s > 0:
            return (self.frame_count - 1) / duration_s
        return 30.0

    def _choose_topic(self, topic: str | None) -> tuple[str, str]:
        topics = self.reader.topics
        image_topics = sorted(name for name, info in topics.items() if info.msgtype in IMAGE_TYPES)
        if topic is None:
            if len(image_topics) != 1:
                found = ", ".join(image_topics) or "none"
                raise ValueError(f"bag {self.path}: name the image topic (image topics in the bag: {found})")
            topic = image_topics[0]
        if topic not in topics and f"/{topic}" in topics:
            topic = f"/{topic}"
        if topic not in topics:
            found = ", ".join(image_topics) or "none"
            raise ValueError(f"bag {self.path} has no topic {topic!r} (image topics in the bag: {found})")
        msgtype = topics[topic].msgtype
        if msgtype not in IMAGE_TYPES:
            raise ValueError(f"topic {topic!r} in {self.path} has type {msgtype}; expected "
                             f"{' or '.join(IMAGE_TYPES)}")
        return topic, msgtype

    def _decode(self, index: int, log_time_ns: int, rawdata: bytes) -> Frame | None:
        try:
            msg = self.typestore.deserialize_cdr(rawdata, self.msgtype)
            bgr = image_message_to_bgr(msg)
        except (ValueError, AssertionError, IndexError, KeyError, cv2.error) as error:
            LOGGER.warning("skipping message %d of %s at %d ns: %s", index, self.topic, log_time_ns, error)
            return None
        stamp = msg.header.stamp
        # Unstamped images (stamp 0) fall back to the time they were recorded.
        stamp_s = stamp.sec + stamp.nanosec * 1e-9 if (stamp.sec or stamp.nanosec) else log_time_ns * 1e-9
        header = BagHeader(int(stamp.sec), int(stamp.nanosec), str(msg.header.frame_id), int(log_time_ns))
        return Frame(index, stamp_s, bgr, header)

    def records(self) -> Iterator[BagRecord]:
        """Every message of the bag in recorded order; image-topic messages come with their frame.

        Used to copy a bag while adding results next to each image.
        """
        index = 0
        for connection, log_time_ns, rawdata in self.reader.messages():
            frame = None
            if connection.topic == self.topic:
                frame = self._decode(index, log_time_ns, rawdata)
                index += 1
            yield BagRecord(connection, log_time_ns, rawdata, frame)

    def __iter__(self) -> Iterator[Frame]:
        for index, (_, log_time_ns, rawdata) in enumerate(self.reader.messages(self.connections)):
            frame = self._decode(index, log_time_ns, rawdata)
            if frame is not None:
                yield frame

    def close(self) -> None:
        if self.reader.is_open:
            self.reader.close()


def is_bag(path: Path) -> bool:
    """Whether ``path`` is a ROS 2 bag folder or storage file."""
    return (path.is_dir() and (path / "metadata.yaml").is_file()) or (
        path.is_file() and path.suffix.lower() in BAG_SUFFIXES)


def open_source(spec: str | Path, topic: str | None = None, fps: float | None = None) -> FrameSource:
    """Open the frame source a command-line argument names.

    Parameters
    ----------
    spec : str or Path
        A camera index (digits that are not an existing path), a ROS 2 bag folder or ``.db3`` /
        ``.mcap`` file, an image folder, or a video file.
    topic : str, optional
        Image topic for bags (required when the bag has several image topics); must be None otherwise.
    fps : float, optional
        Overrides the source's rate (image folders default to 30).

    Raises
    ------
    FileNotFoundError
        When the path does not exist.
    ValueError
        When the input cannot be opened, or a topic is given for a non-bag input.
    """
    path = Path(spec)
    if isinstance(spec, str) and spec.isdigit() and not path.exists():
        if topic is not None:
            raise ValueError("--topic applies to bags only, not to a camera index")
        return CameraSource(int(spec), fps)
    if not path.exists():
        raise FileNotFoundError(f"input not found: {path} (expected a video file, image folder, "
                                f"camera index or ROS 2 bag)")
    if is_bag(path):
        return BagSource(path, topic, fps)
    if topic is not None:
        raise ValueError(f"--topic applies to bags only; {path} is not a ROS 2 bag")
    if path.is_dir():
        return ImageFolderSource(path, fps)
    return VideoFileSource(path, fps)
