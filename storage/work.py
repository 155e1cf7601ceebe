"""The reads behind an agent's work list: what is offered to them, what they hold, what
they set aside, what they completed (newest first, a page at a time), each with its customer's name, its latest
message and how many of the customer's messages came after the last reply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from interaction_center.domain.model import Direction, InteractionState
from storage.interactions import after
from storage.models import Customer, Interaction, Message


@dataclass(frozen=True)
class WorkRow:
    interaction: Interaction
    customer_name: str
    latest: Message | None
    unread: int


def _listed(channel: str | None) -> Select[Interaction, str]:
    query = select(Interaction, Customer.display_name).join(Customer, Customer.id == Interaction.customer_id)
    return query if channel is None else query.where(Interaction.channel == channel)


async def offered(session: AsyncSession, agent_id: str, channel: str | None) -> list[WorkRow]:
    query = _listed(channel).where(
        Interaction.state == InteractionState.OFFERED, Interaction.offered_agent_id == agent_id
    )
    return await _rows(session, query.order_by(Interaction.enqueued_at))


async def held(session: AsyncSession, agent_id: str, channel: str | None) -> list[WorkRow]:
    query = _listed(channel).where(
        Interaction.state == InteractionState.ASSIGNED, Interaction.assigned_agent_id == agent_id
    )
    return await _rows(session, query.order_by(Interaction.enqueued_at))


async def parked(session: AsyncSession, agent_id: str, channel: str | None) -> list[WorkRow]:
    """Set aside by the agent: snoozed ones by when they come back, then those on hold."""
    query = _listed(channel).where(
        Interaction.state == InteractionState.PARKED, Interaction.assigned_agent_id == agent_id
    )
    return await _rows(session, query.order_by(Interaction.parked_until.is_(None), Interaction.parked_until))


async def completed(
    session: AsyncSession, agent_id: str, channel: str | None, before: tuple[datetime, str] | None, limit: int
) -> list[WorkRow]:
    """Completed by the agent, newest first; ``before``: the (closed_at, id) of the last
    row of the page before."""
    query = _listed(channel).where(
        Interaction.state == InteractionState.COMPLETED, Interaction.assigned_agent_id == agent_id
    )
    if before is not None:
        query = query.where(*after(Interaction.closed_at, before))
    return await _rows(session, query.order_by(Interaction.closed_at.desc(), Interaction.id.desc()).limit(limit))


async def _rows(session: AsyncSession, query: Select[Interaction, str]) -> list[WorkRow]:
    found = [(interaction, str(name)) for interaction, name in await session.execute(query)]
    ids = [interaction.id for interaction, _ in found]
    latest = await _latest(session, ids)
    unread = await _unread(session, ids)
    return [WorkRow(i, name, latest.get(i.id), unread.get(i.id, 0)) for i, name in found]


# Built once, as the hot path's statements are (storage.prepared): building and keying
# these two cost the work list more than SQLite took to run them (bench/workspace.py).
_OTHER = aliased(Message)
_LATEST = select(Message).where(
    Message.interaction_id.in_(bindparam("ids", expanding=True)),
    Message.created_at
    == select(func.max(_OTHER.created_at)).where(_OTHER.interaction_id == Message.interaction_id).scalar_subquery(),
)
_LAST_REPLY = (
    select(func.max(_OTHER.created_at))
    .where(_OTHER.interaction_id == Message.interaction_id, _OTHER.direction == Direction.OUTBOUND)
    .scalar_subquery()
)
# Per interaction, the customer's messages since the last reply (all, before one).
_UNREAD = (
    select(Message.interaction_id, func.count())
    .where(
        Message.interaction_id.in_(bindparam("ids", expanding=True)),
        Message.direction == Direction.INBOUND,
        or_(_LAST_REPLY.is_(None), Message.created_at > _LAST_REPLY),
    )
    .group_by(Message.interaction_id)
)


async def _latest(session: AsyncSession, ids: list[str]) -> dict[str, Message]:
    if not ids:
        return {}
    return {row.interaction_id: row for row in await session.scalars(_LATEST, {"ids": ids})}


async def _unread(session: AsyncSession, ids: list[str]) -> dict[str, int]:
    if not ids:
        return {}
    return {interaction_id: int(count) for interaction_id, count in await session.execute(_UNREAD, {"ids": ids})}
