"""The tracker node's ROS parameters: one spec list that declares, documents and validates them.

``tracker.*`` parameters are derived from the fields of :class:`deepsort_ros.core.TrackerConfig` (their
defaults replaced by the chosen backends' tracker preset, ``perception.tracker_preset``) and the
backend parameters from the perception backends' ``PARAMS`` (see :mod:`deepsort_ros.ros.pipeline_config`),
so the node always exposes exactly what the layers below accept, with their descriptions and ranges.
"""
from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType
from rclpy.exceptions import ParameterException
from rclpy.parameter import Parameter
from rclpy.time_source import USE_SIM_TIME_NAME

from deepsort_ros.core import TrackerConfig
from deepsort_ros.perception import DETECTOR_TRACKER_SETTINGS, EMBEDDER_TRACKER_SETTINGS, Param, tracker_preset
from deepsort_ros.perception.colour_mix import COLOUR_WEIGHT

AUTOSTART = "autostart"
_ROS_TYPES = {
    bool: ParameterType.PARAMETER_BOOL,
    int: ParameterType.PARAMETER_INTEGER,
    float: ParameterType.PARAMETER_DOUBLE,
    str: ParameterType.PARAMETER_STRING,
    list: ParameterType.PARAMETER_STRING_ARRAY,
}
_UNSET_TYPES = {list: Parameter.Type.STRING_ARRAY, str: Parameter.Type.STRING}
# Parameters rclpy declares on every node itself (start_type_description_service since Jazzy); setting them
# is not a typo. qos_overrides.* belong to publishers and subscriptions with QoS overriding options.
RCLPY_PARAMETERS = frozenset({USE_SIM_TIME_NAME, "start_type_description_service"})
# rcl_interfaces ranges are doubles / int64; wider bounds are clipped to what the message can hold.
_INT64_MAX = 2**63 - 1


class ParameterError(ValueError):
    """A parameter value the node cannot start with or cannot accept."""


