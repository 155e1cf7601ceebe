"""JSON shapes of the API, in one place so REST and WebSocket frames agree."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from routing import QueueStats
from storage.models import Agent, Customer, CustomerIdentity, Interaction, InteractionEvent, Message


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def agent(row: Agent) -> dict[str, Any]:
    return {
        "id": row.id,
        "username": row.username,
        "display_name": row.display_name,
        "role": row.role,
        "status": row.status,
        "status_reason": row.status_reason,
        "status_changed_at": _when(row.status_changed_at),
        "queues": row.queues,
        "skills": row.skills,
    }


def message(row: Message) -> dict[str, Any]:
    return {
        "id": row.id,
        "interaction_id": row.interaction_id,
        "channel": row.channel,
        "direction": row.direction,
        "external_id": row.external_id,
        "from": row.from_address,
        "to": row.to_address,
        "body": row.body,
        "status": row.status,
        "status_updated_at": _when(row.status_updated_at),
        "error": row.error,
        "author_agent_id": row.author_agent_id,
        "attributes": row.attributes,
        "created_at": _when(row.created_at),
    }


def event(row: InteractionEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": row.type,
        "actor": {"kind": row.actor_kind, "id": row.actor_id},
        "at": _when(row.created_at),
        "data": row.data,
    }


def interaction(
    row: Interaction, messages: Sequence[Message] = (), events: Sequence[InteractionEvent] = ()
) -> dict[str, Any]:
    return {
        "id": row.id,
        "customer_id": row.customer_id,
        "channel": row.channel,
        "state": row.state,
        "queue": row.queue,
        "enqueued_at": _when(row.enqueued_at),
        "answer_deadline": _when(row.answer_deadline),
        "assigned_agent_id": row.assigned_agent_id,
        "offer": None
        if row.offer_id is None
        else {"id": row.offer_id, "agent_id": row.offered_agent_id, "expires_at": _when(row.offer_expires_at)},
        "disposition": row.disposition,
        "created_at": _when(row.created_at),
        "closed_at": _when(row.closed_at),
        "messages": [message(m) for m in messages if m.interaction_id == row.id],
        "events": [event(e) for e in events if e.interaction_id == row.id],
    }


def customer(
    row: Customer,
    identities: Sequence[CustomerIdentity],
    interactions: Sequence[Interaction],
    messages: Sequence[Message],
    events: Sequence[InteractionEvent],
) -> dict[str, Any]:
    return {
        "id": row.id,
        "display_name": row.display_name,
        "created_at": _when(row.created_at),
        "identities": [{"kind": i.kind, "value": i.value, "opted_out_at": _when(i.opted_out_at)} for i in identities],
        "interactions": [interaction(i, messages, events) for i in interactions],
    }


def queue_stats(stats: Sequence[QueueStats], first_response_breaches: Counter[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "queue": s.queue,
            "channel": s.channel,
            "waiting": s.waiting,
            "longest_wait_seconds": round(s.longest_wait_seconds, 3),
            "answered": s.answered,
            "answered_within_target": s.answered_within_target,
            "service_level": s.service_level,
            "average_speed_of_answer_seconds": s.average_speed_of_answer_seconds,
            "abandoned": s.abandoned,
            "abandoned_after_target": s.abandoned_after_target,
            "sla_breaches": s.sla_breaches,
            "first_response_breaches": first_response_breaches[(s.queue, s.channel)],
            "agents": s.agents,
            "occupancy": s.occupancy,
        }
        for s in stats
    ]
