"""Agents and their bearer tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from storage.models import Agent, AuthToken
from storage.prepared import Prepared


async def by_username(session: AsyncSession, username: str) -> Agent | None:
    return await session.scalar(select(Agent).where(Agent.username == username))


async def get(session: AsyncSession, agent_id: str) -> Agent | None:
    return await session.get(Agent, agent_id)


async def all_agents(session: AsyncSession) -> Sequence[Agent]:
    return (await session.scalars(select(Agent).order_by(Agent.username))).all()


async def by_status(session: AsyncSession, status: str) -> Sequence[Agent]:
    return (await session.scalars(select(Agent).where(Agent.status == status))).all()


async def away_before(session: AsyncSession, reason: str, before: datetime) -> Sequence[str]:
    """The agents set away for ``reason`` before ``before`` and away since."""
    found = select(Agent.id).where(
        Agent.status == "away", Agent.status_reason == reason, Agent.status_changed_at < before
    )
    return (await session.scalars(found)).all()


def store_token(session: AsyncSession, token_hash: str, agent_id: str, expires_at: datetime) -> None:
    session.add(AuthToken(token_hash=token_hash, agent_id=agent_id, expires_at=expires_at))


# Read on every API call: prepared (storage.prepared).
_FOR_TOKEN = Prepared(
    select(Agent.__table__)
    .join(AuthToken, AuthToken.agent_id == Agent.id)
    .where(AuthToken.token_hash == bindparam("token_hash"), AuthToken.expires_at > bindparam("now"), Agent.active)
)


def agent_for_token(conn: Connection, token_hash: str, now: datetime) -> Agent | None:
    """The live token's active agent, read as a plain row (on the Reader's connection) and
    made the Agent a session would have left behind, detached: a session to read one row
    cost more than the search that the call came for."""
    found = _FOR_TOKEN.records(conn, {"token_hash": token_hash, "now": now})
    if not found:
        return None
    agent = Agent(**found[0]._asdict())
    make_transient_to_detached(agent)
    return agent


async def drop_token(session: AsyncSession, token_hash: str) -> None:
    await session.execute(delete(AuthToken).where(AuthToken.token_hash == token_hash))


async def drop_tokens(session: AsyncSession, agent_id: str, *, keep: str | None = None) -> None:
    """Every token of the agent's but ``keep`` (a digest): their logins end."""
    query = delete(AuthToken).where(AuthToken.agent_id == agent_id)
    await session.execute(query if keep is None else query.where(AuthToken.token_hash != keep))


async def active_admins(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).where(Agent.role == "admin", Agent.active)) or 0)


async def has_live_token(session: AsyncSession, agent_id: str, now: datetime) -> bool:
    found = await session.scalar(
        select(AuthToken.token_hash).where(AuthToken.agent_id == agent_id, AuthToken.expires_at > now).limit(1)
    )
    return found is not None


async def drop_expired_tokens(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(AuthToken).where(AuthToken.expires_at <= now))
