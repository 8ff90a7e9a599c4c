"""One frame in, tracks out: detector, appearance embedder, camera motion and tracker together.

The ROS node and the offline tools are both built on :class:`Pipeline`, so every consumer runs the
same per-frame code. No ROS here.

Config (plain dict, e.g. from the node's parameters or ``deepsort-track`` flags)::

    {"detector": {"backend": "motion", ...},     # ultralytics | motion | external (required)
     "reid": {"backend": "histogram", ...},      # none | histogram | torch | onnx (default none)
     "tracker": {...},                           # TrackerConfig fields; unset ones take the detector's
                                                 # preset, then the embedder's (perception.tracker_preset),
                                                 # then the TrackerConfig defaults
     "motion_compensation": False,               # bool, or a dict of estimator settings (enables it;
                                                 # an optional "enabled" entry may switch it off)
     "spatial": {"mode": "off", ...}}            # SpatialConfig fields: tracks in metres (default off)

Detection policy: rows of a detection set with NaN or infinite values, or with non-positive width or
height (external detectors produce them), are dropped before tracking and counted in
:attr:`PipelineResult.dropped_detections`; a malformed set (wrong shapes or lengths) raises ValueError.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from deepsort_ros.core import Tracker, TrackerConfig, Tracks
from deepsort_ros.core.spatial_estimator import (SpatialConfig, SpatialEstimator, SpatialFrame, SpatialInputError,
                                                 SpatialTracks)
from deepsort_ros.perception import build_detector, build_embedder, build_motion_estimator, tracker_preset
from deepsort_ros.perception.input_checks import check_image

LOGGER = logging.getLogger(__name__)

CONFIG_KEYS = ("detector", "reid", "tracker", "motion_compensation", "spatial")
STAGES = ("detect", "embed", "motion", "track", "spatial")


@dataclass
class PipelineResult:
    """What one :meth:`Pipeline.process` call produced.

    Attributes
    ----------
    tracks : Tracks
        The tracker's report for this frame.
    timings_ms : dict
        Milliseconds per stage: ``detect``, ``embed``, ``motion``, ``track``, ``spatial`` (0 for a skipped
        stage).
    class_names : list of str
        Names of the class indices in ``tracks.classes``.
    detections : tuple
        ``(boxes_xyxy (N, 4) float32, scores (N,) float32, classes (N,) int64)`` that were tracked.
    dropped_detections : int
        Detections dropped for NaN/infinite values or non-positive size.
    warp : ndarray or None
        (2, 3) camera motion applied this frame, when motion compensation is on.
    spatial : SpatialTracks or None
        Metric state of each reported track (row i = ``tracks`` row i), when spatial mode is on.
    spatial_error : str or None
        Why this frame's spatial input could not be used (its tracks were predicted only), else None.
    """

    tracks: Tracks
    timings_ms: dict[str, float]
    class_names: list[str]
    detections: tuple[np.ndarray, np.ndarray, np.ndarray]
    dropped_detections: int = 0
    warp: np.ndarray | None = None
    spatial: SpatialTracks | None = None
    spatial_error: str | None = None


def sanitise_detections(boxes_xyxy, scores, classes=None) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], int]:
    """Check a detection set and drop unusable rows.

    Parameters
    ----------
    boxes_xyxy : array_like
        (N, 4) corners in pixels.
    scores : array_like
        (N,) confidences.
    classes : array_like, optional
        (N,) integer classes; all 0 when None.

    Returns
    -------
    tuple
        ``((boxes float32, scores float32, classes int64), dropped_count)``.

    Raises
    ------
    ValueError
        When shapes or lengths do not fit together.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float32)
    boxes = boxes.reshape(0, 4) if boxes.size == 0 else boxes
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"detections: boxes must have shape (N, 4), got {boxes.shape}")
    n = len(boxes)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    if len(scores) != n:
        raise ValueError(f"detections: {n} boxes but {len(scores)} scores")
    if classes is None:
        classes = np.zeros(n, dtype=np.int64)
    else:
        classes = np.asarray(classes).reshape(-1)
        if len(classes) != n:
            raise ValueError(f"detections: {n} boxes but {len(classes)} classes")
        if n and not np.issubdtype(classes.dtype, np.integer):
            if not (np.isfinite(classes).all() and (classes == np.round(classes)).all()):
                raise ValueError("detections: classes must be integers")
        classes = classes.astype(np.int64)
    keep = np.isfinite(boxes).all(axis=1) & np.isfinite(scores) \
        & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    dropped = int(n - np.count_nonzero(keep))
    if dropped:
        boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
    return (boxes, scores, classes), dropped


