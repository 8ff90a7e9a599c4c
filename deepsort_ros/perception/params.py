"""Declared parameters of the perception backends and their validation.

Every backend lists its parameters as :class:`Param` entries. The factory validates a plain config dict
against them, so the ROS node (which derives its parameters from the same lists) and the command-line
tools report a bad key or value the same way: a ``ValueError`` naming the key and what is allowed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

_TYPE_NAMES = {bool: "bool", int: "int", float: "float", str: "str", list: "list"}


@dataclass(frozen=True)
class Param:
    """One parameter: its key, default, type, description and allowed values.

    Backends list theirs; the ROS node describes every parameter it declares with one as well.

    Parameters
    ----------
    name : str
        Key in the config dict (the node's parameter name without its prefix).
    default : Any
        Value used when the key is absent. ``None`` marks an optional value with no default.
    kind : type
        ``bool``, ``int``, ``float``, ``str`` or ``list`` (a list of str or int items).
    description : str
        One line for users (also the ROS parameter description).
    range : tuple of float, optional
        Inclusive ``(low, high)`` for numbers.
    choices : tuple, optional
        Allowed values for strings.
    required : bool
        Whether the key must be given.
    """

    name: str
    default: Any
    kind: type
    description: str
    range: tuple | None = None
    choices: tuple | None = None
    required: bool = False

    def allowed(self) -> str:
        """Human-readable description of the allowed values."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.range is not None:
            return f"{_TYPE_NAMES[self.kind]} in [{self.range[0]}, {self.range[1]}]"
        if self.kind is list:
            return "a list of class names or indices"
        return _TYPE_NAMES[self.kind]

    def bounds_problem(self, value: Any) -> str | None:
        """Why ``value``, of this parameter's type, lies outside its choices or range, or None.

        Returns
        -------
        str or None
            ``"is not one of 'a', 'b'"`` or ``"is outside the allowed range [low, high]"``, to follow
            ``name=value`` in a message.
        """
        if self.choices is not None and value not in self.choices:
            return f"is not one of {', '.join(map(repr, self.choices))}"
        if self.range is not None and self.kind in (int, float) and not self.range[0] <= value <= self.range[1]:
            return f"is outside the allowed range [{self.range[0]}, {self.range[1]}]"
        return None

    def check(self, value: Any, where: str) -> Any:
        """Return ``value`` converted to this parameter's type, or raise ``ValueError``."""
        if value is None and not self.required:
            return None
        bad = ValueError(f"{where}{self.name}={value!r} is invalid: expected {self.allowed()}")
        if self.kind is bool:
            if not isinstance(value, bool):
                raise bad
        elif self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad
        elif self.kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad
            value = float(value)
            if value != value:
                raise bad
        elif self.kind is str:
            if not isinstance(value, str):
                raise bad
        elif self.kind is list:
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                raise bad
            if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
                raise bad
            value = list(value)
        if self.bounds_problem(value) is not None:
            raise bad
        return value


def validate(config: Mapping[str, Any], params: Sequence[Param], where: str) -> dict[str, Any]:
    """Check ``config`` against ``params`` and fill in defaults.

    Parameters
    ----------
    config : mapping
        User values; keys not in ``params`` are errors.
    params : sequence of Param
        The backend's declared parameters.
    where : str
        Prefix for error messages, e.g. ``"detector (motion): "``.

    Returns
    -------
    dict
        One entry per declared parameter.

    Raises
    ------
    ValueError
        Naming an unknown key (and the known ones), a missing required key, or a bad value.
    """
    if not isinstance(config, Mapping):
        raise ValueError(f"{where}config must be a dict, got {type(config).__name__}")
    by_name = {p.name: p for p in params}
    unknown = sorted(set(config) - set(by_name))
    if unknown:
        raise ValueError(f"{where}unknown key(s) {unknown}; allowed keys: {sorted(by_name)}")
    values = {}
    for p in params:
        if p.name in config:
            values[p.name] = p.check(config[p.name], where)
        elif p.required:
            raise ValueError(f"{where}missing required key {p.name!r}: {p.description}")
        else:
            values[p.name] = p.default
    return values


def check_device(device: str, where: str) -> str:
    """Validate a device string: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    ok = device in ("auto", "cpu", "cuda") or (
        device.startswith("cuda:") and device[5:].isdigit())
    if not ok:
        raise ValueError(f"{where}device={device!r} is invalid: expected 'auto', 'cpu', 'cuda' or 'cuda:N'")
    return device


DEVICE = Param("device", "auto", str, "Where the network runs: auto (first GPU if present), cpu, cuda or cuda:N.")
