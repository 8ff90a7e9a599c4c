"""Settings dataclasses that describe themselves: every field carries its description and either a range or
choices, so one definition serves validation, the command-line tools and the ROS node's parameters
(:class:`~deepsort_ros.core.config.TrackerConfig`, :class:`~deepsort_ros.core.spatial_estimator.SpatialConfig`).
"""
from __future__ import annotations

from dataclasses import MISSING, field, fields
from typing import Any


def setting(default: Any, description: str, *, range: tuple | None = None, choices: tuple | None = None,
            build_time: bool = False):
    """A dataclass field carrying ``description`` and either ``range`` (inclusive) or ``choices``.

    ``build_time`` marks settings copied into an object (a Kalman filter, an appearance memory) when it is
    built: changing them later has no effect without a new one (the ROS node makes them read-only).
    """
    metadata: dict[str, Any] = {"description": description, "build_time": build_time}
    if range is not None:
        metadata["range"] = range
    if choices is not None:
        metadata["choices"] = choices
    return field(default=default, metadata=metadata)


def check_settings(config: Any, what: str) -> None:
    """Check every field of the dataclass instance ``config`` against its type, range and choices (ints given
    for float fields become floats).

    Raises
    ------
    ValueError
        ``"{what} setting NAME=VALUE: ..."`` naming what is allowed.
    """
    for spec in fields(config):
        value = getattr(config, spec.name)
        expected = type(spec.default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
            setattr(config, spec.name, value)
        if type(value) is not expected:
            raise ValueError(f"{what} setting {spec.name}={value!r}: expected {expected.__name__}")
        if "choices" in spec.metadata and value not in spec.metadata["choices"]:
            raise ValueError(f"{what} setting {spec.name}={value!r}: allowed {spec.metadata['choices']}")
        if "range" in spec.metadata:
            low, high = spec.metadata["range"]
            if not low <= value <= high:
                raise ValueError(f"{what} setting {spec.name}={value!r}: allowed range [{low}, {high}]")


def check_known(cls: type, values: dict[str, Any], what: str) -> None:
    """Raise ValueError naming the keys of ``values`` that are not fields of the dataclass ``cls``."""
    known = {spec.name for spec in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown {what} settings {unknown}; known: {sorted(known)}")


def field_specs(cls: type) -> list[dict[str, Any]]:
    """``name, type, default, description, build_time`` and ``range`` or ``choices`` of every field of ``cls``."""
    return [{"name": spec.name, "type": type(spec.default).__name__, "default": spec.default, **spec.metadata}
            for spec in fields(cls) if spec.default is not MISSING]
