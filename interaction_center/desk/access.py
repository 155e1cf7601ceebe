"""Who may read what: supervisors and admins everything; an agent what is offered to them,
what they hold or have acted on, and those customers."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from interaction_center.desk.accounts import can_supervise
from interaction_center.domain.errors import Forbidden
from storage import interactions as store
from storage.models import Agent
from storage.reader import in_session


def may_read(
    conn: Connection, agent: Agent, *, interaction_id: str | None = None, customer_id: str | None = None
) -> None:
    """Raises unless the agent may read the interaction (or the customer): on the Reader's
    connection, for what only reads."""
    if can_supervise(agent):
        return
    if not store.agent_has_worked(conn, agent.id, interaction_id=interaction_id, customer_id=customer_id):
        raise Forbidden("agents see only the contacts they handle", code="auth.not_yours")


async def check_may_read(
    session: AsyncSession, agent: Agent, *, interaction_id: str | None = None, customer_id: str | None = None
) -> None:
    """``may_read`` inside a session: a change checks before it is made (a supervisor's
    without a trip to the session's connection)."""
    if can_supervise(agent):
        return
    await in_session(
        session, lambda conn: may_read(conn, agent, interaction_id=interaction_id, customer_id=customer_id)
    )
