"""Storage rows and routing's records in the wire format's shapes (``domain/wire.py``):
the REST bodies the services return, and the agents' frames made from rows. The domain
may not import storage or routing, so what is made from them is made here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from interaction_center.domain.model import Direction
from interaction_center.domain.stamps import to_datetime
from interaction_center.domain.wire import (
    AgentBody,
    AuditBody,
    AuditEntryBody,
    ChatLine,
    ColleagueBody,
    CustomerBody,
    CustomersBody,
    DirectoryBody,
    EventBody,
    FloorAgentBody,
    HelloFrame,
    IdentityBody,
    InteractionBody,
    LoginBody,
    LogPlace,
    LogPositions,
    MeBody,
    MessageBody,
    MonitorMode,
    NewMessageFrame,
    OfferFrame,
    Preview,
    QueuesBody,
    SessionBody,
    StatusFrame,
    WaitingBody,
    WorkItemBody,
    WrapUpBody,
)
from routing import QueueEntry, QueueStats
from storage.models import Agent, Message
from storage.pushes import OpenOffer
from storage.rows import (
    CustomerFields,
    EventFields,
    IdentityFields,
    InteractionFields,
    MergeFields,
    MessageFields,
    Stamp,
)
from storage.tallies import Tally
from storage.work import WorkRow

PREVIEW_CHARS = 160


def _at(value: Stamp) -> str:
    """A time's text, which a desk read's row holds already (storage.rows)."""
    return value if isinstance(value, str) else value.isoformat()


def _when(value: Stamp | None) -> str | None:
    return None if value is None else _at(value)


def agent(row: Agent) -> AgentBody:
    return {
        "id": row.id,
        "username": row.username,
        "display_name": row.display_name,
        "role": row.role,
        "status": row.status,
        "status_reason": row.status_reason,
        "status_changed_at": row.status_changed_at.isoformat(),
        "queues": row.queues,
        "skills": row.skills,
        "capacity": row.capacity,
        "phone": row.phone,
        "active": row.active,
    }


def floor_agent(row: Agent, occupancy: float | None) -> FloorAgentBody:
    return {**agent(row), "occupancy": occupancy}


def directory(rows: Sequence[Agent]) -> DirectoryBody:
    colleagues: list[ColleagueBody] = [
        {
            "id": row.id,
            "username": row.username,
            "display_name": row.display_name,
            "status": row.status,
            "queues": row.queues,
        }
        for row in rows
    ]
    return {"agents": colleagues}


def audit(rows: Sequence[Mapping[str, Any]], limit: int) -> AuditBody:
    entries: list[AuditEntryBody] = [
        {
            "id": row["id"],
            "at": row["at"].isoformat(),
            "actor_id": row["actor_id"],
            "actor_role": row["actor_role"],
            "action": row["action"],
            "target": row["target"],
            "status": row["status"],
            "detail": row["detail"],
            "address": row["address"],
        }
        for row in rows
    ]
    return {"entries": entries, "next_before": entries[-1]["id"] if len(entries) == limit else None}


def work_item(row: WorkRow) -> WorkItemBody:
    i, latest = row.interaction, row.latest
    return {
        "id": i.id,
        "channel": i.channel,
        "state": i.state,
        "queue": i.queue,
        "priority": i.priority,
        "customer_id": i.customer_id,
        "customer_name": row.customer_name,
        "unread": row.unread,
        "latest_message": None
        if latest is None
        else {"direction": latest.direction, "body": latest.body[:PREVIEW_CHARS], "at": _at(latest.created_at)},
        "transfer_note": i.transfer_note,
        "parked_until": _when(i.parked_until),
        "disposition": i.disposition,
        "closed_at": _when(i.closed_at),
        # The mode was written by CallControl.monitor: one of MONITOR_MODES.
        "monitor": None
        if row.monitor is None
        else {"supervisor_id": row.monitor.supervisor_id, "mode": cast(MonitorMode, row.monitor.mode)},
    }


def page_cursor(at: Stamp | None, row_id: str) -> str:
    """Where the next page of a list newest first starts: after the row (``at``, ``row_id``).
    Its time is written with "Z", not "+00:00", whose "+" a query string would read as a
    space."""
    assert at is not None
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return f"{moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}|{row_id}"


def waiting(queue: str, entries: Sequence[QueueEntry]) -> WaitingBody:
    return {
        "queue": queue,
        "waiting": [
            {
                "interaction_id": e.interaction_id,
                "channel": e.channel,
                "priority": e.priority,
                "enqueued_at": to_datetime(e.enqueued_at).isoformat(),
                "preferred_agent_id": e.preferred_agent,
                "sla_breached": e.breached,
            }
            for e in entries
        ],
    }


def me(row: Agent, wrap_up_until: float | None) -> MeBody:
    return {**agent(row), "wrap_up_until": None if wrap_up_until is None else to_datetime(wrap_up_until).isoformat()}


def wrap_up(until: float) -> WrapUpBody:
    return {"wrap_up_until": to_datetime(until).isoformat()}


def login(token: str, expires_at: datetime, row: Agent) -> LoginBody:
    return {"token": token, "expires_at": expires_at.isoformat(), "agent": agent(row)}


def session(row: Agent | None) -> SessionBody:
    return {"agent": None if row is None else agent(row)}


def message(row: MessageFields) -> MessageBody:
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
        "created_at": _at(row.created_at),
    }


def event(row: EventFields) -> EventBody:
    return {
        "id": row.id,
        "type": row.type,
        "actor": {"kind": row.actor_kind, "id": row.actor_id},
        "at": _at(row.created_at),
        "data": row.data,
    }


def interaction(
    row: InteractionFields, messages: Sequence[MessageFields] = (), events: Sequence[EventFields] = ()
) -> InteractionBody:
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
        "transfer_note": row.transfer_note,
        "parked_until": _when(row.parked_until),
        "created_at": _at(row.created_at),
        "closed_at": _when(row.closed_at),
        "messages": [message(m) for m in messages if m.interaction_id == row.id],
        "events": [event(e) for e in events if e.interaction_id == row.id],
    }


def interactions_of(
    rows: Sequence[InteractionFields], messages: Sequence[MessageFields], events: Sequence[EventFields]
) -> list[InteractionBody]:
    """Each interaction with its own messages and events, sorted out by interaction in one
    pass over each: matching every interaction against every row made the record of a
    customer with 200 interactions cost half a second of CPU."""
    by_message, by_event = _by_interaction(messages), _by_interaction(events)
    return [interaction(row, by_message.get(row.id, ()), by_event.get(row.id, ())) for row in rows]


_OfInteraction = TypeVar("_OfInteraction", MessageFields, EventFields)


def _by_interaction(rows: Sequence[_OfInteraction]) -> dict[str, list[_OfInteraction]]:
    grouped: dict[str, list[_OfInteraction]] = {}
    for row in rows:
        grouped.setdefault(row.interaction_id, []).append(row)
    return grouped


def customer(
    row: CustomerFields,
    identities: Sequence[IdentityFields],
    interactions: Sequence[InteractionFields],
    messages: Sequence[MessageFields],
    events: Sequence[EventFields],
    merges: Sequence[MergeFields] = (),
    next_before: str | None = None,
) -> CustomerBody:
    return {
        "id": row.id,
        "display_name": row.display_name,
        "created_at": row.created_at.isoformat(),
        "merged_into": row.merged_into,
        "identities": _identities(identities),
        "interactions": interactions_of(interactions, messages, events),
        "next_before": next_before,
        "merges": [
            {
                "id": m.id,
                "from_id": m.from_id,
                "merged_by": m.merged_by,
                "merged_at": m.merged_at.isoformat(),
                "unmerged_at": _when(m.unmerged_at),
            }
            for m in merges
        ],
    }


def _identities(rows: Sequence[IdentityFields]) -> list[IdentityBody]:
    return [{"kind": i.kind, "value": i.value, "opted_out_at": _when(i.opted_out_at)} for i in rows]


def customers(rows: Sequence[CustomerFields], identities: Sequence[IdentityFields]) -> CustomersBody:
    return {
        "customers": [
            {
                "id": row.id,
                "display_name": row.display_name,
                "identities": _identities([i for i in identities if i.customer_id == row.id]),
            }
            for row in rows
        ]
    }


def queues(
    live: Sequence[QueueStats], today: Mapping[tuple[str, str], Tally], targets: Mapping[tuple[str, str], int]
) -> QueuesBody:
    """Per queue and channel: what waits and who is there from the engine, the day's
    counts from storage; a queue and channel with counts today and nothing live (a queue
    since taken out of the configuration) is listed with its counts. ``targets``: the answer
    target in seconds per queue and channel that has one."""
    listed = {(s.queue, s.channel) for s in live}
    gone = [QueueStats(queue, channel, 0, 0.0, {}, None) for queue, channel in sorted(today.keys() - listed)]
    body: QueuesBody = {"queues": []}
    for s in [*live, *gone]:
        counted = today.get((s.queue, s.channel)) or Tally()
        body["queues"].append(
            {
                "queue": s.queue,
                "channel": s.channel,
                "waiting": s.waiting,
                "longest_wait_seconds": round(s.longest_wait_seconds, 3),
                "answer_target_seconds": targets.get((s.queue, s.channel)),
                "answered": counted.answered,
                "answered_within_target": counted.answered_within_target,
                "service_level": counted.service_level,
                "average_speed_of_answer_seconds": counted.average_speed_of_answer_seconds,
                "abandoned": counted.abandoned,
                "abandoned_after_target": counted.abandoned_after_target,
                "short_abandoned": counted.short_abandoned,
                "sla_breaches": counted.sla_breaches,
                "first_response_breaches": counted.first_response_breaches,
                "agents": s.agents,
                "occupancy": s.occupancy,
            }
        )
    return body


def chat_history(rows: Sequence[MessageFields]) -> list[ChatLine]:
    """The conversation as its chat visitor sees it."""
    return [
        {
            "message_id": m.id,
            "from": "customer" if m.direction == Direction.INBOUND else "agent",
            "client_id": m.attributes.get("client_id"),
            "body": m.body,
            "files": [{"filename": f["filename"], "size": f["size"]} for f in m.attributes.get("attachments", ())],
            "at": _at(m.created_at),
        }
        for m in rows
    ]


def hello_frame(row: Agent, offers: list[InteractionBody], log: LogPositions | None, *, resumed: bool) -> HelloFrame:
    return {"type": "hello", "agent": agent(row), "offers": offers, "log": log, "resumed": resumed}


def offer_frame(interaction_id: str, offer: OpenOffer, latest: tuple[str, str] | None, log: LogPlace) -> OfferFrame:
    """``latest``: the sender and body of the interaction's last inbound message."""
    preview: Preview = {} if latest is None else {"from": latest[0], "body": latest[1][:PREVIEW_CHARS]}
    return {
        "type": "offer",
        "offer_id": offer.offer_id,
        "interaction_id": interaction_id,
        "channel": offer.channel,
        "queue": offer.queue,
        "priority": offer.priority,
        "expires_at": offer.expires_at.isoformat(),
        "preview": preview,
        "transfer_note": offer.transfer_note,
        "log": log,
    }


def status_frame(status: str, reason: str | None, log: LogPlace) -> StatusFrame:
    return {"type": "status", "status": status, "reason": reason, "log": log}


def new_message_frame(row: Message, log: LogPlace) -> NewMessageFrame:
    return {"type": "message", "interaction_id": row.interaction_id, "message": message(row), "log": log}
