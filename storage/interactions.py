"""Interactions, their messages and their event history. Every state change goes through
``transition``, which checks the state machine and writes the event in the same
transaction: no change without its event."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, String, and_, bindparam, exists, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import KeyedColumnElement

from interaction_center.domain.errors import NotFound
from interaction_center.domain.model import Actor, InteractionState, check_transition
from interaction_center.domain.stamps import utcnow
from storage.models import Interaction, InteractionEvent, Message, UTCDateTime, UTCText
from storage.prepared import Prepared
from storage.rows import EventFields, InteractionFields, MessageFields, fields

ROUTABLE = (InteractionState.QUEUED, InteractionState.OFFERED)


async def get(session: AsyncSession, interaction_id: str) -> Interaction:
    found = await session.get(Interaction, interaction_id)
    if found is None:
        raise NotFound(f"no interaction {interaction_id}", code="interaction.not_found")
    return found


async def find_message(session: AsyncSession, channel: str, external_id: str) -> Message | None:
    return await session.scalar(select(Message).where(Message.channel == channel, Message.external_id == external_id))


def event_row(
    interaction_id: str, type_: str, actor: Actor, data: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    """An event as a plain row, for writers that insert many at once."""
    return {
        "interaction_id": interaction_id,
        "type": type_,
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "data": data or {},
        "created_at": now,
    }


def record_event(
    session: AsyncSession, interaction_id: str, type_: str, actor: Actor, data: dict[str, Any] | None = None
) -> InteractionEvent:
    event = InteractionEvent(**event_row(interaction_id, type_, actor, data, utcnow()))
    session.add(event)
    return event


def transition_values(current: str, target: InteractionState, now: datetime) -> dict[str, Any]:
    """The columns a move from ``current`` to ``target`` sets; raises IllegalTransition
    when the state machine does not allow it."""
    check_transition(InteractionState(current), target)
    values: dict[str, Any] = {"state": target, "updated_at": now}
    if not target.is_open:
        values["closed_at"] = now
    return values


def waiting_facts(
    queue: str, channel: str, enqueued_at: datetime | None, answer_deadline: datetime | None
) -> dict[str, Any]:
    """Where an interaction waited and its answer target, as the events that end its wait
    (accepted, abandoned) carry them: the statistics count from the event alone, whatever
    happens to the interaction later."""
    return {
        "queue": queue,
        "channel": channel,
        "enqueued_at": None if enqueued_at is None else enqueued_at.isoformat(),
        "answer_deadline": None if answer_deadline is None else answer_deadline.isoformat(),
    }


def transition_data(current: str, target: InteractionState, data: dict[str, Any] | None) -> dict[str, Any]:
    return {"from": InteractionState(current), "to": target, **(data or {})}


def transition(
    session: AsyncSession,
    interaction: Interaction,
    target: InteractionState,
    actor: Actor,
    event: str,
    data: dict[str, Any] | None = None,
) -> None:
    current = interaction.state
    for column, value in transition_values(current, target, utcnow()).items():
        setattr(interaction, column, value)
    record_event(session, interaction.id, event, actor, transition_data(current, target, data))


async def routable(session: AsyncSession) -> Sequence[Interaction]:
    """Interactions that belong in a queue (or in an offer), oldest first."""
    rows = await session.scalars(
        select(Interaction).where(Interaction.state.in_(ROUTABLE)).order_by(Interaction.enqueued_at)
    )
    return rows.all()


async def stale_offers(session: AsyncSession, expired_before: datetime, limit: int) -> Sequence[Interaction]:
    """Interactions whose stored offer expired before ``expired_before``, oldest first."""
    rows = await session.scalars(
        select(Interaction)
        .where(Interaction.state == InteractionState.OFFERED, Interaction.offer_expires_at < expired_before)
        .order_by(Interaction.offer_expires_at)
        .limit(limit)
    )
    return rows.all()


async def assigned(session: AsyncSession) -> Sequence[Interaction]:
    rows = await session.scalars(select(Interaction).where(Interaction.state == InteractionState.ASSIGNED))
    return rows.all()


# The reads below return plain rows (storage.rows) and run on a plain connection: the
# Reader's for what only reads, a session's (storage.reader.in_session) inside a change.
# An agent's desk reads them on every screen, so they are prepared (storage.prepared):
# through SQLAlchemy's execution each cost more than SQLite took to run it.


def _as_read(columns: Iterable[KeyedColumnElement[Any]]) -> list[ColumnElement[Any]]:
    """The columns with their times as their text (storage.rows, storage.models.UTCText)."""
    return [type_coerce(c, UTCText()).label(c.key) if isinstance(c.type, UTCDateTime) else c for c in columns]


# Of an interaction, what its rows (storage.rows.InteractionFields) give: a timeline page
# read every column, and converted the times and the required skills nothing wrote out.
_COLUMNS = _as_read(c for c in Interaction.__table__.columns if c.key in fields(InteractionFields))


def after(
    moment: InstrumentedAttribute[datetime | None] | InstrumentedAttribute[datetime],
) -> tuple[ColumnElement[bool], ...]:
    """The conditions of the rows after the one given as ``before_at`` (its ``moment``) and
    ``before_id`` in a list newest first. The bound on ``moment`` alone is what an index
    takes as a range; the OR after it breaks ties on id, and alone would read every row
    from the newest."""
    at, interaction_id = bindparam("before_at", type_=moment.type), bindparam("before_id", type_=String())
    return (
        moment <= at,
        or_(moment < at, and_(moment == at, Interaction.id < interaction_id)),
    )


_OFFERED_TO = Prepared(
    select(*_COLUMNS).where(
        Interaction.state == InteractionState.OFFERED, Interaction.offered_agent_id == bindparam("agent_id")
    )
)
_INTERACTION = Prepared(select(*_COLUMNS).where(Interaction.id == bindparam("id")))
_MESSAGES = Prepared(
    select(*_as_read(Message.__table__.columns))
    .where(Message.interaction_id.in_(bindparam("ids", expanding=True)))
    .order_by(Message.created_at, Message.id)
)
_EVENTS = Prepared(
    select(*_as_read(InteractionEvent.__table__.columns))
    .where(InteractionEvent.interaction_id.in_(bindparam("ids", expanding=True)))
    .order_by(InteractionEvent.interaction_id, InteractionEvent.id)
)
_NEWEST_FIRST = (Interaction.created_at.desc(), Interaction.id.desc())
_OF_CUSTOMER = select(*_COLUMNS).where(Interaction.customer_id == bindparam("customer_id"))
_FOR_CUSTOMER = Prepared(_OF_CUSTOMER.order_by(*_NEWEST_FIRST).limit(bindparam("limit")))
_FOR_CUSTOMER_AFTER = Prepared(
    _OF_CUSTOMER.where(*after(Interaction.created_at)).order_by(*_NEWEST_FIRST).limit(bindparam("limit"))
)


def _worked(on: ColumnElement[bool]) -> tuple[Prepared, Prepared]:
    """Whether the agent holds or is offered one of the interactions, and whether they acted
    on one. Asked apart, held or offered first, as that is why an agent reads nearly
    always: asked together, a customer's every interaction was looked through for the
    agent's events until one matched (2.4 ms of a 200-interaction customer's timeline)."""
    agent = bindparam("agent_id", type_=String())
    query = select(Interaction.id).where(on)
    theirs = or_(Interaction.assigned_agent_id == agent, Interaction.offered_agent_id == agent)
    acted = exists().where(InteractionEvent.interaction_id == Interaction.id, InteractionEvent.actor_id == agent)
    return Prepared(query.where(theirs).limit(1)), Prepared(query.where(acted).limit(1))


_WORKED_ON_INTERACTION = _worked(Interaction.id == bindparam("id"))
_WORKED_FOR_CUSTOMER = _worked(Interaction.customer_id == bindparam("id"))


def offered_to(conn: Connection, agent_id: str) -> Sequence[InteractionFields]:
    return _OFFERED_TO.records(conn, {"agent_id": agent_id})


def interaction_row(conn: Connection, interaction_id: str) -> InteractionFields:
    found = _INTERACTION.records(conn, {"id": interaction_id})
    if not found:
        raise NotFound(f"no interaction {interaction_id}", code="interaction.not_found")
    return cast(InteractionFields, found[0])


def messages(conn: Connection, interaction_ids: Sequence[str]) -> Sequence[MessageFields]:
    """The interactions' messages in order."""
    return _MESSAGES.records(conn, {"ids": list(interaction_ids)})


