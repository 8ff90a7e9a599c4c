"""OSNet (Zhou et al., "Omni-Scale Feature Learning for Person Re-Identification", ICCV 2019).

Written for this project with the same module names as torchreid's implementation, so torchreid
checkpoints (``state_dict`` or ``{"state_dict": ...}``, optionally with a ``module.`` prefix) load
directly. Only the feature extractor is built: the identity classifier of a training checkpoint is
not needed for tracking and its keys are ignored. Import this module only where torch is wanted.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .reid_archs import OSNET_VARIANTS


class ConvLayer(nn.Module):
    """Convolution, batch (or instance) normalisation, ReLU."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1, instance_norm=False):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                              bias=False, groups=groups)
        self.bn = nn.InstanceNorm2d(out_channels, affine=True) if instance_norm else nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Conv1x1(nn.Module):
    """1x1 convolution, batch normalisation, ReLU."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Conv1x1Linear(nn.Module):
    """1x1 convolution and batch normalisation without activation."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return self.bn(self.conv(x))


class LightConv3x3(nn.Module):
    """Pointwise 1x1 then depthwise 3x3 convolution, batch normalisation, ReLU."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 1, stride=1, padding=0, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False, groups=out_channels)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv2(self.conv1(x))))


class ChannelGate(nn.Module):
    """Aggregation gate shared by the streams of one block: channel weights from global context."""

    def __init__(self, in_channels, reduction=16):
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(in_channels, in_channels // reduction, kernel_size=1, bias=True, padding=0)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(in_channels // reduction, in_channels, kernel_size=1, bias=True, padding=0)

    def forward(self, x):
        gate = torch.sigmoid(self.fc2(self.relu(self.fc1(self.global_avgpool(x)))))
        return x * gate


class OSBlock(nn.Module):
    """Omni-scale residual block: four streams of 1 to 4 stacked light 3x3 convolutions."""

    def __init__(self, in_channels, out_channels, instance_norm=False, bottleneck_reduction=4):
        super().__init__()
        mid = out_channels // bottleneck_reduction
        self.conv1 = Conv1x1(in_channels, mid)
        self.conv2a = LightConv3x3(mid, mid)
        self.conv2b = nn.Sequential(LightConv3x3(mid, mid), LightConv3x3(mid, mid))
        self.conv2c = nn.Sequential(*(LightConv3x3(mid, mid) for _ in range(3)))
        self.conv2d = nn.Sequential(*(LightConv3x3(mid, mid) for _ in range(4)))
        self.gate = ChannelGate(mid)
        self.conv3 = Conv1x1Linear(mid, out_channels)
        self.downsample = Conv1x1Linear(in_channels, out_channels) if in_channels != out_channels else None
        self.IN = nn.InstanceNorm2d(out_channels, affine=True) if instance_norm else None

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        x1 = self.conv1(x)
        x2 = self.gate(self.conv2a(x1)) + self.gate(self.conv2b(x1)) + self.gate(self.conv2c(x1)) \
            + self.gate(self.conv2d(x1))
        out = self.conv3(x2) + identity
        if self.IN is not None:
            out = self.IN(out)
        return F.relu(out)


def _stage(num_blocks, in_channels, out_channels, reduce_spatial_size, instance_norm):
    layers = [OSBlock(in_channels, out_channels, instance_norm=instance_norm)]
    layers += [OSBlock(out_channels, out_channels, instance_norm=instance_norm) for _ in range(1, num_blocks)]
    if reduce_spatial_size:
        layers.append(nn.Sequential(Conv1x1(out_channels, out_channels), nn.AvgPool2d(2, stride=2)))
    return nn.Sequential(*layers)


class OSNet(nn.Module):
    """OSNet feature extractor: (N, 3, H, W) normalised RGB -> (N, feature_dim) embeddings.

    Parameters
    ----------
    channels : tuple of int
        Channels of conv1 and of the three OS stages.
    instance_norm : bool
        Instance normalisation in the early layers (the ``ibn`` variants).
    feature_dim : int
        Size of the embedding after the fully connected layer.
    """

    def __init__(self, channels, instance_norm=False, feature_dim=512):
        super().__init__()
        self.conv1 = ConvLayer(3, channels[0], 7, stride=2, padding=3, instance_norm=instance_norm)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = _stage(2, channels[0], channels[1], True, instance_norm)
        self.conv3 = _stage(2, channels[1], channels[2], True, False)
        self.conv4 = _stage(2, channels[2], channels[3], False, False)
        self.conv5 = Conv1x1(channels[3], channels[3])
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(channels[3], feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU(inplace=True))
        self.feature_dim = feature_dim
        self._init_params()

    def _init_params(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.InstanceNorm2d)):
                if m.weight is not None:
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.conv4(self.conv3(self.conv2(x))))
        return self.fc(torch.flatten(self.global_avgpool(x), 1))


def build_osnet(name: str) -> OSNet:
    """OSNet variant ``name`` (a key of :data:`OSNET_VARIANTS`) with random weights."""
    if name not in OSNET_VARIANTS:
        raise ValueError(f"unknown OSNet variant {name!r}; allowed: {sorted(OSNET_VARIANTS)}")
    channels, instance_norm = OSNET_VARIANTS[name]
    return OSNet(channels, instance_norm=instance_norm)