@dataclass(frozen=True)
class ParameterSpec:
    """One node parameter: a perception :class:`~deepsort_ros.perception.Param` plus what only ROS adds.

    The Param holds the default, type, description, range and choices; the ROS name is ``prefix`` then
    ``param.name``, so backend and tracker settings keep their config-dict keys as Param names.

    Attributes
    ----------
    param : Param
        Its name, default, kind (bool, int, float, str or list of strings), description (shown by
        ``ros2 param describe``), range (numbers) and choices (strings).
    read_only : bool
        Fixed after start (models, backends, subscriptions).
    prefix : str
        What the ROS name puts before ``param.name``, e.g. ``tracker.`` or ``detector.motion.``; empty for
        the node's own parameters, whose Param names are their full ROS names.
    """

    param: Param
    read_only: bool = False
    prefix: str = ""

    @property
    def name(self) -> str:
        """Full ROS name, e.g. ``tracker.max_age``."""
        return self.prefix + self.param.name

    @property
    def default(self) -> Any:
        """The declared default; None declares the parameter unset (optional list or string)."""
        # ROS cannot declare an empty array with a type; an unset STRING_ARRAY stands for "empty".
        if self.param.kind is list and not self.param.default:
            return None
        return self.param.default

    def descriptor(self) -> ParameterDescriptor:
        """The ParameterDescriptor declared with this parameter."""
        param = self.param
        descriptor = ParameterDescriptor(name=self.name, type=_ROS_TYPES[param.kind], read_only=self.read_only)
        description = param.description
        if param.choices is not None and param.kind is str:
            description += f" [{' | '.join(map(str, param.choices))}]"
            descriptor.additional_constraints = "one of: " + ", ".join(map(str, param.choices))
        descriptor.description = description
        if param.range is not None and param.kind is float:
            descriptor.floating_point_range = [FloatingPointRange(
                from_value=_finite(param.range[0], -1e308), to_value=_finite(param.range[1], 1e308), step=0.0)]
        elif param.range is not None and param.kind is int:
            descriptor.integer_range = [IntegerRange(
                from_value=int(max(param.range[0], -_INT64_MAX)), to_value=int(min(param.range[1], _INT64_MAX)),
                step=1)]
        return descriptor

    def type_problem(self, value: Any) -> str | None:
        """Why ``value`` has the wrong type for this parameter, or None."""
        kind = self.param.kind
        if kind is list:
            ok = isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, kind)
        if ok:
            return None
        expected = {bool: "a bool", int: "an integer", float: "a double", str: "a string",
                    list: "a list of strings"}[kind]
        hint = f" (write {float(value)!r})" if kind is float and isinstance(value, int) else ""
        return f"{self.name}={value!r} must be {expected}{hint}"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not allowed, or None when it is (types are enforced by ROS already)."""
        problem = None if value is None else self.param.bounds_problem(value)
        return f"{self.name}={value!r} {problem}" if problem else None


def _finite(value: float, fallback: float) -> float:
    return fallback if value is None or math.isinf(value) else float(value)


def node_specs() -> list[ParameterSpec]:
    """Parameters of the node itself (transport, backends, publishing), independent of the backends."""
    return [
        ParameterSpec(Param(AUTOSTART, True, bool, "Configure and activate at start (ros2 run, launch); false: "
                            "wait unconfigured for a lifecycle manager (lifecycle_msgs ChangeState on "
                            "~/change_state)"), read_only=True),
        ParameterSpec(Param("image_transport", "raw", str, "Image input: 'raw' subscribes image "
                            "(sensor_msgs/Image), 'compressed' subscribes image/compressed "
                            "(sensor_msgs/CompressedImage)", choices=("raw", "compressed")), read_only=True),
        ParameterSpec(Param("qos.reliability", "best_effort", str, "Reliability of the image and detections "
                            "subscriptions: best_effort (sensor data, cameras) or reliable (bag replay)",
                            choices=("best_effort", "reliable")), read_only=True),
        ParameterSpec(Param("qos.depth", 1, int, "Queue depth of the image and detections subscriptions (the "
                            "node always processes the newest frame)", range=(1, 1000)), read_only=True),
        ParameterSpec(Param("detector.backend", "motion", str, "Detector: ultralytics (YOLO weights in "
                            "detector.model), motion (background subtraction, no weights, fixed camera) or "
                            "external (track vision_msgs/Detection2DArray from the detections topic)",
                            choices=("ultralytics", "motion", "external")), read_only=True),
        ParameterSpec(Param("detector.model", "", str, "Detector weights file (ultralytics .pt/.onnx/.engine); "
                            "unused by the motion and external backends"), read_only=True),
        ParameterSpec(Param("detector.device", "auto", str, "Where the detector runs: auto, cpu, cuda or "
                            "cuda:N"), read_only=True),
        ParameterSpec(Param("detector.confidence", 0.25, float, "Detector score threshold (ultralytics); tracks "
                            "use tracker.min_score and tracker.high_score on top", range=(0.0, 1.0)),
                      read_only=True),
        ParameterSpec(Param("detector.classes", None, list, "Class names or indices to detect, e.g. ['person', "
                            "'car']; unset: all classes"), read_only=True),
        ParameterSpec(Param("reid.backend", "histogram", str, "Appearance features: torch (ReID weights in "
                            "reid.model), onnx (reid.model), histogram (colour histograms, no weights) or none "
                            "(motion only)", choices=("torch", "onnx", "histogram", "none")), read_only=True),
        ParameterSpec(Param("reid.model", "", str, "ReID weights file or architecture for the torch and onnx "
                            "backends"), read_only=True),
        ParameterSpec(Param("reid.device", "auto", str, "Where the ReID network runs: auto, cpu, cuda or "
                            "cuda:N"), read_only=True),
        ParameterSpec(COLOUR_WEIGHT, read_only=True, prefix="reid."),  # the torch and onnx backends'
        ParameterSpec(Param("motion_compensation", False, bool, "Estimate camera motion between frames and warp "
                            "the tracks with it (moving robots)"), read_only=True),
        ParameterSpec(Param("publish_annotated", True, bool, "Publish tracks/image (drawn only while someone "
                            "subscribes)")),
        ParameterSpec(Param("annotation.trail_length", 30, int, "Points in each track's trail on tracks/image "
                            "(0: no trails)", range=(0, 1000))),
        ParameterSpec(Param("class_id_format", "name", str, "What results[0].hypothesis.class_id holds in "
                            "tracks: the class name or the class index as a decimal string",
                            choices=("name", "index"))),
        ParameterSpec(Param("sync.queue_size", 30, int, "External mode: images and detection arrays kept while "
                            "waiting for their partner with the same stamp", range=(1, 1000)), read_only=True),
        ParameterSpec(Param("time_jump_reset_s", 1.0, float, "A stamp this many seconds older than the previous "
                            "one (a bag replay restarting) starts new tracks instead of being skipped as out of "
                            "order; 0: always skip", range=(0.0, 1e6))),
        ParameterSpec(Param("diagnostics.warn_drop_ratio", 0.5, float, "Diagnostics turn WARN when more than "
                            "this fraction of the input frames of the last second was dropped (the node falls "
                            "behind)", range=(0.0, 1.0))),
        ParameterSpec(Param("diagnostics.input_timeout_s", 2.0, float, "Diagnostics turn WARN after this many "
                            "seconds without input, and ERROR when input keeps coming but no frame finishes "
                            "for this long; 0: never", range=(0.0, 1e6))),
    ]


# What a TrackerConfig setting means in the node, where that differs from the library (the node gives every
# frame a timestamp).
NODE_NOTES = {
    "max_age": "; no effect in tracker_node while max_age_s > 0 (every frame has a stamp, so max_age_s decides)",
}


def _preset_note(name: str) -> str:
    """`` [detector.backend motion: 0.4; reid.backend histogram: 0.8]``: each detector and embedder whose
    tracker preset sets field ``name`` (where both set it, the detector's wins)."""
    notes = [f"{prefix}.backend {backend}: {preset[name]}"
             for prefix, presets in (("detector", DETECTOR_TRACKER_SETTINGS), ("reid", EMBEDDER_TRACKER_SETTINGS))
             for backend, preset in presets.items() if name in preset]
    return f" [{'; '.join(notes)}]" if notes else ""


def tracker_specs(detector_backend: str | None = None, reid_backend: str | None = None) -> list[ParameterSpec]:
    """``tracker.*`` parameters, one per TrackerConfig field (bool choices are left to the ROS type).

    Parameters
    ----------
    detector_backend, reid_backend : str, optional
        Whose tracker preset (``perception.tracker_preset``: the detector's over the embedder's) replaces
        the TrackerConfig defaults; None for both keeps those (the documented defaults, whose descriptions
        name every preset's value).
    """
    defaults = TrackerConfig.from_dict(tracker_preset(detector_backend, reid_backend)).to_dict()
    specs = []
    for field in TrackerConfig.field_specs():
        kind = {"bool": bool, "int": int, "float": float, "str": str}[field["type"]]
        choices = field.get("choices") if kind is not bool else None
        # Settings the Tracker reads only when built would need a new tracker (losing every track) to
        # change, so they are fixed after start.
        description = field["description"] + NODE_NOTES.get(field["name"], "") + _preset_note(field["name"])
        param = Param(field["name"], defaults[field["name"]], kind, description,
                      range=field.get("range"), choices=choices)
        specs.append(ParameterSpec(param, read_only=field["build_time"], prefix="tracker."))
    return specs


def declare(node: Any, specs: Sequence[ParameterSpec]) -> dict[str, Any]:
    """Declare every spec on ``node`` and return the effective values (overrides applied).

    ``node`` is created with ``automatically_declare_parameters_from_overrides=True``, so every override
    (``-p``, parameter files) is already declared as given: it is checked here first (one plain sentence
    instead of rclpy's exception text), then declared again with its spec's type, range and description.
    Parameters already declared with their spec (a lifecycle node configured a second time) keep their
    current values, which are checked again.

    Raises
    ------
    ParameterError
        One line naming the parameter and the problem: wrong type, or a value outside its range or
        choices.
    """
    values = {}
    for spec in specs:
        if node.has_parameter(spec.name):
            if node.describe_parameter(spec.name).description == spec.descriptor().description:
                values[spec.name] = node.get_parameter_or(spec.name).value  # None: declared unset
                problem = spec.problem(values[spec.name])
                if problem:
                    raise ParameterError(f"bad parameter {problem}")
                continue
            override = node.get_parameter(spec.name).value
            problem = spec.type_problem(override) or spec.problem(override)
            if problem:
                raise ParameterError(f"bad parameter {problem}")
            node.undeclare_parameter(spec.name)
        default = _UNSET_TYPES[spec.param.kind] if spec.default is None else spec.default
        try:
            parameter = node.declare_parameter(spec.name, default, spec.descriptor())
        except ParameterException as error:
            raise ParameterError(f"bad parameter {spec.name}: {' '.join(str(error).split())}") from None
        values[spec.name] = parameter.value
        problem = spec.problem(parameter.value)
        if problem:
            raise ParameterError(f"bad parameter {problem}")
    return values


def check_overrides_declared(node: Any, declared: Collection[str]) -> None:
    """Raise ParameterError for overrides (``-p`` or parameter files) of parameters the node does not have.

    ``node`` declares every override by itself (see :func:`declare`); those that are neither in
    ``declared`` (what :func:`declare` returned) nor rclpy's own are typos, which rclpy would otherwise
    keep without a word.
    """
    names = node.list_parameters([], 0).names  # depth 0: every parameter
    unknown = sorted(name for name in names if name not in declared and name not in RCLPY_PARAMETERS
                     and not name.startswith("qos_overrides."))
    if unknown:
        close = sorted({name for name in declared if name.rsplit(".", 1)[-1] in
                        {u.rsplit(".", 1)[-1] for u in unknown}})
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ParameterError(f"unknown parameter(s) {', '.join(unknown)}{hint}")


def tracker_config(values: Mapping[str, Any]) -> TrackerConfig:
    """The TrackerConfig the ``tracker.*`` entries of ``values`` describe (validated)."""
    return TrackerConfig.from_dict({name[len("tracker."):]: value for name, value in values.items()
                                    if name.startswith("tracker.")})


def check_change(specs: Mapping[str, ParameterSpec], values: Mapping[str, Any],
                 changes: Mapping[str, Any]) -> str | None:
    """Why a run-time change must be rejected, or None when it can be applied.

    Parameters
    ----------
    specs : mapping
        Parameter name -> spec.
    values : mapping
        Current values.
    changes : mapping
        Requested new values by name.
    """
    for name, value in changes.items():
        spec = specs.get(name)
        if spec is None:
            return f"{name} is not a parameter of this node"
        if spec.read_only:
            return f"{name} is read-only (set it at start)"
        problem = spec.problem(value)
        if problem:
            return problem
    if any(name.startswith("tracker.") for name in changes):
        try:
            tracker_config({**values, **changes})
        except ValueError as error:
            return str(error)
    return None
