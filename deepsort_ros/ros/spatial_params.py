"""The node's ``spatial.*`` parameters: the :class:`~deepsort_ros.core.spatial_estimator.SpatialConfig`
fields (read-only: the metric filter is built with them) plus what only the node needs (output frame,
stamp pairing, follow target)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deepsort_ros.core.spatial_estimator import SpatialConfig
from deepsort_ros.perception import Param
from deepsort_ros.ros.parameters import ParameterSpec

PREFIX = "spatial."
TARGET_MODES = ("none", "nearest", "id")


def spatial_specs() -> list[ParameterSpec]:
    """Every ``spatial.*`` parameter, the SpatialConfig fields first."""
    kinds = {"bool": bool, "int": int, "float": float, "str": str}
    specs = [ParameterSpec(Param(field["name"], field["default"], kinds[field["type"]], field["description"],
                                 range=field.get("range"), choices=field.get("choices")),
                           read_only=True, prefix=PREFIX)
             for field in SpatialConfig.field_specs()]
    specs += [
        ParameterSpec(Param("spatial.ground_frame", "base_footprint", str, "ground_plane: frame_id of the ground "
                            "frame the camera pose is given in and tracks_3d, tracks/points, tracks/markers and "
                            "target_pose are published in (depth mode uses camera_info's frame)"), read_only=True),
        ParameterSpec(Param("spatial.depth_slop_s", 0.02, float, "depth: largest stamp difference between the "
                            "colour image and the depth image paired with it, seconds (0: exact stamps only)",
                            range=(0.0, 10.0)), read_only=True),
        ParameterSpec(Param("spatial.camera_info_timeout_s", 5.0, float, "camera_info older or newer than the image "
                            "by more than this many seconds is stale: that frame gets no metric measurement",
                            range=(0.0, 1e6)), read_only=True),
        ParameterSpec(Param("spatial.target.mode", "none", str, "Track published on target_pose: none, the nearest "
                            "to the camera, or the track spatial.target.id", choices=TARGET_MODES)),
        ParameterSpec(Param("spatial.target.id", 0, int, "Track id to follow with spatial.target.mode id",
                            range=(0, 2**63 - 1))),
    ]
    return specs


def spatial_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """The pipeline's ``spatial`` config dict (SpatialConfig fields) from the node's parameter values."""
    return {field["name"]: values[PREFIX + field["name"]] for field in SpatialConfig.field_specs()
            if PREFIX + field["name"] in values}
