"""DeepSORT tracker core: numpy and scipy only (no ROS, no torch, no OpenCV).

>>> from deepsort_ros.core import Tracker, TrackerConfig
>>> tracker = Tracker(TrackerConfig())
>>> tracks = tracker.update(boxes_xyxy, scores, features=None, classes=None, timestamp=None, warp=None)
"""
from .config import TrackerConfig
from .track import Tracks, TrackState
from .tracker import Tracker

__all__ = ["Tracker", "TrackerConfig", "Tracks", "TrackState"]
