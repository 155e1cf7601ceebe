"""Who may read what: supervisors and admins everything; an agent what is offered to them,
what they hold or have acted on, and those customers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from interaction_center.desk.accounts import can_supervise
from interaction_center.domain.errors import Forbidden
from storage import interactions as store
from storage.models import Agent


async def check_may_read(
    session: AsyncSession, agent: Agent, *, interaction_id: str | None = None, customer_id: str | None = None
) -> None:
    if can_supervise(agent):
        return
    if not await store.agent_has_worked(session, agent.id, interaction_id=interaction_id, customer_id=customer_id):
        raise Forbidden("agents see only the contacts they handle", code="auth.not_yours")
