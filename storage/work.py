"""The reads behind an agent's work list: what is offered to them, what they hold, what
they set aside, what they completed (newest first, a page at a time), each with its
customer's name, its latest message, how many of the customer's messages came after
the last reply, and for a call the supervisor on it. Every statement is prepared once
(storage.prepared): building, keying and running them through SQLAlchemy cost the work
list more than SQLite took to run them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select
from sqlalchemy.orm import aliased

from interaction_center.domain.model import Channel, Direction, InteractionState
from storage.interactions import after
from storage.models import Customer, Interaction, Message, VoiceCall
from storage.prepared import Prepared
from storage.rows import InteractionFields, MessageFields


@dataclass(frozen=True)
class Monitor:
    """The supervisor on a call, and how: listen, whisper or barge."""

    supervisor_id: str
    mode: str


@dataclass(frozen=True)
class WorkRow:
    interaction: InteractionFields
    customer_name: str
    latest: MessageFields | None
    unread: int
    # A call's supervisor, while their leg is on it.
    monitor: Monitor | None


# What each part of the list holds: the interactions in this state, of the agent's in
# this role, in this order. The completed part alone pages (newest first).
_PARTS: dict[str, tuple[InteractionState, Any, tuple[Any, ...]]] = {
    "offered": (InteractionState.OFFERED, Interaction.offered_agent_id, (Interaction.enqueued_at,)),
    "held": (InteractionState.ASSIGNED, Interaction.assigned_agent_id, (Interaction.enqueued_at,)),
    # Snoozed ones by when they come back, then those on hold.
    "parked": (
        InteractionState.PARKED,
        Interaction.assigned_agent_id,
        (Interaction.parked_until.is_(None), Interaction.parked_until),
    ),
    "completed": (
        InteractionState.COMPLETED,
        Interaction.assigned_agent_id,
        (Interaction.closed_at.desc(), Interaction.id.desc()),
    ),
}


@functools.cache
def _listed(part: str, by_channel: bool, paged: bool) -> Prepared:
    """A part's statement, prepared once for each filter it takes: plain rows (storage.rows),
    the interaction's columns and then the customer's name."""
    state, agent, order = _PARTS[part]
    query = (
        select(Interaction.__table__, Customer.display_name.label("customer_name"))
        .join(Customer, Customer.id == Interaction.customer_id)
        .where(Interaction.state == state, agent == bindparam("agent_id"))
    )
    if by_channel:
        query = query.where(Interaction.channel == bindparam("channel"))
    if paged:
        query = query.where(*after(Interaction.closed_at))
    if part == "completed":
        query = query.order_by(*order).limit(bindparam("limit"))
    return Prepared(query if part == "completed" else query.order_by(*order))


def offered(conn: Connection, agent_id: str, channel: str | None) -> list[WorkRow]:
    return _part(conn, "offered", agent_id, channel)


def held(conn: Connection, agent_id: str, channel: str | None) -> list[WorkRow]:
    return _part(conn, "held", agent_id, channel)


def parked(conn: Connection, agent_id: str, channel: str | None) -> list[WorkRow]:
    """Set aside by the agent: snoozed ones by when they come back, then those on hold."""
    return _part(conn, "parked", agent_id, channel)


def completed(
    conn: Connection, agent_id: str, channel: str | None, before: tuple[datetime, str] | None, limit: int
) -> list[WorkRow]:
    """Completed by the agent, newest first; ``before``: the (closed_at, id) of the last
    row of the page before."""
    return _part(conn, "completed", agent_id, channel, before, limit)


def _part(
    conn: Connection,
    part: str,
    agent_id: str,
    channel: str | None,
    before: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[WorkRow]:
    params: dict[str, Any] = {"agent_id": agent_id, "channel": channel, "limit": limit}
    if before is not None:
        params["before_at"], params["before_id"] = before
    found = _listed(part, channel is not None, before is not None).records(conn, params)
    ids = [row.id for row in found]
    latest = _latest(conn, ids)
    unread = _unread(conn, ids)
    monitors = _monitors(conn, [row.id for row in found if row.channel == Channel.VOICE])
    return [
        WorkRow(row, row.customer_name, latest.get(row.id), unread.get(row.id, 0), monitors.get(row.id))
        for row in found
    ]


_OTHER = aliased(Message)
_LATEST = Prepared(
    select(Message.__table__).where(
        Message.interaction_id.in_(bindparam("ids", expanding=True)),
        Message.created_at
        == select(func.max(_OTHER.created_at)).where(_OTHER.interaction_id == Message.interaction_id).scalar_subquery(),
    )
)
_LAST_REPLY = (
    select(func.max(_OTHER.created_at))
    .where(_OTHER.interaction_id == Message.interaction_id, _OTHER.direction == Direction.OUTBOUND)
    .scalar_subquery()
)
# Per interaction, the customer's messages since the last reply (all, before one). A
# call's own message (voice, no text: the call coming in) waits for no written reply, so
# it is never unread; a voicemail's is.
_UNREAD = Prepared(
    select(Message.interaction_id, func.count())
    .where(
        Message.interaction_id.in_(bindparam("ids", expanding=True)),
        Message.direction == Direction.INBOUND,
        or_(Message.channel != Channel.VOICE, Message.body != ""),
        or_(_LAST_REPLY.is_(None), Message.created_at > _LAST_REPLY),
    )
    .group_by(Message.interaction_id)
)


_MONITORS = Prepared(
    select(VoiceCall.interaction_id, VoiceCall.supervisor_id, VoiceCall.supervisor_mode).where(
        VoiceCall.interaction_id.in_(bindparam("ids", expanding=True)),
        VoiceCall.supervisor_call_sid.is_not(None),
        VoiceCall.supervisor_id.is_not(None),
        VoiceCall.supervisor_mode.is_not(None),
    )
)


def _monitors(conn: Connection, ids: list[str]) -> dict[str, Monitor]:
    if not ids:
        return {}
    return {interaction_id: Monitor(who, mode) for interaction_id, who, mode in _MONITORS.rows(conn, {"ids": ids})}


def _latest(conn: Connection, ids: list[str]) -> dict[str, MessageFields]:
    if not ids:
        return {}
    return {row.interaction_id: row for row in _LATEST.records(conn, {"ids": ids})}


def _unread(conn: Connection, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    return {interaction_id: int(count) for interaction_id, count in _UNREAD.rows(conn, {"ids": ids})}
