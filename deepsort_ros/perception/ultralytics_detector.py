"""Object detection with any model file ultralytics loads (.pt, .onnx, .engine, .torchscript, ...).

ultralytics letterboxes each frame to the network size, runs NMS and maps the boxes back to original
image pixels. The model file must exist: ultralytics downloads weights when given a bare model name,
so the path is checked before ultralytics sees it, and its automatic pip installs are switched off.
ultralytics is imported when a detector is built.
"""
from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType

import cv2
import numpy as np

from .input_checks import check_image
from .params import DEVICE, Param

PARAMS = (
    Param("model", None, str, "Model file (.pt, .onnx, .engine, .torchscript, OpenVINO folder, ...).",
          required=True),
    DEVICE,
    Param("half", True, bool, "fp16 inference on CUDA (ignored on CPU and for exported engines)."),
    Param("imgsz", 640, int, "Network input size (longest side, letterboxed).", range=(32, 4096)),
    Param("confidence", 0.25, float, "Minimum detection confidence.", range=(0.0, 1.0)),
    Param("iou", 0.7, float, "NMS IoU threshold.", range=(0.0, 1.0)),
    Param("classes", [], list, "Classes to keep, by name or index; empty keeps all."),
    Param("max_detections", 300, int, "Most detections per frame.", range=(1, 100000)),
    Param("warmup", True, bool, "Run one dummy frame at start so the first real frame is not slow."),
)

# Tracker settings over the TrackerConfig defaults. Those were tuned on Faster R-CNN detections whose scores
# sit near 1 (high_score 0.8 splits them best); YOLO models give people 0.3-0.9, so that threshold would keep
# most of them from ever starting a track. 0.5 is ByteTrack's confident/doubtful split for YOLOX. Not tuned:
# no YOLO weights are available to this project's benchmarks.
TRACKER_SETTINGS = MappingProxyType({"high_score": 0.5})

_OBTAIN = ("Download a model yourself (e.g. yolo11n.pt from https://github.com/ultralytics/assets/releases) "
           "or export one with `yolo export`, and pass its path; nothing is downloaded at run time.")


def resolve_classes(requested, names: dict[int, str]) -> list[int] | None:
    """Class indices for a filter given by names and/or indices; None keeps every class."""
    if not requested:
        return None
    by_name = {name: index for index, name in names.items()}
    indices = []
    for item in requested:
        if isinstance(item, str) and item.isdigit():
            item = int(item)
        if isinstance(item, int):
            if item not in names:
                raise ValueError(f"detector: classes entry {item} is not a class index of the model "
                                 f"(0..{max(names)})")
            indices.append(item)
        elif item in by_name:
            indices.append(by_name[item])
        else:
            raise ValueError(f"detector: classes entry {item!r} is not a class of the model; "
                             f"allowed: {sorted(by_name)}")
    return sorted(set(indices))


class UltralyticsDetector:
    """Detector backed by an ultralytics model.

    Parameters
    ----------
    model, device, half, imgsz, confidence, iou, classes, max_detections, warmup
        See :data:`PARAMS`.
    """

    def __init__(self, model, device="auto", half=True, imgsz=640, confidence=0.25, iou=0.7, classes=(),
                 max_detections=300, warmup=True):
        path = Path(model)
        if not path.exists():
            raise ValueError(f"detector: model file {path} not found. {_OBTAIN}")
        # Read by ultralytics when first imported: no pip installs for missing export runtimes and no
        # online probing (a DNS lookup that stalls on robots without network). Users may override both.
        os.environ.setdefault("YOLO_AUTOINSTALL", "false")
        os.environ.setdefault("YOLO_OFFLINE", "true")
        opencv_threads = cv2.getNumThreads()
        from ultralytics import YOLO

        # ultralytics makes OpenCV single-threaded on import (for training data loaders); the crop sampler
        # and camera motion estimation of this process run on OpenCV, so its thread count is restored.
        cv2.setNumThreads(opencv_threads)

        from .torch_device import resolve_device

        self.device = resolve_device(device)
        try:
            self.model = YOLO(str(path), task="detect")
        except Exception as error:  # ultralytics raises many types for unreadable or foreign files
            raise ValueError(f"detector: cannot load model file {path}: {' '.join(str(error).split())}") from error
        names = self.model.names
        self.class_names = [names[i] for i in sorted(names)]
        self.classes = resolve_classes(list(classes or ()), dict(names))
        self._predict_args = dict(imgsz=int(imgsz), conf=float(confidence), iou=float(iou), classes=self.classes,
                                  max_det=int(max_detections), device=str(self.device), verbose=False)
        if half and self.device.type == "cuda":
            from ultralytics.cfg import DEFAULT_CFG_DICT

            # Newer ultralytics names fp16 inference quantize=16 and deprecates half=True.
            self._predict_args.update({"quantize": 16} if "quantize" in DEFAULT_CFG_DICT else {"half": True})
        if warmup:
            self.detect([np.zeros((int(imgsz), int(imgsz), 3), dtype=np.uint8)])

    def reset(self) -> None:
        """Nothing to forget: detection is frame by frame."""

    def detect(self, images):
        """Detect objects in a batch of frames.

        Parameters
        ----------
        images : sequence of ndarray
            BGR uint8 frames (H, W, 3), possibly of different sizes.

        Returns
        -------
        list of tuple
            Per frame ``(boxes_xyxy (N, 4) float32, scores (N,) float32, classes (N,) int64)`` in original
            image pixels.
        """
        images = [check_image(image, "ultralytics detector") for image in images]
        if not images:
            return []
        results = self.model.predict(images, **self._predict_args)
        out = []
        for result in results:
            boxes = result.boxes
            out.append((boxes.xyxy.cpu().numpy().astype(np.float32).reshape(-1, 4),
                        boxes.conf.cpu().numpy().astype(np.float32).reshape(-1),
                        boxes.cls.cpu().numpy().astype(np.int64).reshape(-1)))
        return out
