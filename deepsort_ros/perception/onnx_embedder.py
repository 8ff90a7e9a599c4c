"""Appearance features from an ONNX ReID model through onnxruntime, and export from the torch backend.

The model takes (N, 3, H, W) ImageNet-normalised RGB crops and returns (N, D) features, the layout
torchreid and :func:`export_onnx` produce. Crops are prepared with the same batched sampler as the torch
backend on CPU (:class:`.crops.CropSampler`), so both backends see identical inputs. onnxruntime
is imported when an embedder is built. Execution providers: TensorRT and CUDA when onnxruntime offers
them and the device allows, else CPU.

Export from the command line (:mod:`.export_onnx`)::

    python -m deepsort_ros.perception.export_onnx --model osnet_x0_25 --weights osnet.pth --output reid.onnx
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .cpu_threads import thread_count
from .crops import CropSampler
from .input_checks import check_boxes, check_image
from .params import DEVICE, Param, check_device

PARAMS = (
    Param("model", None, str, "ONNX ReID model file.", required=True),
    DEVICE,
    Param("input_height", 256, int, "Crop height when the model's input size is dynamic.", range=(8, 1024)),
    Param("input_width", 128, int, "Crop width when the model's input size is dynamic.", range=(8, 1024)),
    Param("cpu_threads", 0, int, "onnxruntime intra-op threads of this model; 0: half the cores this "
          "process may use, at least 1.", range=(0, 256)),
)


def providers_for(device: str, available: list[str]) -> list:
    """onnxruntime execution providers for ``device`` given those ``available``, best first."""
    if device == "cpu":
        return ["CPUExecutionProvider"]
    gpu = [p for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider") if p in available]
    if device == "auto":
        return gpu + ["CPUExecutionProvider"]
    if not gpu:
        raise ValueError(f"onnx: device={device!r} requested but onnxruntime offers no CUDA provider "
                         f"(available: {available}); install onnxruntime-gpu or use device 'cpu'")
    index = int(device.split(":")[1]) if ":" in device else 0
    return [(p, {"device_id": index}) for p in gpu] + ["CPUExecutionProvider"]


class OnnxEmbedder:
    """ReID embeddings with onnxruntime.

    Parameters
    ----------
    model, device, input_height, input_width, cpu_threads
        See :data:`PARAMS`.

    Attributes
    ----------
    providers : list of str
        onnxruntime execution providers in use, best first.
    device : str
        ``cpu`` or the ``cuda:N`` the first provider runs on.
    dim : int
        Feature length.
    """

    def __init__(self, model, device="auto", input_height=256, input_width=128, cpu_threads=0):
        import onnxruntime

        check_device(device, "onnx: ")
        if not Path(model).is_file():
            raise ValueError(f"onnx: model file {model} not found; export one from a torch ReID model with "
                             "`python -m deepsort_ros.perception.export_onnx --model ARCH --weights FILE "
                             "--output OUT.onnx`")
        providers = providers_for(device, onnxruntime.get_available_providers())
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = thread_count(cpu_threads)
        try:
            self.session = onnxruntime.InferenceSession(str(model), options, providers=providers)
        except Exception as error:  # onnxruntime's own exception types for corrupt or foreign files
            raise ValueError(f"onnx: cannot load model file {model}: {' '.join(str(error).split())}") from error
        self.providers = self.session.get_providers()
        if self.providers[0] == "CPUExecutionProvider":
            self.device = "cpu"
        else:
            self.device = device if device.startswith("cuda:") else "cuda:0"
        model_input = self.session.get_inputs()[0]
        self._input_name = model_input.name
        shape = model_input.shape
        self.height = shape[2] if isinstance(shape[2], int) else int(input_height)
        self.width = shape[3] if isinstance(shape[3], int) else int(input_width)
        # onnxruntime takes contiguous NCHW: the sampler writes that layout directly.
        self._sampler = CropSampler(self.height, self.width, layout="nchw")
        self.description = f"ONNX {model} on {self.providers[0]}"
        # Warm-up, which also tells the feature size.
        self.dim = int(self.forward(np.zeros((1, 3, self.height, self.width), np.float32)).shape[1])

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """L2-normalised features of an (N, 3, H, W) float32 batch of normalised crops."""
        features = self.session.run(None, {self._input_name: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        features = features.reshape(len(batch), -1).astype(np.float32)
        return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)

    def preprocess(self, bgr: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Normalised crops of all boxes as one contiguous (N, 3, H, W) float32 array, overwritten by the
        next call."""
        return self._sampler(bgr, boxes)

    def embed(self, bgr: np.ndarray, boxes_xyxy) -> np.ndarray:
        """Features of the boxes of one frame: (N, dim) float32, rows L2-normalised."""
        check_image(bgr, "onnx embedder")
        boxes = check_boxes(boxes_xyxy, "onnx embedder")
        if len(boxes) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.forward(self.preprocess(bgr, boxes))


def export_onnx(embedder, path: str | Path, opset: int = 17) -> Path:
    """Write the network of a :class:`~.torch_embedder.TorchEmbedder` to an ONNX file.

    The exported graph takes a dynamic batch of (N, 3, H, W) float32 normalised crops (input
    ``crops``) and returns un-normalised features (output ``features``); the embedder L2-normalises.
    """
    import copy

    import torch

    network = copy.deepcopy(embedder.network).float().cpu().to(memory_format=torch.contiguous_format)
    dummy = torch.zeros(2, 3, embedder.height, embedder.width)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The TorchScript-based exporter needs no onnxscript and handles every network this backend builds;
    # its deprecation notices are torch's plans, not a problem with the export.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(network, (dummy,), str(path), input_names=["crops"], output_names=["features"],
                          dynamic_axes={"crops": {0: "batch"}, "features": {0: "batch"}}, opset_version=opset,
                          dynamo=False)
    return path
