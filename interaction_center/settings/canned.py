"""``[[canned]]``: the canned responses every agent has, each ``{shortcut, title, body,
queues}`` (``queues``: offered only on those queues' interactions; all when left out)."""

from __future__ import annotations

import re
from typing import Any

from interaction_center.domain import templates
from interaction_center.settings.model import CannedResponse, QueueSettings
from interaction_center.settings.roster import Problem, tables

SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,29}")
MAX_TITLE = 100
MAX_BODY = 5000
_KEYS = {"shortcut", "title", "body", "queues"}


def canned(problem: Problem, items: Any, queues: dict[str, QueueSettings]) -> tuple[CannedResponse, ...]:
    found: list[CannedResponse] = []
    for key, spec in tables(problem, "canned", items, _KEYS):
        shortcut, title, body, named = spec.get("shortcut"), spec.get("title"), spec.get("body"), spec.get("queues", [])
        why = checked(shortcut, title, body)
        if why is not None:
            problem(key, why)
        elif any(c.shortcut == shortcut for c in found):
            problem(f"{key}.shortcut", f"{shortcut!r} is used twice")
        elif not isinstance(named, list) or any(q not in queues for q in named):
            problem(f"{key}.queues", "must be a list of configured queues")
        else:
            assert isinstance(shortcut, str) and isinstance(title, str) and isinstance(body, str)
            found.append(CannedResponse(shortcut, title, body, tuple(named)))
    return tuple(found)


def checked(shortcut: Any, title: Any, body: Any) -> str | None:
    """Why these cannot make a canned response (here and over the API alike), or None."""
    if not isinstance(shortcut, str) or not SHORTCUT.fullmatch(shortcut):
        return "shortcut: 1-30 lowercase letters, digits, _ or -, starting with a letter or digit"
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        return f"title: a non-empty string of at most {MAX_TITLE} characters"
    if not isinstance(body, str) or not body.strip() or len(body) > MAX_BODY:
        return f"body: a non-empty string of at most {MAX_BODY} characters"
    return templates.problem(body)
