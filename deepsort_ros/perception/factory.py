"""Building detectors, embedders and the camera motion estimator from plain dicts.

The ROS node's parameters and the tools' flags share these builders, so a bad key or value is reported
the same way everywhere: ``ValueError`` naming the key and the allowed values.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

from . import (camera_motion, colour_mix, external_detector, histogram_embedder, motion_detector, onnx_embedder,
               torch_embedder, ultralytics_detector)
from .params import Param, check_device, validate

DETECTOR_PARAMS: dict[str, tuple[Param, ...]] = {
    "ultralytics": ultralytics_detector.PARAMS,
    "motion": motion_detector.PARAMS,
    "external": external_detector.PARAMS,
}
EMBEDDER_PARAMS: dict[str, tuple[Param, ...]] = {
    "none": (),
    "histogram": histogram_embedder.PARAMS,
    # The networks' features come with colour mixed in (colour_mix.COLOUR_WEIGHT; 0 turns it off).
    "torch": (*torch_embedder.PARAMS, colour_mix.COLOUR_WEIGHT),
    "onnx": (*onnx_embedder.PARAMS, colour_mix.COLOUR_WEIGHT),
}
MOTION_ESTIMATOR_PARAMS: tuple[Param, ...] = camera_motion.PARAMS
# Tracker settings each detector brings over the TrackerConfig defaults (which suit CNN detectors' scores).
DETECTOR_TRACKER_SETTINGS: dict[str, Mapping[str, Any]] = {
    "ultralytics": ultralytics_detector.TRACKER_SETTINGS,
    "motion": motion_detector.TRACKER_SETTINGS,
    "external": {},
}
# Tracker settings for motion alone (no appearance), replacing TrackerConfig defaults chosen for CNN ReID
# features. Without appearance nothing can tell two people apart after a gap, so a lost track is given up
# sooner (max_age_s), taken back by overlap for fewer steps, reported coasting for less, confirmed sooner, and
# the Kalman filter trusts a smoother path (less position noise, a tighter gate). Chosen by coordinate descent
# over the TrackerConfig fields on the mean HOTA of all six tuning sequences run by motion alone (PETS09-S2L1,
# Venice-2, ADL-Rundle-6, ETH-Bahnhof, ETH-Pedcross2, KITTI-13: 7 to 30 fps, static and moving cameras),
# not on the three frame-less ones only, which are all moving cameras at 10-14 fps; a preset for any camera
# without appearance must hold on both. Mean HOTA over the six run by motion alone: 34.4 with the
# TrackerConfig defaults, 37.9 with these.
MOTION_ONLY_TRACKER_SETTINGS = MappingProxyType({
    "std_weight_position": 0.03, "kalman_fps": 5.0, "gating_threshold": 5.0, "iou_stage_max_misses": 2,
    "n_init": 3, "max_age_s": 1.5, "report_coasting_frames": 1})
# Tracker settings each embedder brings over the TrackerConfig defaults (chosen with CNN ReID features alone;
# the networks' backends mix colour in, see colour_mix).
EMBEDDER_TRACKER_SETTINGS: dict[str, Mapping[str, Any]] = {
    "none": MOTION_ONLY_TRACKER_SETTINGS,
    "histogram": histogram_embedder.TRACKER_SETTINGS,
    "torch": colour_mix.TRACKER_SETTINGS,
    "onnx": colour_mix.TRACKER_SETTINGS,
}


def tracker_preset(detector_backend: str | None = None, embedder_backend: str | None = None) -> dict[str, Any]:
    """Tracker settings a detector and embedder pair brings in place of the TrackerConfig defaults.

    The embedder's preset (``EMBEDDER_TRACKER_SETTINGS``) comes first and the detector's
    (``DETECTOR_TRACKER_SETTINGS``) over it: a detector preset is the more specific one, chosen with the
    detections it is for and the appearance it was tuned with (the motion detector's with the histogram
    embedder), so where both set a field the detector's value wins. Settings a user gives go over both.

    Parameters
    ----------
    detector_backend, embedder_backend : str, optional
        Backend names; None or an unknown name (which the builders report) adds nothing.

    Returns
    -------
    dict
        Field name -> value, a subset of the TrackerConfig fields.
    """
    return {**EMBEDDER_TRACKER_SETTINGS.get(embedder_backend, {}),
            **DETECTOR_TRACKER_SETTINGS.get(detector_backend, {})}


def _split_backend(config: Mapping[str, Any], choices, what: str) -> tuple[str, dict]:
    if not isinstance(config, Mapping):
        raise ValueError(f"{what} config must be a dict, got {type(config).__name__}")
    if "backend" not in config:
        raise ValueError(f"{what}: missing key 'backend'; allowed values: {list(choices)}")
    backend = config["backend"]
    if backend not in choices:
        raise ValueError(f"{what}: backend={backend!r} is invalid; allowed values: {list(choices)}")
    return backend, {k: v for k, v in config.items() if k != "backend"}


def build_detector(config: Mapping[str, Any]):
    """Detector from ``{"backend": "ultralytics" | "motion" | "external", ...parameters}``."""
    backend, rest = _split_backend(config, DETECTOR_PARAMS, "detector")
    values = validate(rest, DETECTOR_PARAMS[backend], f"detector ({backend}): ")
    if backend == "ultralytics":
        check_device(values["device"], "detector (ultralytics): ")
        return ultralytics_detector.UltralyticsDetector(**values)
    if backend == "motion":
        return motion_detector.MotionDetector(**values)
    return external_detector.ExternalDetector(**values)


def build_embedder(config: Mapping[str, Any]):
    """Embedder from ``{"backend": "none" | "histogram" | "torch" | "onnx", ...}``; ``none`` gives None."""
    backend, rest = _split_backend(config, EMBEDDER_PARAMS, "reid")
    values = validate(rest, EMBEDDER_PARAMS[backend], f"reid ({backend}): ")
    if backend == "none":
        return None
    if backend == "histogram":
        return histogram_embedder.HistogramEmbedder(**values)
    check_device(values["device"], f"reid ({backend}): ")
    colour_weight = values.pop("colour_weight")
    network = (torch_embedder.TorchEmbedder if backend == "torch" else onnx_embedder.OnnxEmbedder)(**values)
    return colour_mix.ColourMixedEmbedder(network, colour_weight) if colour_weight > 0 else network


def build_motion_estimator(config: Mapping[str, Any] | None = None):
    """Camera motion estimator from a dict of :data:`MOTION_ESTIMATOR_PARAMS` values (all optional)."""
    values = validate(dict(config or {}), MOTION_ESTIMATOR_PARAMS, "motion_compensation: ")
    return camera_motion.CameraMotionEstimator(**values)


_APPEARANCE_FORMS = "none, histogram, torch:PATH_OR_ARCH, onnx:PATH"
_DETECTOR_FORMS = "motion, external, ultralytics:PATH"


def parse_backend_spec(spec: str, kind: str = "appearance") -> dict[str, Any]:
    """Turn a command-line backend string into a config dict.

    Parameters
    ----------
    spec : str
        Appearance: ``none``, ``histogram``, ``torch:PATH_OR_ARCH`` or ``onnx:PATH``.
        Detector (``kind="detector"``): ``motion``, ``external`` or ``ultralytics:PATH``.
    kind : str
        ``appearance`` or ``detector``.

    Returns
    -------
    dict
        ``{"backend": name}`` plus ``{"model": value}`` for the forms with a colon.
    """
    if kind == "appearance":
        bare, with_model, forms = ("none", "histogram"), ("torch", "onnx"), _APPEARANCE_FORMS
    elif kind == "detector":
        bare, with_model, forms = ("motion", "external"), ("ultralytics",), _DETECTOR_FORMS
    else:
        raise ValueError(f"kind={kind!r} is invalid; allowed values: 'appearance', 'detector'")
    name, sep, value = spec.partition(":")
    if not sep and name in bare:
        return {"backend": name}
    if sep and name in with_model and value:
        return {"backend": name, "model": value}
    raise ValueError(f"{kind} backend {spec!r} is invalid; allowed forms: {forms}")
