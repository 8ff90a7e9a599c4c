"""``--config KEY=VALUE`` items of the command-line tools, turned into config dicts."""
from __future__ import annotations

import ast
from typing import Any


def parse_value(text: str) -> Any:
    """Turn a command-line value into bool, int, float, list or str (``true`` and ``False`` are bools)."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """Nest ``section.key=value`` strings into a config dict; keys without a dot stay top level
    (``motion_compensation=true`` for deepsort-track, ``max_age=60`` for deepsort-eval).

    Raises
    ------
    ValueError
        When an item has no ``=`` or an empty key.
    """
    config: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or key.startswith(".") or key.endswith("."):
            raise ValueError(f"--config {item!r}: expected KEY=VALUE")
        section, dot, name = key.partition(".")
        if dot:
            target = config.setdefault(section, {})
            if not isinstance(target, dict):
                raise ValueError(f"--config {item!r}: {section} was already given a plain value")
            target[name] = parse_value(value)
        else:
            config[key] = parse_value(value)
    return config
