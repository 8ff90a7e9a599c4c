"""DeepSORT multi-object tracking for ROS 2.

Layers, imports pointing one way only: ``core`` (tracking maths) <- ``perception`` (detectors, ReID)
<- ``pipeline`` (frame in, tracks out) <- ``ros`` (the node) and ``tools`` (command-line programs).

Importing this package caps the size of images OpenCV will decode (compressed images claiming a larger
size are refused before any memory is allocated, in the node and in bag sources alike); OpenCV reads the
limit when it is first imported, so it is set here, ahead of every module that imports cv2.
"""
import os

MAX_IMAGE_PIXELS = 8192 * 8192
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))
