"""Casting one configuration value to its setting's type, strictly: a TOML value must
already have the type, and an environment string must parse as it completely."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

_INT = re.compile(r"[+-]?[0-9]+")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
STRINGS = tuple[str, ...]
# The types a flat section's keys may have (the others are tables parsed on their own).
SCALARS = (str, int, float, bool, STRINGS)


@dataclasses.dataclass(frozen=True)
class Bad:
    """Why a value could not be cast."""

    reason: str


def cast(kind: Any, value: Any, *, from_env: bool) -> Any:
    """Strict: a TOML value must already have the type; an environment string must
    parse as it completely ("10s" is not an int, "yes" is not a bool)."""
    name = getattr(kind, "__name__", str(kind))
    if kind is str:
        return value if isinstance(value, str) else Bad(f"must be a string, not {value!r}")
    if kind is int:
        if from_env:
            if not _INT.fullmatch(value):
                return Bad(f"must be a whole number, not {value!r}")
            return int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
        return value if ok else Bad(f"must be a whole number, not {value!r}")
    if kind is float:
        if from_env:
            if not _NUMBER.fullmatch(value):
                return Bad(f"must be a number, not {value!r}")
            return float(value)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else Bad(f"must be a number, not {value!r}")
    if kind is bool:
        if from_env:
            flag = _BOOLEANS.get(value.strip().lower())
            return Bad(f"must be true or false, not {value!r}") if flag is None else flag
        return value if isinstance(value, bool) else Bad(f"must be true or false, not {value!r}")
    if kind == STRINGS:
        # The environment lists items separated by commas.
        items = [item.strip() for item in value.split(",") if item.strip()] if from_env else value
        ok = isinstance(items, list) and all(isinstance(item, str) for item in items)
        return tuple(items) if ok else Bad(f"must be a list of strings, not {value!r}")
    raise TypeError(f"no cast for {name}")  # a settings field of a type this loader lacks
