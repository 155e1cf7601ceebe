"""An email or SMS its agent set aside (on hold, snoozed) coming back to routing. One rule
for the three ways back: the customer answers (``intake.batch``), the snooze ends or the
agent takes it up again (``desk.parking``). It is queued afresh, reserved for the agent
who parked it for ``routing.hold_return_seconds``, then anyone in its queue may take it.

The change is written with a ``queued`` event, which is how routing hears of it (the
log's routing feed), exactly as of a new contact."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from interaction_center.domain.model import Actor, Channel, InteractionState
from interaction_center.intake.waiting import queued_data, waiting_values
from interaction_center.settings.model import Settings
from storage import intake_rows as rows
from storage.intake_rows import OpenThread
from storage.interactions import event_row, transition_data, transition_values

# Why a parked interaction came back, as its ``queued`` event says.
CUSTOMER_ANSWERED = "customer_answered"
SNOOZE_ENDED = "snooze_ended"
RESUMED = "resumed"


def returned(
    conn: Connection, parked: OpenThread, settings: Settings, reason: str, actor: Actor, now: datetime
) -> dict[str, Any] | None:
    """Queue ``parked`` again, on condition of the version it was read at; its ``queued``
    event for the caller to insert with its others, or None when it changed meanwhile
    (another way back got there first)."""
    queue = parked.queue
    if queue not in settings.queues:
        # Its queue left the configuration while it was parked: where its channel's new
        # conversations wait instead.
        queue = settings.channels.queue_for(Channel(parked.channel)) or next(iter(settings.queues))
    values = waiting_values(queue, settings.queues[queue], Channel(parked.channel), now, None)
    # The conversation's first response is the one it had (or still owes), not a new one.
    del values["first_response_deadline"]
    agent_id = parked.assigned_agent_id
    values |= {
        "preferred_agent_id": agent_id,
        "preferred_until": None if agent_id is None else now + timedelta(seconds=settings.routing.hold_return_seconds),
    }
    change = {
        "id": parked.interaction_id,
        "expected_version": parked.version,
        **values,
        **transition_values(parked.state, InteractionState.QUEUED, now),
        "assigned_agent_id": None,
        "parked_until": None,
        "transfer_note": None,
    }
    if not rows.update_interaction(conn, change):
        return None
    data = {**queued_data(values), "reason": reason, "agent_id": agent_id}
    queued = transition_data(parked.state, InteractionState.QUEUED, data)
    return event_row(parked.interaction_id, "queued", actor, queued, now)
