"""Names of the ReID architectures the torch backend builds (kept free of torch for config checks)."""

OSNET_ARCHS = ("osnet_ibn_x1_0", "osnet_x0_25", "osnet_x0_5", "osnet_x0_75", "osnet_x1_0")
TORCHVISION_ARCHS = ("mobilenet_v2", "resnet18", "resnet50")
ARCHS = OSNET_ARCHS + TORCHVISION_ARCHS
