"""From node parameters to the pipeline: the backends' parameters and the config dict they form.

Every perception backend lists its settings (``PARAMS``); each becomes a read-only node parameter:
``detector.<backend>.<name>``, ``reid.<backend>.<name>`` and ``camera_motion.<name>``. Settings several
backends share (``model``, ``device``, ``confidence``, ``classes``) are the node's own ``detector.*`` /
``reid.*`` parameters. All backends' parameters are declared, so one parameter file documents and
configures every backend and switching ``detector.backend`` needs no other change; only the chosen
backends' values reach the pipeline.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from deepsort_ros.perception import DETECTOR_PARAMS, EMBEDDER_PARAMS, MOTION_ESTIMATOR_PARAMS, Param
from deepsort_ros.ros.parameters import ParameterSpec, node_specs, tracker_specs
from deepsort_ros.ros.spatial_params import spatial_config, spatial_specs

CAMERA_MOTION_PREFIX = "camera_motion"
_BACKENDS = {"detector": DETECTOR_PARAMS, "reid": EMBEDDER_PARAMS}


def _parameter_prefix(prefix: str, backend: str | None, param: Param, shared: Iterable[str]) -> str:
    """What the node parameter name of a backend setting puts before ``param.name``: ``prefix.``, when the
    node declares that shared name itself or there is no backend level, else ``prefix.backend.``."""
    if backend is None or f"{prefix}.{param.name}" in shared:
        return f"{prefix}."
    return f"{prefix}.{backend}."


def backend_parameter_specs(shared: Iterable[str]) -> list[ParameterSpec]:
    """Read-only specs for the settings of every detector, embedder and the camera motion estimator.

    Parameters
    ----------
    shared : iterable of str
        Names the node declares itself (``detector.model`` ...); backends use those instead.
    """
    shared = set(shared)
    specs = []
    for prefix, backends in _BACKENDS.items():
        for backend, params in backends.items():
            specs += [ParameterSpec(p, read_only=True, prefix=_parameter_prefix(prefix, backend, p, shared))
                      for p in params if f"{prefix}.{p.name}" not in shared]
    specs += [ParameterSpec(p, read_only=True, prefix=f"{CAMERA_MOTION_PREFIX}.") for p in MOTION_ESTIMATOR_PARAMS]
    return specs


def all_parameter_specs(detector_backend: str | None = None, reid_backend: str | None = None
                        ) -> list[ParameterSpec]:
    """Every parameter tracker_node declares, in declaration order (the node's own first).

    Parameters
    ----------
    detector_backend, reid_backend : str, optional
        The ``detector.backend`` and ``reid.backend`` values, whose tracker presets give the ``tracker.*``
        defaults; None documents the TrackerConfig defaults (see
        :func:`deepsort_ros.ros.parameters.tracker_specs`).
    """
    specs = node_specs()
    return (specs + backend_parameter_specs(shared=[spec.name for spec in specs])
            + tracker_specs(detector_backend, reid_backend) + spatial_specs())


def _section(prefix: str, backend: str | None, params: Iterable[Param], values: Mapping[str, Any]) -> dict[str, Any]:
    config = {}
    for param in params:
        # Shared settings are the only parameters declared without a backend level, so the declared names
        # tell them apart.
        value = values.get(_parameter_prefix(prefix, backend, param, values.keys()) + param.name)
        # Unset optional values (and the empty string the node uses for "no model") keep the backend's
        # default, so a missing required model is reported by the backend with its own explanation.
        if value is None or (value == "" and param.default is None):
            continue
        config[param.name] = list(value) if isinstance(value, (list, tuple)) else value
    return config


def pipeline_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Pipeline.from_config`` dict for the node's parameter ``values``."""
    config: dict[str, Any] = {"tracker": {name[len("tracker."):]: value for name, value in values.items()
                                          if name.startswith("tracker.")}}
    for prefix, backends in _BACKENDS.items():
        backend = values[f"{prefix}.backend"]
        config[prefix] = {"backend": backend, **_section(prefix, backend, backends[backend], values)}
    # The pipeline takes the estimator's settings in place of True.
    config["motion_compensation"] = (_section(CAMERA_MOTION_PREFIX, None, MOTION_ESTIMATOR_PARAMS, values)
                                     if values["motion_compensation"] else False)
    config["spatial"] = spatial_config(values)
    return config


def resolved_device(pipeline: Any) -> str:
    """Where the networks run, for logs and diagnostics (``cpu`` for the weight-free backends)."""
    devices = []
    for part in (getattr(pipeline, "detector", None), getattr(pipeline, "embedder", None)):
        device = getattr(part, "device", None)
        if device is not None and str(device) not in devices:
            devices.append(str(device))
    return ", ".join(devices) or "cpu"
