"""The ``external`` detector: no network; detections arrive from outside (tracker-only mode)."""
from __future__ import annotations

from .params import Param

PARAMS = (
    Param("class_names", [], list, "Names of the class indices external detections carry (may be empty)."),
)


class ExternalDetector:
    """The detector of tracker-only mode: it runs nothing, the caller supplies every frame's detections.

    Parameters
    ----------
    class_names : list of str
        Names for the class indices of incoming detections.
    """

    external = True

    def __init__(self, class_names=()):
        self.class_names = [str(name) for name in class_names]

    def reset(self) -> None:
        """Nothing to forget: this detector keeps no state between frames."""

    def detect(self, images):
        """Always an error: in external mode detections must be passed to the pipeline."""
        raise ValueError("external detector: detections come from outside; pass them to Pipeline.process "
                         "(detections=(boxes, scores, classes)) instead of calling detect()")
