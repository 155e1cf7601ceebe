"""Phone calls' rows (``VoiceCall``) and the reads the voice channel makes of them: a call
by its SID, the recent answered waits of a queue, callbacks that are due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Interaction, VoiceCall


async def get(session: AsyncSession, call_sid: str) -> VoiceCall | None:
    return await session.get(VoiceCall, call_sid)


async def of_interaction(session: AsyncSession, interaction_id: str) -> VoiceCall | None:
    return await session.scalar(
        select(VoiceCall).where(VoiceCall.interaction_id == interaction_id).order_by(VoiceCall.created_at).limit(1)
    )


async def by_agent_leg(session: AsyncSession, call_sid: str) -> VoiceCall | None:
    """The call whose agent (or callback) leg is ``call_sid``."""
    return await session.scalar(select(VoiceCall).where(VoiceCall.agent_call_sid == call_sid).limit(1))


async def answer_times(session: AsyncSession, queue: str, since: datetime, limit: int) -> Sequence[datetime]:
    """When the queue's latest calls were answered (at most ``limit``, since ``since``),
    newest first: the answers the wait estimate is made from."""
    rows = await session.scalars(
        select(VoiceCall.answered_at)
        .join(Interaction, Interaction.id == VoiceCall.interaction_id)
        .where(Interaction.queue == queue, VoiceCall.answered_at >= since)
        .order_by(VoiceCall.answered_at.desc())
        .limit(limit)
    )
    return [at for at in rows if at is not None]


async def callbacks_due(session: AsyncSession, now: datetime) -> Sequence[VoiceCall]:
    rows = await session.scalars(select(VoiceCall).where(VoiceCall.callback_due_at <= now))
    return rows.all()


async def accepted_unbridged(session: AsyncSession) -> Sequence[Interaction]:
    """Calls an agent accepted that were never put through to them: still waiting (or a
    callback whose agent was never dialled) while their interaction is assigned."""
    rows = await session.scalars(
        select(Interaction)
        .join(VoiceCall, VoiceCall.interaction_id == Interaction.id)
        .where(
            Interaction.state == "assigned",
            or_(VoiceCall.phase == "queued", and_(VoiceCall.phase == "callback", VoiceCall.agent_call_sid.is_(None))),
        )
    )
    return rows.all()
