"""ROS 2 layer: the tracker node, message conversions, parameters and the video publisher.

Importing this package caps the size of images OpenCV will decode (compressed images claiming a larger
size are refused before any memory is allocated); OpenCV reads the limit when it is first imported, so
it is set here, ahead of every module of this package that imports cv2.
"""
import os

MAX_DECODED_PIXELS = 8192 * 8192
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_DECODED_PIXELS))
