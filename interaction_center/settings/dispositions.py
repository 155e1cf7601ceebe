"""``[dispositions]``: the codes an agent completes an interaction with, each
``{label, complaint, note_required}``; a queue's ``dispositions`` list names the ones its
interactions take (all of them when it names none)."""

from __future__ import annotations

import re
from typing import Any

from interaction_center.settings.model import DEFAULT_DISPOSITIONS, Disposition, QueueSettings
from interaction_center.settings.roster import Problem

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")
_KEYS = {"label", "complaint", "note_required"}


def dispositions(problem: Problem, table: Any) -> dict[str, Disposition]:
    if table is None:
        return dict(DEFAULT_DISPOSITIONS)
    if not isinstance(table, dict) or not table:
        problem("dispositions", "must be a table of code = {label, complaint, note_required}, at least one")
        return dict(DEFAULT_DISPOSITIONS)
    found: dict[str, Disposition] = {}
    for code, spec in table.items():
        key = f"dispositions.{code}"
        if not _CODE.fullmatch(code):
            problem(key, "a code is 1-50 lowercase letters, digits, _ or -, starting with a letter or digit")
            continue
        if not isinstance(spec, dict) or set(spec) - _KEYS:
            problem(key, f"must be a table of {', '.join(sorted(_KEYS))}")
            continue
        label = spec.get("label", code)
        complaint, note_required = spec.get("complaint", False), spec.get("note_required", False)
        if not isinstance(label, str) or not label.strip() or len(label) > 100:
            problem(f"{key}.label", "must be a non-empty string of at most 100 characters")
        elif not isinstance(complaint, bool) or not isinstance(note_required, bool):
            problem(key, "complaint and note_required are true or false")
        else:
            found[code] = Disposition(code, label, complaint, note_required)
    return found


def check_queues(problem: Problem, queues: dict[str, QueueSettings], known: dict[str, Disposition]) -> None:
    for name, queue in queues.items():
        for index, code in enumerate(queue.dispositions):
            if code not in known:
                problem(f"queues.{name}.dispositions[{index}]", f"no disposition {code!r} in [dispositions]")
