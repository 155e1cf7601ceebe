"""Web-chat sessions: found by the digest of their token, never by the token itself."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from interaction_center.domain.model import Channel
from storage.interactions import ROUTABLE
from storage.models import ChatSession, Interaction, InteractionEvent


async def by_token_hash(session: AsyncSession, token_hash: str) -> ChatSession | None:
    return await session.scalar(select(ChatSession).where(ChatSession.token_hash == token_hash))


async def latest_interaction(session: AsyncSession, thread_key: str) -> Interaction | None:
    """The session's most recent interaction, open or closed: what a reconnect shows."""
    return await session.scalar(
        select(Interaction).where(Interaction.thread_key == thread_key).order_by(Interaction.created_at.desc()).limit(1)
    )


async def rated(session: AsyncSession, interaction_id: str) -> bool:
    """Whether the interaction has its visitor's rating (a ``rated`` event) already."""
    found = await session.scalar(
        select(InteractionEvent.id)
        .where(InteractionEvent.interaction_id == interaction_id, InteractionEvent.type == "rated")
        .limit(1)
    )
    return found is not None


async def waiting(session: AsyncSession) -> list[tuple[str, str]]:
    """Chat interactions still waiting for an agent (queued or offered), as (id, thread key)."""
    rows = await session.execute(
        select(Interaction.id, Interaction.thread_key).where(
            Interaction.channel == Channel.CHAT, Interaction.state.in_(ROUTABLE)
        )
    )
    return [(row.id, row.thread_key) for row in rows]
