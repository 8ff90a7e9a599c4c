"""``deepsort-track``: the tracking pipeline on recordings, without ROS.

Input is a video file, an image folder, a camera index or a ROS 2 bag with an image topic. Output, in
``--out``, is ``NAME.txt`` (MOTChallenge results), ``NAME.mp4`` (annotated video) and, for bags, ``NAME_tracks/``:
a copy of the bag with a ``vision_msgs/Detection2DArray`` topic of the tracks added, written by the codec the
ROS node publishes them with (:mod:`deepsort_ros.detection_codec`). Bags are read and written with
``rosbags``, so no ROS install is needed.

Ctrl-C stops early and keeps everything written so far (files closed, bag metadata written).

Examples
--------
deepsort-track /usr/share/doc/opencv-doc/examples/data/vtest.avi --out out/track
deepsort-track recording/ --topic /camera/image_raw --model yolo11n.pt --appearance torch:osnet.pt
deepsort-track 0 --config tracker.max_age=60 --max-frames 300
deepsort-track vtest.avi --calibration PETS09-S2L1/calibration/View_001.xml --out out/pets_metres

With ``--calibration`` (a Tsai calibration file) or ``--camera-info`` (a camera_info YAML) plus ``--config
spatial.mode=ground_plane spatial.camera_z=...``, each track also gets a ground position and velocity in
metres (the node's ``spatial.*`` settings, :mod:`deepsort_ros.core.spatial_estimator`): ``NAME.txt`` then
fills MOT's world columns x, y, z and ``NAME_velocities.txt`` holds ``frame,id,vx,vy,vz`` (m/s).
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from deepsort_ros.core import TrackState
from deepsort_ros.detection_codec import encode_tracks, published_scores
from deepsort_ros.sources import BagSource, Frame, FrameSource, open_source
from deepsort_ros.tools.mot import results_table
from deepsort_ros.tools.spatial_eval import VelocityFile
from deepsort_ros.tools.overrides import parse_overrides, parse_value

LOGGER = logging.getLogger("deepsort-track")
# This checkout's message definitions, else those an install put beside the interpreter or in ROS prefixes.
VISION_MSGS_DIRS = (
    Path(__file__).resolve().parents[2] / "interfaces" / "vision_msgs" / "msg",
    Path(sys.prefix) / "share" / "vision_msgs" / "msg",
    *(Path(prefix) / "share" / "vision_msgs" / "msg" for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(
        os.pathsep) if prefix),
)
DETECTION_ARRAY_TYPE = "vision_msgs/msg/Detection2DArray"
INTERRUPTED_EXIT_CODE = 130


def pipeline_config(args: argparse.Namespace) -> dict[str, Any]:
    """The Pipeline config dict for the command-line options; ``--config`` items win over the flags."""
    from deepsort_ros.perception import parse_backend_spec

    backend = args.detector or ("ultralytics" if args.model else "motion")
    detector: dict[str, Any] = {"backend": backend}
    if args.model:
        detector["model"] = args.model
    for key in ("device", "confidence", "classes"):
        if getattr(args, key) is not None:
            detector[key] = getattr(args, key)
    config: dict[str, Any] = {"detector": detector, "reid": parse_backend_spec(args.appearance),
                              "tracker": {}, "motion_compensation": args.motion_compensation}
    if getattr(args, "calibration", None):
        from deepsort_ros.tools.calibration import camera_from_tsai, read_tsai, spatial_settings

        pose = camera_from_tsai(read_tsai(args.calibration))[1]
        config["spatial"] = {"mode": "ground_plane", **spatial_settings(pose)}
    for key, value in parse_overrides(args.config).items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    return config


class MotResultsFile:
    """MOTChallenge results (the format of :func:`deepsort_ros.tools.mot.write_results`) written one frame at a
    time, so an interrupted run keeps its rows."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.rows = 0
        self._file: TextIO = path.open("w", encoding="ascii")

    def write(self, frame_number: int, ids: np.ndarray, boxes_xyxy: np.ndarray, scores: np.ndarray,
              world: np.ndarray | None = None) -> None:
        """Append the tracks of one frame (``frame_number`` counts from 1); ``world`` (N, 3) metres fills the
        world columns (NaN rows as -1)."""
        if not len(ids):
            return
        table, fmt = results_table(frame_number, ids, boxes_xyxy, scores, world)
        np.savetxt(self._file, table, fmt=fmt)
        self._file.flush()
        self.rows += len(table)

    def close(self) -> None:
        self._file.close()


