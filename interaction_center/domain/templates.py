"""Canned responses' templates: text with ``{{field}}`` places filled from the customer
record, the agent and the interaction (``{{customer.name|there}}``: "there" when the
customer has no name on record). A template naming a field that does not exist is refused
where it is written (configuration, API), never filled with nothing at send time."""

from __future__ import annotations

import re
from collections.abc import Mapping

FIELDS = ("customer.name", "customer.phone", "customer.email", "agent.name", "queue")
_PLACE = re.compile(r"\{\{\s*([^}|]*?)\s*(?:\|([^}]*))?\}\}")


def problem(text: str) -> str | None:
    """Why ``text`` is not a template, or None."""
    for match in _PLACE.finditer(text):
        if match.group(1) not in FIELDS:
            return f"{{{{{match.group(1)}}}}} is not a field: use {', '.join(FIELDS)}"
    return None


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every place filled: the value, else the place's fallback, else nothing."""
    return _PLACE.sub(lambda m: values.get(m.group(1)) or (m.group(2) or "").strip(), text)
