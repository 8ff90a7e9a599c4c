"""DeepSORT multi-object tracking for ROS 2.

Layers, imports pointing one way only: ``core`` (tracking maths) <- ``perception`` (detectors, ReID)
<- ``pipeline`` (frame in, tracks out) <- ``ros`` (the node) and ``tools`` (command-line programs).
"""