def events(conn: Connection, interaction_ids: Sequence[str]) -> Sequence[EventFields]:
    """The interactions' events, interaction by interaction, each one's in order: as the
    index on interaction_id holds them. In order across the interactions, a timeline page's
    2,000 events were sorted in a temporary B-tree first."""
    return _EVENTS.records(conn, {"ids": list(interaction_ids)})


def for_customer(
    conn: Connection, customer_id: str, before: tuple[datetime, str] | None, limit: int
) -> Sequence[InteractionFields]:
    """The customer's interactions newest first, ``limit`` at most; ``before``: the
    (created_at, id) of the last one of the page before."""
    if before is None:
        return _FOR_CUSTOMER.records(conn, {"customer_id": customer_id, "limit": limit})
    at, before_id = before
    params = {"customer_id": customer_id, "limit": limit, "before_at": at, "before_id": before_id}
    return _FOR_CUSTOMER_AFTER.records(conn, params)


def agent_has_worked(
    conn: Connection, agent_id: str, *, interaction_id: str | None = None, customer_id: str | None = None
) -> bool:
    """Whether the agent holds, is offered, or has acted on the interaction (or on any
    interaction of the customer): what an agent may read."""
    if interaction_id is not None:
        asked, params = _WORKED_ON_INTERACTION, {"agent_id": agent_id, "id": interaction_id}
    elif customer_id is not None:
        asked, params = _WORKED_FOR_CUSTOMER, {"agent_id": agent_id, "id": customer_id}
    else:
        raise ValueError("an interaction or a customer")
    return any(prepared.rows(conn, params) for prepared in asked)


def first_inbound(rows: Sequence[MessageFields]) -> MessageFields | None:
    return next((m for m in rows if m.direction == "inbound"), None)
