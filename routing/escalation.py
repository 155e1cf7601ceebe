"""A queue's escalation steps: when an entry's next one falls due, and what it makes of the
entry."""

from __future__ import annotations

import dataclasses

from routing.types import QueueEntry, QueuePolicy


def next_step_due(policy: QueuePolicy, entry: QueueEntry) -> float | None:
    """When the entry's next step in its queue applies; None after the last."""
    if entry.escalations_done >= len(policy.escalation):
        return None
    return entry.escalation_start + policy.escalation[entry.escalations_done].after_seconds


def escalated(policy: QueuePolicy, entry: QueueEntry, now: float) -> QueueEntry:
    """The entry once its next step in its queue has applied."""
    step = policy.escalation[entry.escalations_done]
    overflow = step.overflow_to is not None and step.overflow_to != entry.queue
    relaxed = tuple((name, level - step.relax_skills) for name, level in entry.skills)
    return dataclasses.replace(
        entry,
        priority=entry.priority + step.raise_priority,
        skills=tuple((name, level) for name, level in relaxed if level > 0),
        queue=step.overflow_to if overflow and step.overflow_to else entry.queue,
        # A new queue has its own steps, counted from the arrival in it.
        escalations_done=0 if overflow else entry.escalations_done + 1,
        escalation_base=now if overflow else entry.escalation_base,
    )
