"""What a queue's policy makes of an interaction that starts to wait in it: its place,
priority, required skills, answer and first-response deadlines, and the agent a returning
customer is kept for. One rule for a contact queued as it arrives and for one its channel
queues later (a call at the end of its IVR flow)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from interaction_center.domain.model import Channel
from interaction_center.settings.model import QueueSettings

# An interaction that waits nowhere (filed, or held by its channel for now).
NOT_WAITING: Mapping[str, Any] = {
    "enqueued_at": None,
    "priority": 0,
    "escalation_level": 0,
    "sla_breached_at": None,
    "required_skills": {},
    "answer_deadline": None,
    "first_response_deadline": None,
    "preferred_agent_id": None,
    "preferred_until": None,
}


def waiting_values(
    queue: str,
    policy: QueueSettings,
    channel: Channel,
    now: datetime,
    last_agent: str | None,
    *,
    skills: Mapping[str, int] | None = None,
    priority: int = 0,
) -> dict[str, Any]:
    """The columns of an interaction that starts waiting in ``queue`` at ``now``; ``skills``
    and ``priority`` add to the queue's own (what a caller chose in the IVR)."""
    target = policy.sla.get(channel)
    first_response = None if target is None else target.first_response_seconds
    preferred = last_agent if policy.preferred_agent_seconds > 0 else None
    return {
        "queue": queue,
        "enqueued_at": now,
        "priority": policy.priority + priority,
        "escalation_level": 0,
        "sla_breached_at": None,
        "required_skills": {**policy.skills, **(skills or {})},
        "answer_deadline": None if target is None else now + timedelta(seconds=target.answer_seconds),
        "first_response_deadline": None if first_response is None else now + timedelta(seconds=first_response),
        "preferred_agent_id": preferred,
        "preferred_until": None if preferred is None else now + timedelta(seconds=policy.preferred_agent_seconds),
    }


def queued_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """What the ``queued`` event says of the wait ``values`` describe."""
    deadline = values["answer_deadline"]
    return {"queue": values["queue"], "answer_deadline": None if deadline is None else deadline.isoformat()}