def _motion_settings(value: Any) -> dict | None:
    """Estimator settings for the ``motion_compensation`` entry, or None when it is off."""
    if isinstance(value, bool):
        return {} if value else None
    if isinstance(value, Mapping):
        settings = dict(value)
        enabled = settings.pop("enabled", True)
        if not isinstance(enabled, bool):
            raise ValueError(f"motion_compensation.enabled={enabled!r} is invalid: expected bool")
        return settings if enabled else None
    raise ValueError(f"motion_compensation={value!r} is invalid: expected a bool or a dict of estimator settings")


def _backend(config: Any) -> str | None:
    backend = config.get("backend") if isinstance(config, Mapping) else None
    return backend if isinstance(backend, str) else None


def tracker_settings_for(detector_config: Any, tracker_settings: Mapping[str, Any],
                         reid_config: Any = None) -> dict[str, Any]:
    """``tracker_settings`` over the backends' tracker preset (:func:`deepsort_ros.perception.tracker_preset`:
    the detector's over the embedder's).

    An unknown or missing backend has no preset; :func:`build_detector` and :func:`build_embedder` report it.
    ``reid_config`` None means no embedder.
    """
    return {**tracker_preset(_backend(detector_config), _backend(reid_config)), **tracker_settings}


class Pipeline:
    """Detector, embedder, optional camera motion estimator and tracker, run frame by frame.

    Parameters
    ----------
    detector : object
        Has ``detect(images)`` and ``class_names`` (see :mod:`deepsort_ros.perception`).
    tracker : Tracker
    embedder : object, optional
        Has ``embed(bgr, boxes)``; None tracks by motion alone.
    motion_estimator : object, optional
        Has ``estimate(bgr, boxes)``; None for fixed cameras.
    spatial : SpatialEstimator, optional
        Gives the tracks metric positions and velocities; None keeps them in pixels only.
    """

    def __init__(self, detector, tracker: Tracker, embedder=None, motion_estimator=None,
                 spatial: SpatialEstimator | None = None):
        self.detector = detector
        self.tracker = tracker
        self.embedder = embedder
        self.motion_estimator = motion_estimator
        self.spatial = spatial
        self.external = bool(getattr(detector, "external", False))
        self._frames = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Pipeline":
        """Build every stage from a plain dict (see the module docstring).

        Raises
        ------
        ValueError
            Naming the bad key or value (unknown top-level keys included).
        """
        if not isinstance(config, Mapping):
            raise ValueError(f"pipeline config must be a dict, got {type(config).__name__}")
        unknown = sorted(set(config) - set(CONFIG_KEYS))
        if unknown:
            raise ValueError(f"pipeline config: unknown key(s) {unknown}; allowed keys: {list(CONFIG_KEYS)}")
        if "detector" not in config:
            raise ValueError("pipeline config: missing key 'detector' (a dict with 'backend': ultralytics, "
                             "motion or external)")
        tracker_settings = config.get("tracker") or {}
        if not isinstance(tracker_settings, Mapping):
            raise ValueError(f"pipeline config: tracker must be a dict of TrackerConfig fields, got {tracker_settings!r}")
        motion = _motion_settings(config.get("motion_compensation", False))
        spatial_config = SpatialConfig.from_dict(dict(config.get("spatial") or {}))
        spatial = SpatialEstimator(spatial_config) if spatial_config.mode != "off" else None
        # Cheap checks first, so a bad tracker setting is reported before models load.
        tracker = Tracker(TrackerConfig.from_dict(tracker_settings_for(config["detector"], tracker_settings,
                                                                       config.get("reid"))))
        estimator = build_motion_estimator(motion) if motion is not None else None
        detector = build_detector(config["detector"])
        embedder = build_embedder(config.get("reid") or {"backend": "none"})
        return cls(detector, tracker, embedder=embedder, motion_estimator=estimator, spatial=spatial)

    def reset(self) -> None:
        """Start a new sequence: forget every track and its metric state, the detector's background model
        and the camera motion estimator's previous frame. Track ids keep increasing (never reused)."""
        self.tracker.reset()
        self.detector.reset()
        if self.motion_estimator is not None:
            self.motion_estimator.reset()
        if self.spatial is not None:
            self.spatial.reset()

    def set_tracker_config(self, config: TrackerConfig | Mapping[str, Any]) -> TrackerConfig:
        """Change the tracker's settings from the next frame on, keeping its tracks.

        Parameters
        ----------
        config : TrackerConfig or mapping
            The complete new settings (a mapping is read by ``TrackerConfig.from_dict``).

        Returns
        -------
        TrackerConfig
            The validated settings now in use.

        Raises
        ------
        ValueError
            When a value is invalid, or a setting the tracker reads only when built (``build_time``, e.g.
            ``state_space``) would change: that needs a new pipeline.
        """
        new = config if isinstance(config, TrackerConfig) else TrackerConfig.from_dict(dict(config))
        return self.tracker.set_config(new)

    @property
    def class_names(self) -> list[str]:
        """Names of the detector's class indices."""
        return list(self.detector.class_names)

    def process(self, bgr: np.ndarray, timestamp: float | None = None, detections=None,
                spatial: SpatialFrame | None = None) -> PipelineResult:
        """Track one frame.

        Parameters
        ----------
        bgr : ndarray
            BGR uint8 image (H, W, 3).
        timestamp : float, optional
            Seconds; must increase from call to call when given.
        detections : tuple, optional
            ``(boxes_xyxy, scores, classes)`` (classes may be None) from an outside detector; required
            with the ``external`` backend, and used instead of the detector when given with another.
        spatial : SpatialFrame, optional
            Camera intrinsics (and depth image in depth mode) of this frame when spatial mode is on; None
            or an unusable frame predicts the metric state without measuring (``spatial_error`` says why).

        Returns
        -------
        PipelineResult
        """
        check_image(bgr, "pipeline")
        timings = dict.fromkeys(STAGES, 0.0)
        start = time.perf_counter()
        if detections is None:
            if self.external:
                raise ValueError("pipeline: the external detector backend needs detections=(boxes, scores, classes)")
            detections = self.detector.detect([bgr])[0]
        elif len(detections) not in (2, 3):
            raise ValueError("pipeline: detections must be (boxes_xyxy, scores) or (boxes_xyxy, scores, classes)")
        (boxes, scores, classes), dropped = sanitise_detections(*detections)
        if dropped:
            LOGGER.debug("dropped %d detection(s) with NaN/infinite values or non-positive size", dropped)
        now = time.perf_counter()
        timings["detect"], start = (now - start) * 1e3, now

        features = None
        if self.embedder is not None:
            features = self.embedder.embed(bgr, boxes)
            now = time.perf_counter()
            timings["embed"], start = (now - start) * 1e3, now

        warp = None
        if self.motion_estimator is not None:
            warp = self.motion_estimator.estimate(bgr, boxes)
            now = time.perf_counter()
            timings["motion"], start = (now - start) * 1e3, now

        tracks = self.tracker.update(boxes, scores, features=features, classes=classes, timestamp=timestamp,
                                     warp=warp)
        now = time.perf_counter()
        timings["track"], start = (now - start) * 1e3, now

        metric = spatial_error = None
        if self.spatial is not None:
            # The metric filter needs a clock: without timestamps, frames are taken as 1/30 s apart.
            seconds = timestamp if timestamp is not None else self._frames / 30.0
            try:
                metric = self.spatial.update(tracks, seconds, spatial)
            except SpatialInputError as error:
                metric, spatial_error = error.result, str(error)
            timings["spatial"] = (time.perf_counter() - start) * 1e3
        self._frames += 1
        return PipelineResult(tracks=tracks, timings_ms=timings, class_names=self.class_names,
                              detections=(boxes, scores, classes), dropped_detections=dropped, warp=warp,
                              spatial=metric, spatial_error=spatial_error)
