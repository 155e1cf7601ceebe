"""What the agents' live pushes (``dispatch/pushes.py``) read of the rows their events
name, by key, in the read's own transaction: so a push says what storage holds then."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from interaction_center.domain.model import Direction, InteractionState
from storage.intake_rows import INTERACTIONS, MESSAGES
from storage.models import Message
from storage.prepared import Prepared


@dataclass(frozen=True, slots=True)
class OpenOffer:
    offer_id: str
    channel: str
    queue: str
    priority: int
    expires_at: datetime
    transfer_note: str | None


_OPEN_OFFERS = Prepared(
    select(
        INTERACTIONS.c.id,
        INTERACTIONS.c.offer_id,
        INTERACTIONS.c.channel,
        INTERACTIONS.c.queue,
        INTERACTIONS.c.priority,
        INTERACTIONS.c.offer_expires_at,
        INTERACTIONS.c.transfer_note,
    ).where(
        INTERACTIONS.c.id.in_(bindparam("values", expanding=True)),
        INTERACTIONS.c.state == InteractionState.OFFERED,
        INTERACTIONS.c.offer_expires_at.is_not(None),
    )
)
_HELD_MESSAGES = Prepared(
    select(INTERACTIONS.c.assigned_agent_id, *MESSAGES.c)
    .join(INTERACTIONS, INTERACTIONS.c.id == MESSAGES.c.interaction_id)
    .where(
        MESSAGES.c.id.in_(bindparam("values", expanding=True)),
        MESSAGES.c.direction == Direction.INBOUND,
        INTERACTIONS.c.assigned_agent_id.is_not(None),
    )
)


def open_offers(conn: Connection, interaction_ids: Collection[str]) -> dict[str, OpenOffer]:
    """Of these interactions, the ones offered now, with the offer they hold."""
    rows = _OPEN_OFFERS.rows(conn, {"values": list(interaction_ids)})
    return {row[0]: OpenOffer(*row[1:]) for row in rows}


def held_messages(conn: Connection, message_ids: Collection[str]) -> dict[str, tuple[str, Message]]:
    """Of these inbound messages, the ones on an interaction an agent holds now: message
    id -> (that agent, the message)."""
    names = [column.name for column in MESSAGES.c]
    found = {}
    for agent_id, *values in _HELD_MESSAGES.rows(conn, {"values": list(message_ids)}):
        message = Message(**dict(zip(names, values, strict=True)))
        found[message.id] = (agent_id, message)
    return found
