"""``[[webhooks]]``: where the event log's events are posted as they happen, each
``{name, url, secret, events, timeout_seconds, retry_seconds}``."""

from __future__ import annotations

import re
from typing import Any

from interaction_center.settings.model import WebhookSettings
from interaction_center.settings.roster import Problem, tables

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
_EVENT = re.compile(r"[a-z][a-z_]{0,49}")
_KEYS = {"name", "url", "secret", "events", "timeout_seconds", "retry_seconds"}
MIN_SECRET = 16


def webhooks(problem: Problem, items: Any) -> tuple[WebhookSettings, ...]:
    found: list[WebhookSettings] = []
    for key, spec in tables(problem, "webhooks", items, _KEYS):
        why = _problem(spec)
        if why is None and any(w.name == spec["name"] for w in found):
            why = f"name: {spec['name']!r} is used twice"
        if why is not None:
            problem(key, why)
            continue
        found.append(
            WebhookSettings(
                spec["name"],
                spec["url"],
                spec["secret"],
                tuple(spec["events"]),
                float(spec.get("timeout_seconds", 10.0)),
                float(spec.get("retry_seconds", 1.0)),
            )
        )
    return tuple(found)


def _problem(spec: dict[str, Any]) -> str | None:
    name, url, secret, events = spec.get("name"), spec.get("url"), spec.get("secret"), spec.get("events")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return "name: 1-50 lowercase letters, digits, _ or -"
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return "url: an http:// or https:// URL"
    if not isinstance(secret, str) or len(secret) < MIN_SECRET:
        return f"secret: at least {MIN_SECRET} characters, shared with the receiver only"
    if (
        not isinstance(events, list)
        or not events
        or not all(isinstance(e, str) and _EVENT.fullmatch(e) for e in events)
    ):
        return 'events: the event types to send, e.g. ["queued", "accepted", "completed"]'
    for field in ("timeout_seconds", "retry_seconds"):
        value = spec.get(field, 1.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
            return f"{field}: a number of seconds above 0, at most 3600"
    return None