class AnnotatedVideo:
    """An mp4 (OpenCV ``mp4v``) opened with the size of the first frame it gets."""

    def __init__(self, path: Path, fps: float):
        self.path = path
        self.fps = fps
        self.frames = 0
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None

    def write(self, bgr: np.ndarray) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._size = (bgr.shape[1], bgr.shape[0])
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self._size)
            if not self._writer.isOpened():
                raise ValueError(f"OpenCV cannot write an mp4v video to {self.path}")
        if (bgr.shape[1], bgr.shape[0]) != self._size:
            # A video has one size; later frames of another size are scaled to it.
            bgr = cv2.resize(bgr, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(bgr)
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()


def class_labels(class_names: list[str], classes: np.ndarray) -> list[str]:
    """Class names for class indices (the index as text when the detector has no name for it)."""
    count = len(class_names)
    return [class_names[c] if 0 <= c < count else str(c) for c in np.asarray(classes, np.int64).tolist()]


def vision_typestore():
    """The ROS 2 Kilted typestore plus vision_msgs, registered from its ``.msg`` files (no ROS needed).

    Raises
    ------
    ValueError
        When no folder of :data:`VISION_MSGS_DIRS` has the vision_msgs definitions.
    """
    from rosbags.typesys import get_types_from_msg

    from deepsort_ros.sources import bag_typestore

    msg_dir = next((d for d in VISION_MSGS_DIRS if (d / "Detection2DArray.msg").is_file()), None)
    if msg_dir is None:
        raise ValueError("vision_msgs message definitions (Detection2DArray.msg) not found in "
                         + ", ".join(map(str, VISION_MSGS_DIRS)))
    types: dict = {}
    for msg_file in sorted(msg_dir.glob("*.msg")):
        types.update(get_types_from_msg(msg_file.read_text(encoding="utf-8"), f"vision_msgs/msg/{msg_file.stem}"))
    typestore = bag_typestore()
    typestore.register(types)
    return typestore


def bag_storage_plugin(path: Path):
    """The rosbags storage plugin of an input bag (MCAP bags are copied as MCAP, others as SQLite)."""
    from rosbags.rosbag2 import StoragePlugin

    files = [path] if path.is_file() else list(path.iterdir())
    return StoragePlugin.MCAP if any(f.suffix == ".mcap" for f in files) else StoragePlugin.SQLITE3


class TrackedBagCopy:
    """A copy of an input bag with a tracks topic added beside its images.

    Parameters
    ----------
    source : BagSource
        The open input bag.
    path : Path
        Folder of the new bag; must not exist.
    tracks_topic : str
        Topic of the added ``vision_msgs/msg/Detection2DArray`` messages.
    class_names : list of str
        Detector class names for ``results[0].hypothesis.class_id``.
    """

    def __init__(self, source: BagSource, path: Path, tracks_topic: str, class_names: list[str]):
        from rosbags.interfaces import MessageDefinitionFormat
        from rosbags.rosbag2 import Writer

        self.typestore = vision_typestore()
        self.class_names = list(class_names)
        self.path = path
        self.messages = 0
        self._writer = Writer(path, version=Writer.VERSION_LATEST, storage_plugin=bag_storage_plugin(source.path))
        self._writer.open()
        self._connections: dict[int, Any] = {}
        try:
            for connection in source.reader.connections:
                ext = connection.ext
                if connection.msgdef.format != MessageDefinitionFormat.NONE and connection.digest:
                    definition = {"msgdef": connection.msgdef.data, "rihs01": connection.digest}
                elif connection.msgtype in self.typestore.types:
                    definition = {"typestore": self.typestore}
                else:
                    LOGGER.warning("not copying topic %s: its type %s has no definition in the bag",
                                   connection.topic, connection.msgtype)
                    continue
                self._connections[connection.id] = self._writer.add_connection(
                    connection.topic, connection.msgtype, serialization_format=ext.serialization_format,
                    offered_qos_profiles=ext.offered_qos_profiles, **definition)
            self._tracks = self._writer.add_connection(tracks_topic, DETECTION_ARRAY_TYPE, typestore=self.typestore)
        except BaseException:
            self._writer.close()
            raise

    def copy(self, connection: Any, log_time_ns: int, rawdata: bytes) -> None:
        """Copy one message of the input bag unchanged."""
        target = self._connections.get(connection.id)
        if target is not None:
            self._writer.write(target, log_time_ns, rawdata)

    def write_tracks(self, frame: Frame, tracks: Any) -> None:
        """Add the tracks of a bag frame, stamped and timed like its image."""
        header = frame.header
        data = encode_tracks(header.stamp_sec, header.stamp_nanosec, header.frame_id, tracks.ids, tracks.boxes_xyxy,
                             published_scores(tracks), class_labels(self.class_names, tracks.classes))
        self._writer.write(self._tracks, header.log_time_ns, data)
        self.messages += 1

    def close(self) -> None:
        """Write the bag's metadata; the bag is readable after this, also after an interruption."""
        self._writer.close()


class TrackingRun:
    """Runs a Pipeline over a source and writes the outputs frame by frame."""

    def __init__(self, pipeline: Any, source: FrameSource, out_dir: Path, write_video: bool, spatial_frame=None):
        from deepsort_ros.annotate import Annotator

        self.pipeline = pipeline
        self.results = MotResultsFile(out_dir / f"{source.name}.txt")
        # Tracks in metres (pipeline.spatial on): the camera every frame shares, and their velocities.
        self.spatial_frame = spatial_frame
        self.velocities = VelocityFile(out_dir / f"{source.name}_velocities.txt") if pipeline.spatial else None
        self.video = AnnotatedVideo(out_dir / f"{source.name}.mp4", source.fps) if write_video else None
        self.annotator = Annotator()
        self.frames = 0
        self.class_names = list(pipeline.class_names)

    def process(self, frame: Frame) -> Any:
        """Track one frame, write its MOT rows and annotated image, and return its tracks."""
        result = self.pipeline.process(frame.bgr, frame.timestamp_s, spatial=self.spatial_frame)
        tracks, metric = result.tracks, result.spatial
        # The score column is the tracks topic's: 0 while a track coasts on its prediction.
        self.results.write(frame.index + 1, tracks.ids, tracks.boxes_xyxy, published_scores(tracks),
                           None if metric is None else metric.states.positions)
        if metric is not None:
            self.velocities.write(frame.index + 1, metric.states)
        if self.video is not None:
            self.video.write(self.annotator.draw(frame.bgr, tracks.ids, tracks.boxes_xyxy,
                                                 class_labels(self.class_names, tracks.classes),
                                                 predicted=tracks.states == TrackState.COASTING))
        self.frames += 1
        return tracks

    def close(self) -> None:
        self.results.close()
        if self.velocities is not None:
            self.velocities.close()
        if self.video is not None:
            self.video.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepsort-track",
        description="Track objects in a video file, image folder, camera or ROS 2 bag without ROS. Writes "
                    "OUT/NAME.txt (MOT results), OUT/NAME.mp4 (annotated) and, for bags, OUT/NAME_tracks/ "
                    "(the bag plus a vision_msgs/Detection2DArray tracks topic).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("input", help="video file, image folder, camera index, or ROS 2 bag (folder, .db3 or .mcap)")
    parser.add_argument("--topic", help="image topic of a bag (sensor_msgs/Image or CompressedImage); may be "
                                        "omitted when the bag has one image topic")
    parser.add_argument("--out", type=Path, default=Path("out/track"), help="output folder")
    parser.add_argument("--detector", choices=("motion", "ultralytics"),
                        help="detector backend [default: ultralytics with --model, motion otherwise]")
    parser.add_argument("--model", help="ultralytics weights (.pt, .onnx, .engine) for --detector ultralytics")
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N for the networks")
    parser.add_argument("--confidence", type=float, help="detector score threshold")
    parser.add_argument("--classes", nargs="+", type=parse_value,
                        help="keep only these detector classes (names or indices)")
    parser.add_argument("--appearance", default="histogram",
                        help="appearance backend: none, histogram, torch:PATH_OR_ARCH or onnx:PATH")
    parser.add_argument("--motion-compensation", action="store_true", help="compensate camera motion")
    parser.add_argument("--config", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="pipeline settings, e.g. tracker.max_age=60 detector.confidence=0.4")
    parser.add_argument("--fps", type=float, help="source rate for timestamps and the output video "
                                                  "[default: the source's own, 30 for image folders]")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")
    parser.add_argument("--tracks-topic", default="/tracks", help="topic added to the output bag")
    parser.add_argument("--no-video", action="store_true", help="skip the annotated video")
    camera = parser.add_mutually_exclusive_group()
    camera.add_argument("--calibration", help="Tsai camera calibration (PETS View_*.xml): tracks also get ground "
                                              "positions and velocities in metres (spatial ground_plane mode)")
    camera.add_argument("--camera-info", help="camera_info YAML (camera_calibration_parsers format) of the source, "
                                              "for --config spatial.mode=ground_plane spatial.camera_z=...")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output bag")
    return parser


def spatial_frame(args: argparse.Namespace, pipeline: Any):
    """The camera of ``--calibration`` or ``--camera-info`` for the pipeline's spatial stage (None when off).

    Raises
    ------
    ValueError
        When spatial mode is on without a camera, or in depth mode (sources carry no depth images).
    """
    from deepsort_ros.core.spatial_estimator import SpatialFrame

    if pipeline.spatial is None:
        return None
    if pipeline.spatial.config.mode != "ground_plane":
        raise ValueError("deepsort-track computes metres in spatial.mode ground_plane only (no depth images)")
    if args.calibration:
        from deepsort_ros.tools.calibration import camera_from_tsai, read_tsai

        return SpatialFrame(camera=camera_from_tsai(read_tsai(args.calibration))[0])
    if args.camera_info:
        from deepsort_ros.tools.calibration import read_camera_info_yaml

        return SpatialFrame(camera=read_camera_info_yaml(args.camera_info))
    raise ValueError("spatial.mode ground_plane needs the camera: --calibration FILE or --camera-info YAML")


def _iterate(source: FrameSource, bag_copy: TrackedBagCopy | None):
    """(frame, record) pairs: every bag message when copying a bag (frame None for non-images), else frames."""
    if bag_copy is None:
        for frame in source:
            yield frame, None
        return
    for record in source.records():
        yield record.frame, record


def run(args: argparse.Namespace) -> int:
    """Track ``args.input``; return the exit code (130 when interrupted, outputs kept)."""
    from tqdm import tqdm

    from deepsort_ros.pipeline import Pipeline

    if args.max_frames is not None and args.max_frames < 1:
        raise ValueError(f"--max-frames {args.max_frames} must be >= 1")
    config = pipeline_config(args)
    source = open_source(args.input, topic=args.topic, fps=args.fps)
    run_state = bag_copy = None
    interrupted = False
    try:
        bag_path = args.out / f"{source.name}_tracks"
        if isinstance(source, BagSource) and bag_path.exists():
            if not args.overwrite:
                raise ValueError(f"output bag {bag_path} exists; remove it or pass --overwrite")
            shutil.rmtree(bag_path)
        pipeline = Pipeline.from_config(config)
        run_state = TrackingRun(pipeline, source, args.out, write_video=not args.no_video,
                                spatial_frame=spatial_frame(args, pipeline))
        if isinstance(source, BagSource):
            bag_copy = TrackedBagCopy(source, bag_path, args.tracks_topic, run_state.class_names)
        total = source.frame_count
        if args.max_frames is not None:
            total = min(total or args.max_frames, args.max_frames)
        with tqdm(total=total, unit="frame", desc=source.name, disable=None) as progress:
            for frame, record in _iterate(source, bag_copy):
                if frame is not None and args.max_frames is not None and run_state.frames >= args.max_frames:
                    break
                if record is not None:
                    bag_copy.copy(record.connection, record.log_time_ns, record.rawdata)
                if frame is None:
                    continue
                tracks = run_state.process(frame)
                if bag_copy is not None:
                    bag_copy.write_tracks(frame, tracks)
                progress.update(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for closeable in (bag_copy, run_state, source):
            if closeable is not None:
                closeable.close()
    if run_state is not None:
        written = [str(run_state.results.path)]
        if run_state.video is not None and run_state.video.frames:
            written.append(str(run_state.video.path))
        if bag_copy is not None:
            written.append(f"{bag_copy.path} ({bag_copy.messages} messages on {args.tracks_topic})")
        state = "interrupted after" if interrupted else "tracked"
        print(f"{state} {run_state.frames} frames, {run_state.results.rows} track rows; wrote {', '.join(written)}")
    return INTERRUPTED_EXIT_CODE if interrupted else 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"deepsort-track: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
