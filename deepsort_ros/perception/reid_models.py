"""ReID networks for the torch embedder: OSNet, torchvision backbones and TorchScript files.

Every network maps (N, 3, H, W) ImageNet-normalised RGB to (N, D) features. Weights come only from
files the user names; nothing is downloaded. Random weights are given only when explicitly requested
(tests and timing), never as a fallback.
"""
from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from .osnet import build_osnet
from .reid_archs import ARCHS, OSNET_VARIANTS, TORCHVISION_ARCHS
# Classification heads dropped from checkpoints: tracking uses the features before them.
_HEAD_PREFIXES = {"mobilenet_v2": ("classifier.",), "resnet18": ("fc.",), "resnet50": ("fc.",)}
_OBTAIN = ("Pretrained OSNet weights (e.g. osnet_x0_25_msmt17.pth) come from the torchreid model zoo "
           "(https://kaiyangzhou.github.io/deep-person-reid/MODEL_ZOO); torchvision ImageNet weights from "
           "https://download.pytorch.org/models/ (e.g. mobilenet_v2-b0353104.pth). Download them yourself "
           "and pass the file path; nothing is downloaded at run time.")


def build_architecture(arch: str) -> nn.Module:
    """Feature extractor ``arch`` with random weights and no classification head."""
    if arch in OSNET_VARIANTS:
        return build_osnet(arch)
    if arch not in TORCHVISION_ARCHS:
        raise ValueError(f"unknown ReID architecture {arch!r}; allowed: {list(ARCHS)}")
    import torchvision

    network = getattr(torchvision.models, arch)(weights=None)
    if arch == "mobilenet_v2":
        network.classifier = nn.Identity()
    else:
        network.fc = nn.Identity()
    return network


def arch_from_filename(path: str | Path) -> str | None:
    """The architecture named in a checkpoint's file name (longest match), or None."""
    name = Path(path).name.lower()
    matches = [arch for arch in ARCHS if arch in name]
    return max(matches, key=len) if matches else None


def load_checkpoint_into(network: nn.Module, arch: str, path: str | Path) -> None:
    """Load a torchreid- or torchvision-format checkpoint into ``network``.

    Accepts a bare state dict or ``{"state_dict": ...}``, with or without the ``module.`` prefix of
    ``DataParallel``. Classification heads are ignored; any other missing or unexpected key is an error.
    """
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several unpickling error types
        raise ValueError(f"cannot read ReID checkpoint {path}: {error}. Save it as a plain state dict "
                         "(torch.save(model.state_dict(), path)) if it holds other Python objects.") from error
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"ReID checkpoint {path} holds no state dict")
    head = _HEAD_PREFIXES.get(arch, ("classifier.",))
    cleaned = {}
    for key, value in state.items():
        key = key[len("module."):] if key.startswith("module.") else key
        if not key.startswith(head):
            cleaned[key] = value
    try:
        result = network.load_state_dict(cleaned, strict=False)
    except RuntimeError as error:  # tensor shapes that do not fit
        raise ValueError(f"ReID checkpoint {path} does not fit {arch}: {str(error).splitlines()[-1].strip()}") from error
    if result.missing_keys or result.unexpected_keys:
        raise ValueError(f"ReID checkpoint {path} does not fit {arch}: missing keys {result.missing_keys[:5]}, "
                         f"unexpected keys {result.unexpected_keys[:5]}")


def load_network(model: str, weights: str | None = None, arch: str | None = None,
                 random_init: bool = False) -> tuple[nn.Module, str]:
    """Build the ReID network a config names.

    Parameters
    ----------
    model : str
        An architecture from :data:`ARCHS`, a TorchScript file, or a checkpoint file whose name contains
        its architecture (or with ``arch`` given).
    weights : str, optional
        Checkpoint for an architecture name.
    arch : str, optional
        Architecture of a checkpoint whose file name does not reveal it.
    random_init : bool
        Allow an architecture without weights (random features; tests and timing only).

    Returns
    -------
    tuple
        The network in eval mode on the CPU and a short description of what was loaded.
    """
    if model in ARCHS:
        if weights is None:
            if not random_init:
                raise ValueError(f"reid: architecture {model!r} needs a weights file (key 'weights'), or "
                                 f"random_init: true for tests and timing only. {_OBTAIN}")
            return build_architecture(model).eval(), f"{model} (random weights)"
        network = build_architecture(model)
        _require_file(weights, "weights")
        load_checkpoint_into(network, model, weights)
        return network.eval(), f"{model} from {weights}"
    path = Path(model)
    if not path.is_file():
        raise ValueError(f"reid: model {model!r} is neither an architecture ({list(ARCHS)}) nor an existing "
                         f"file (TorchScript or checkpoint). {_OBTAIN}")
    if weights is not None:
        raise ValueError("reid: 'weights' only applies when 'model' is an architecture name")
    if _is_torchscript(path):
        with warnings.catch_warnings():
            # TorchScript files are a supported input; torch's deprecation notice is not the user's business.
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(str(path), map_location="cpu").eval(), f"TorchScript {path}"
    arch = arch or arch_from_filename(path)
    if arch is None:
        raise ValueError(f"reid: cannot tell the architecture of checkpoint {path}: set 'arch' to one of {list(ARCHS)}")
    network = build_architecture(arch)
    load_checkpoint_into(network, arch, path)
    return network.eval(), f"{arch} from {path}"


def _is_torchscript(path: Path) -> bool:
    """Whether ``path`` is a TorchScript archive (a zip with compiled code, unlike a torch.save file)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("constants.pkl") or "/code/" in name for name in archive.namelist())


def _require_file(path: str, key: str) -> None:
    if not Path(path).is_file():
        raise ValueError(f"reid: {key} file {path} not found. {_OBTAIN}")
