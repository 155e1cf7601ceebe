"""Interactions, their messages and their event history. Every state change goes through
``transition``, which checks the state machine and writes the event in the same
transaction: no change without its event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from interaction_center.domain.errors import NotFound
from interaction_center.domain.model import Actor, InteractionState, check_transition
from interaction_center.domain.stamps import utcnow
from storage.models import Interaction, InteractionEvent, Message

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


async def assigned(session: AsyncSession) -> Sequence[Interaction]:
    rows = await session.scalars(select(Interaction).where(Interaction.state == InteractionState.ASSIGNED))
    return rows.all()


async def offered_to(session: AsyncSession, agent_id: str) -> Sequence[Interaction]:
    rows = await session.scalars(
        select(Interaction).where(
            Interaction.state == InteractionState.OFFERED, Interaction.offered_agent_id == agent_id
        )
    )
    return rows.all()


async def messages(session: AsyncSession, interaction_ids: Sequence[str]) -> Sequence[Message]:
    rows = await session.scalars(
        select(Message).where(Message.interaction_id.in_(interaction_ids)).order_by(Message.created_at, Message.id)
    )
    return rows.all()


async def events(session: AsyncSession, interaction_ids: Sequence[str]) -> Sequence[InteractionEvent]:
    rows = await session.scalars(
        select(InteractionEvent)
        .where(InteractionEvent.interaction_id.in_(interaction_ids))
        .order_by(InteractionEvent.id)
    )
    return rows.all()


def after(
    moment: InstrumentedAttribute[datetime | None] | InstrumentedAttribute[datetime], before: tuple[datetime, str]
) -> tuple[ColumnElement[bool], ...]:
    """The conditions of the rows after ``before`` (a (``moment``, id) pair) in a list
    newest first. The bound on ``moment`` alone is what an index takes as a range; the OR
    after it breaks ties on id, and alone would read every row from the newest."""
    at, interaction_id = before
    return (
        moment <= at,
        or_(moment < at, and_(moment == at, Interaction.id < interaction_id)),
    )


async def for_customer(
    session: AsyncSession, customer_id: str, before: tuple[datetime, str] | None, limit: int
) -> Sequence[Interaction]:
    """The customer's interactions newest first, ``limit`` at most; ``before``: the
    (created_at, id) of the last one of the page before."""
    query = select(Interaction).where(Interaction.customer_id == customer_id)
    if before is not None:
        query = query.where(*after(Interaction.created_at, before))
    rows = await session.scalars(query.order_by(Interaction.created_at.desc(), Interaction.id.desc()).limit(limit))
    return rows.all()


async def agent_has_worked(
    session: AsyncSession, agent_id: str, *, interaction_id: str | None = None, customer_id: str | None = None
) -> bool:
    """Whether the agent holds, is offered, or has acted on the interaction (or on any
    interaction of the customer): what an agent may read."""
    query = select(Interaction.id).where(
        or_(
            Interaction.assigned_agent_id == agent_id,
            Interaction.offered_agent_id == agent_id,
            exists().where(InteractionEvent.interaction_id == Interaction.id, InteractionEvent.actor_id == agent_id),
        )
    )
    if interaction_id is not None:
        query = query.where(Interaction.id == interaction_id)
    if customer_id is not None:
        query = query.where(Interaction.customer_id == customer_id)
    return (await session.scalar(query.limit(1))) is not None


def first_inbound(rows: Sequence[Message]) -> Message | None:
    return next((m for m in rows if m.direction == "inbound"), None)
