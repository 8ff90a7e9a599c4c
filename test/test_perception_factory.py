"""Perception factory: config validation, backend strings, lazy imports of heavy libraries."""
import os
import subprocess
import sys

import numpy as np
import pytest

from deepsort_ros.perception import (DETECTOR_PARAMS, EMBEDDER_PARAMS, build_detector, build_embedder,
                                     build_motion_estimator, parse_backend_spec)
from deepsort_ros.perception.camera_motion import CameraMotionEstimator
from deepsort_ros.perception.cpu_threads import thread_count, usable_cores
from deepsort_ros.perception.histogram_embedder import HistogramEmbedder
from deepsort_ros.perception.motion_detector import MotionDetector
from deepsort_ros.perception.onnx_embedder import providers_for


@pytest.mark.parametrize("spec, expected", [
    ("none", {"backend": "none"}),
    ("histogram", {"backend": "histogram"}),
    ("torch:osnet_x0_25", {"backend": "torch", "model": "osnet_x0_25"}),
    ("torch:/models/reid.pt", {"backend": "torch", "model": "/models/reid.pt"}),
    ("onnx:C:/models/reid.onnx", {"backend": "onnx", "model": "C:/models/reid.onnx"}),
])
def test_parse_appearance_specs(spec, expected):
    assert parse_backend_spec(spec) == expected


def test_parse_detector_specs():
    assert parse_backend_spec("motion", kind="detector") == {"backend": "motion"}
    assert parse_backend_spec("ultralytics:yolo.pt", kind="detector") == {"backend": "ultralytics", "model": "yolo.pt"}


@pytest.mark.parametrize("spec", ["torch", "torch:", "hist", "onnx", "histogram:x", ""])
def test_parse_rejects_bad_specs_naming_forms(spec):
    with pytest.raises(ValueError, match="torch:PATH_OR_ARCH"):
        parse_backend_spec(spec)


def test_builds_weight_free_backends():
    assert build_embedder({"backend": "none"}) is None
    assert isinstance(build_embedder({"backend": "histogram", "stripes": 4}), HistogramEmbedder)
    detector = build_detector({"backend": "motion", "history": 100})
    assert isinstance(detector, MotionDetector) and detector.class_names == ["person"]
    external = build_detector({"backend": "external", "class_names": ["person", "car"]})
    assert external.class_names == ["person", "car"]
    with pytest.raises(ValueError, match="detections come from outside"):
        external.detect([np.zeros((4, 4, 3), np.uint8)])
    assert isinstance(build_motion_estimator({"model": "affine"}), CameraMotionEstimator)
    assert isinstance(build_motion_estimator(None), CameraMotionEstimator)


@pytest.mark.parametrize("builder, config, match", [
    (build_detector, {}, r"missing key 'backend'.*ultralytics"),
    (build_detector, {"backend": "yolo"}, r"backend='yolo'.*'ultralytics', 'motion', 'external'"),
    (build_detector, {"backend": "motion", "histroy": 3}, r"unknown key\(s\) \['histroy'\].*'history'"),
    (build_detector, {"backend": "motion", "scale": 2.0}, r"scale=2.0.*\[0.1, 1.0\]"),
    (build_detector, {"backend": "motion", "shadows": 1}, r"shadows=1.*bool"),
    (build_detector, {"backend": "motion", "history": 2.5}, r"history=2.5.*int"),
    (build_detector, {"backend": "motion", "min_height": 90.0, "max_height": 50.0}, "exceeds max_height"),
    (build_detector, {"backend": "ultralytics"}, "missing required key 'model'"),
    (build_detector, {"backend": "ultralytics", "model": "x.pt", "device": "gpu"}, r"device='gpu'.*cuda:N"),
    (build_detector, {"backend": "ultralytics", "model": "x.pt", "classes": "person"}, "classes='person'"),
    (build_embedder, {"backend": "torch"}, "missing required key 'model'"),
    (build_embedder, {"backend": "torch", "model": "osnet_x0_25", "crop": "bicubic"},
     r"crop='bicubic'.*'auto', 'roi_align', 'remap'"),
    (build_embedder, {"backend": "onnx", "model": "r.onnx", "device": "tpu"}, "device='tpu'"),
    (build_embedder, {"backend": "histogram", "stripes": 0}, r"stripes=0.*\[1, 64\]"),
    (build_embedder, {"backend": "histogram", "stripes": 10, "samples_height": 5}, "samples_height=5"),
    (build_embedder, "histogram", "config must be a dict"),
    (build_motion_estimator, {"model": "homography"}, r"model='homography'.*'affine', 'partial'"),
])
def test_validation_names_key_and_allowed_values(builder, config, match):
    with pytest.raises(ValueError, match=match):
        builder(config)


def test_every_param_has_description_and_valid_default():
    for table in (DETECTOR_PARAMS, EMBEDDER_PARAMS):
        for params in table.values():
            for param in params:
                assert param.description
                if param.default is not None:
                    assert param.check(param.default, "") == param.default


def test_perception_import_loads_no_heavy_library():
    code = ("import sys, deepsort_ros.perception, deepsort_ros.pipeline; "
            "print(sorted(m for m in ('torch', 'ultralytics', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_onnx_providers_follow_device():
    gpu = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert providers_for("cpu", gpu) == ["CPUExecutionProvider"]
    assert providers_for("auto", gpu) == gpu
    assert providers_for("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert providers_for("cuda:1", gpu[1:]) == [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
    with pytest.raises(ValueError, match="no CUDA provider"):
        providers_for("cuda", ["CPUExecutionProvider"])


def test_cpu_thread_count_defaults_to_half_the_cores(monkeypatch):
    assert thread_count(3) == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert usable_cores() == 8 and thread_count(0) == 4
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert thread_count(0) == 1
