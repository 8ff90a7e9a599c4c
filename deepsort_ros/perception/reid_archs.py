"""Names of the ReID architectures the torch backend builds (kept free of torch for config checks)."""

# OSNet name: (channels of conv1 and the three stages, instance normalisation in the early layers)
OSNET_VARIANTS = {
    "osnet_x1_0": ((64, 256, 384, 512), False),
    "osnet_x0_75": ((48, 192, 288, 384), False),
    "osnet_x0_5": ((32, 128, 192, 256), False),
    "osnet_x0_25": ((16, 64, 96, 128), False),
    "osnet_ibn_x1_0": ((64, 256, 384, 512), True),
}
OSNET_ARCHS = tuple(sorted(OSNET_VARIANTS))
TORCHVISION_ARCHS = ("mobilenet_v2", "resnet18", "resnet50")
ARCHS = OSNET_ARCHS + TORCHVISION_ARCHS
