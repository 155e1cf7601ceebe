"""Routing fed from the event log: every interaction intake committed as queued reaches
the engine from its ``queued`` event, after the sender has had its answer. Routing never
runs inside a request, and a failure to route is retried (``LogConsumer``) until the
interaction is in its queue, without waiting for a restart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from interaction_center.dispatch.consumer import LogConsumer
from interaction_center.dispatch.dispatcher import Dispatcher
from storage import events
from storage import intake_rows as rows
from storage.events import LoggedEvent
from storage.writer import Writer

CONSUMER = "routing"
# What routing reads of the log: an interaction joining its queue.
QUEUED = frozenset({"queued"})


@dataclass(frozen=True, slots=True)
class Waiting:
    """A queued interaction's routing fields, as stored."""

    id: str
    queue: str
    channel: str
    created_at: datetime
    enqueued_at: datetime | None
    priority: int
    required_skills: dict[str, int]
    answer_deadline: datetime | None
    preferred_agent_id: str | None
    preferred_until: datetime | None
    escalation_level: int
    sla_breached_at: datetime | None


def _still_queued(conn: Connection, read: Sequence[LoggedEvent]) -> list[Waiting]:
    """Of the interactions queued by these events, the ones still queued, in event order
    (an interaction offered or closed since is routing's already, or nobody's)."""
    queued = [event.subject for event in read if event.type == "queued"]
    found = {row["id"]: Waiting(**row) for row in rows.routing_fields(conn, queued)}
    return [found[interaction_id] for interaction_id in queued if interaction_id in found]


def routing_feed(writer: Writer, dispatcher: Dispatcher) -> LogConsumer[list[Waiting]]:
    async def enqueue(waiting: list[Waiting]) -> None:
        if waiting:
            await dispatcher.enqueue(waiting)

    # Started after routing is rebuilt from storage, which holds everything before the head.
    return LogConsumer(CONSUMER, events.INTERACTIONS, QUEUED, writer, _still_queued, enqueue, from_head=True)
