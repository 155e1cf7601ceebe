"""Agents' own canned responses."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CannedText


async def of_agent(session: AsyncSession, agent_id: str) -> Sequence[CannedText]:
    rows = await session.scalars(
        select(CannedText).where(CannedText.agent_id == agent_id).order_by(CannedText.shortcut)
    )
    return rows.all()


async def get(session: AsyncSession, agent_id: str, canned_id: str) -> CannedText | None:
    """The agent's own, or None (another agent's is as good as none)."""
    row = await session.get(CannedText, canned_id)
    return row if row is not None and row.agent_id == agent_id else None
