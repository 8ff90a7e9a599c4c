"""Perception: detectors, appearance embedders and camera motion estimation (no ROS).

Protocols every backend follows::

    detector.detect([bgr, ...]) -> [(boxes_xyxy (N, 4) float32, scores (N,) float32, classes (N,) int64), ...]
    detector.class_names -> list[str]
    embedder.embed(bgr, boxes_xyxy) -> (N, D) float32, rows L2-normalised
    estimator.estimate(bgr, boxes_xyxy) -> (2, 3) float64 affine from the previous frame to this one

Backends: detectors ``ultralytics`` | ``motion`` | ``external``; embedders ``none`` | ``histogram`` |
``torch`` | ``onnx`` (the networks' features with colour histograms mixed in, ``colour_mix``). torch, ultralytics and onnxruntime are imported only when a backend needing them is
built. ``DETECTOR_TRACKER_SETTINGS[backend]`` are the tracker settings a detector needs in place of the
TrackerConfig defaults (the motion detector's flickering, fill-fraction-scored blobs need their own), and
``EMBEDDER_TRACKER_SETTINGS[backend]`` those an embedder needs (histogram distances are spread unlike CNN
features, and colour mixed into network features changes faster along a track);
``tracker_preset(detector, embedder)`` combines them, the detector's winning where both set a field.
"""
from .factory import (DETECTOR_PARAMS, DETECTOR_TRACKER_SETTINGS, EMBEDDER_PARAMS, EMBEDDER_TRACKER_SETTINGS,
                      MOTION_ESTIMATOR_PARAMS, build_detector, build_embedder, build_motion_estimator,
                      parse_backend_spec, tracker_preset)
from .params import Param

__all__ = ["DETECTOR_PARAMS", "DETECTOR_TRACKER_SETTINGS", "EMBEDDER_PARAMS", "EMBEDDER_TRACKER_SETTINGS",
           "MOTION_ESTIMATOR_PARAMS", "Param", "build_detector", "build_embedder", "build_motion_estimator",
           "parse_backend_spec", "tracker_preset"]
