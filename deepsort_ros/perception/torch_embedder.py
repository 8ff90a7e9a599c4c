"""Appearance features from a torch ReID network, all crops of a frame in one batch.

Crops are cut, resized and normalised together (:mod:`.crops`): on a GPU with ``roi_align`` on the
device, on a CPU with one ``cv2.remap`` + ``cv2.LUT`` over all boxes. The network runs in fp16 on CUDA
when ``half`` is set. torch is imported when an embedder is built, not when this module is imported.
"""
from __future__ import annotations

import numpy as np

from .cpu_threads import thread_count
from .crops import IMAGENET_MEAN, IMAGENET_STD, CropSampler, crop_batch_roi_align
from .input_checks import check_boxes, check_image
from .params import DEVICE, Param
from .reid_archs import ARCHS

PARAMS = (
    Param("model", None, str, "ReID architecture name, TorchScript file, or checkpoint file.", required=True),
    Param("weights", None, str, "Checkpoint (torchreid or torchvision format) for an architecture name."),
    Param("arch", None, str, "Architecture of a checkpoint whose file name does not contain it.", choices=ARCHS),
    Param("random_init", False, bool, "Allow random weights for an architecture name (tests and timing only)."),
    DEVICE,
    Param("half", True, bool, "Run the network in fp16 on CUDA (ignored on CPU)."),
    Param("input_height", 256, int, "Crop height fed to the network.", range=(8, 1024)),
    Param("input_width", 128, int, "Crop width fed to the network.", range=(8, 1024)),
    Param("crop", "auto", str, "Crop sampler: auto (roi_align on GPU, remap on CPU), roi_align or remap.",
          choices=("auto", "roi_align", "remap")),
    Param("cpu_threads", 0, int, "torch intra-op threads (process-wide) when the network runs on the CPU; "
          "0: half the cores this process may use, at least 1.", range=(0, 256)),
)


class TorchEmbedder:
    """ReID embeddings with torch.

    Parameters
    ----------
    model, weights, arch, random_init, device, half, input_height, input_width, crop, cpu_threads
        See :data:`PARAMS`.

    Attributes
    ----------
    dim : int
        Feature length.
    description : str
        What was loaded, for logs.
    """

    def __init__(self, model, weights=None, arch=None, random_init=False, device="auto", half=True,
                 input_height=256, input_width=128, crop="auto", cpu_threads=0):
        import torch

        from .reid_models import load_network
        from .torch_device import resolve_device

        self._torch = torch
        self.device = resolve_device(device)
        if self.device.type == "cpu":
            # torch has no per-model setting, so this is process-wide, and made only when an embedder is
            # built (see .cpu_threads for why not every core).
            torch.set_num_threads(thread_count(cpu_threads))
        self.height, self.width = int(input_height), int(input_width)
        self.dtype = torch.float16 if (half and self.device.type == "cuda") else torch.float32
        network, self.description = load_network(model, weights=weights, arch=arch, random_init=random_init)
        if not isinstance(network, torch.jit.ScriptModule):
            from torch.fx.experimental.optimization import fuse

            # Folding batch norms into the convolutions is exact in eval mode and saves a pass per layer.
            network = fuse(network)
            if self.device.type == "cpu":
                # The CPU sampler yields channels-last memory; matching it avoids a layout copy per frame.
                network = network.to(memory_format=torch.channels_last)
        self.network = network.to(self.device, dtype=self.dtype)
        self.crop = ("roi_align" if self.device.type == "cuda" else "remap") if crop == "auto" else crop
        self._sampler = CropSampler(self.height, self.width)
        self._mean = torch.tensor(IMAGENET_MEAN, device=self.device, dtype=self.dtype).view(1, 3, 1, 1) * 255
        self._std = torch.tensor(IMAGENET_STD, device=self.device, dtype=self.dtype).view(1, 3, 1, 1) * 255
        # Warm-up: the first call allocates and picks kernels; it also tells the feature size.
        self.dim = int(self.forward(torch.zeros(1, 3, self.height, self.width)).shape[1])

    def preprocess(self, bgr: np.ndarray, boxes: np.ndarray):
        """Normalised crops of all boxes as one (N, 3, H, W) tensor on the model's device."""
        torch = self._torch
        if self.crop == "remap":
            # The sampler reuses its buffer; the batch is consumed before the next frame is cut.
            crops = torch.from_numpy(self._sampler(bgr, boxes))
            return crops.permute(0, 3, 1, 2).to(self.device, dtype=self.dtype)
        frame = torch.from_numpy(np.ascontiguousarray(bgr[:, :, ::-1])).to(self.device)
        frame = frame.permute(2, 0, 1).to(self.dtype)
        boxes_t = torch.from_numpy(boxes).to(self.device)
        return crop_batch_roi_align(frame, boxes_t, self.height, self.width, self._mean, self._std)

    def forward(self, batch) -> np.ndarray:
        """L2-normalised features of an already preprocessed (N, 3, H, W) batch, as float32 numpy."""
        torch = self._torch
        with torch.inference_mode():
            features = self.network(batch.to(self.device, dtype=self.dtype)).float()
            features = torch.nn.functional.normalize(features, dim=1)
        return features.cpu().numpy()

    def embed(self, bgr: np.ndarray, boxes_xyxy) -> np.ndarray:
        """Features of the boxes of one frame.

        Parameters
        ----------
        bgr : ndarray
            BGR uint8 image (H, W, 3).
        boxes_xyxy : array-like
            (N, 4) boxes in image pixels.

        Returns
        -------
        ndarray
            (N, dim) float32, rows L2-normalised.
        """
        check_image(bgr, "torch embedder")
        boxes = check_boxes(boxes_xyxy, "torch embedder")
        if len(boxes) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.forward(self.preprocess(bgr, boxes))
