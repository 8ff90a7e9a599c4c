"""Tracker settings: one dataclass of scalar fields, each describing itself (the ROS node builds its
``tracker.*`` parameters from the metadata)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .kalman_filter import STATE_SPACES
from .nn_matching import APPEARANCE_MODES
from .settings import check_known, check_settings, field_specs, setting


@dataclass
class TrackerConfig:
    """Settings of :class:`deepsort_ros.core.Tracker`.

    The defaults are the best settings measured, by mean HOTA, over six MOT15 tuning sequences (PETS09-S2L1,
    Venice-2, ADL-Rundle-6 with the shared MobileNetV2 appearance features; ETH-Bahnhof, ETH-Pedcross2,
    KITTI-13 by motion alone with the motion-only preset, ``perception.tracker_preset(embedder_backend=
    "none")``) at 7 to 30 fps with static and moving cameras, all with the shared Faster R-CNN detections;
    TUD-Stadtmitte and TUD-Campus were held out.
    """

    # Kalman filter.
    state_space: str = setting(
        "xyah", "Kalman measurement: 'xyah' (centre, aspect ratio, height; DeepSORT) or 'xywh' (centre, width, "
        "height)", choices=STATE_SPACES, build_time=True)
    std_weight_position: float = setting(
        0.125, "Position process noise, as a fraction of the box size per step", range=(1e-4, 1.0), build_time=True)
    std_weight_velocity: float = setting(
        0.016, "Velocity process noise, as a fraction of the box size per step", range=(1e-5, 1.0), build_time=True)
    std_weight_measurement: float = setting(
        0.125, "Detection box noise, as a fraction of the box size", range=(1e-4, 1.0), build_time=True)
    kalman_fps: float = setting(
        7.0, "With timestamps every per-frame quantity is taken per reference frame of 1 / kalman_fps seconds: "
        "the Kalman filter takes (elapsed seconds x kalman_fps) steps, the appearance average forgets "
        "ema_alpha per step, and iou_stage_max_misses and report_coasting_frames count steps, so a camera at "
        "any rate tracks alike (checked at 7 to 30 fps); n_init still counts matches", range=(0.1, 1000.0))
    confidence_scaled_noise: bool = setting(
        True, "Scale each measurement's noise by (1 - detection score) (NSA Kalman)", choices=(True, False), build_time=True)

    # Appearance.
    appearance_update: str = setting(
        "ema", "Per-track appearance: 'ema' (exponential moving average of features) or 'gallery' (nearest "
        "neighbour over the last gallery_budget features)", choices=APPEARANCE_MODES, build_time=True)
    ema_alpha: float = setting(
        0.92, "Weight of the old appearance in the moving average, per reference frame (see kalman_fps; "
        "a 3x faster camera blends with ema_alpha ** (1/3) per frame)", range=(0.0, 1.0), build_time=True)
    gallery_budget: int = setting(
        100, "Features kept per track in 'gallery' mode", range=(1, 1000), build_time=True)
    appearance_update_max_iou: float = setting(
        0.2, "A track's appearance is only updated from a detection overlapping no other detection by more than "
        "this IoU (occluded crops mix people; 1: always update)", range=(0.0, 1.0))
    max_cosine_distance: float = setting(
        0.18, "Appearance gate: larger cosine distances never match", range=(0.0, 2.0))

    # Association.
    matching: str = setting(
        "global", "First stage: 'global' (one assignment over all confirmed tracks on the fused cost) or "
        "'cascade' (DeepSORT: recently seen tracks first)", choices=("global", "cascade"))
    appearance_weight: float = setting(
        0.95, "Weight of the appearance distance in the fused cost (the rest is motion)", range=(0.0, 1.0))
    motion_cost: str = setting(
        "mahalanobis", "Motion part of the fused cost: 'mahalanobis' (squared Mahalanobis distance / "
        "gating_threshold) or 'iou' (1 - IoU)", choices=("mahalanobis", "iou"))
    gating_threshold: float = setting(
        9.4877, "Motion gate on the squared Mahalanobis distance (chi-square 95% with 4 dof = 9.4877)",
        range=(0.1, 1000.0))
    max_iou_distance: float = setting(
        0.7, "IoU gate: pairs with 1 - IoU above this never match in the IoU stage, nor on motion alone (no "
        "appearance) in the first stage", range=(0.0, 1.0))
    iou_stage_max_misses: int = setting(
        5, "Confirmed tracks unmatched for at most this many frames (reference frames with timestamps) before "
        "this one also enter the IoU stage",
        range=(0, 1000))

    # Detections.
    min_score: float = setting(
        0.1, "Detections scoring below this are ignored", range=(0.0, 1.0))
    high_score: float = setting(
        0.8, "Detections scoring below this only join the low-score stage: they never start tracks nor teach a "
        "track's appearance",
        range=(0.0, 1.0))
    low_score_stage: bool = setting(
        True, "Match low-score detections to the still unmatched confirmed tracks by IoU (ByteTrack)",
        choices=(True, False))
    low_score_max_iou_distance: float = setting(
        0.5, "Low-score stage gate on 1 - IoU", range=(0.0, 1.0))

    # Track life.
    n_init: int = setting(
        4, "Consecutive matches before a tentative track is confirmed", range=(1, 1000))
    max_age: int = setting(
        20, "Frames a confirmed track survives without a match (without timestamps, or max_age_s = 0)",
        range=(1, 100000))
    max_age_s: float = setting(
        2.9, "Seconds a confirmed track survives without a match when timestamps are given; replaces max_age "
        "then (0: use max_age)", range=(0.0, 1e6))

    # Output.
    output_box: str = setting(
        "state", "Box reported for a matched track: 'detection' (the matched detection) or 'state' (the "
        "Kalman estimate)", choices=("detection", "state"))
    report_tentative: bool = setting(
        False, "Also report tentative (not yet confirmed) tracks; a tentative track has no id yet and reports a "
        "negative placeholder, its own until it is confirmed and gets the next id (1, 2, 3 ...)", choices=(True, False))
    report_coasting_frames: int = setting(
        2, "Report a confirmed track at its predicted box for up to this many frames (reference frames with "
        "timestamps) without a match",
        range=(0, 100000))

    def validate(self) -> "TrackerConfig":
        """Check every field's type and allowed values.

        Returns
        -------
        TrackerConfig
            ``self``, so ``TrackerConfig(...).validate()`` chains.

        Raises
        ------
        ValueError
            Naming the field, the bad value and what is allowed.
        """
        check_settings(self, "tracker")
        if self.high_score < self.min_score:
            raise ValueError(f"tracker setting high_score={self.high_score!r}: must be >= min_score "
                             f"({self.min_score!r})")
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrackerConfig":
        """Build and validate a config from a plain dict; unknown keys raise ValueError naming them."""
        check_known(cls, values, "tracker")
        return cls(**values).validate()

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (inverse of :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def field_specs(cls) -> list[dict[str, Any]]:
        """``name, type, default, description, build_time`` and ``range`` or ``choices`` of every field."""
        return field_specs(cls)
