"""What admins do to agents' accounts (the API's ``/api/v1/agents`` and the ``agents``
command): create, edit the profile, deactivate and reactivate, reset a password; and an
agent's change of their own password.

A profile is checked exactly as the configuration's roster is (``settings.roster``), so a
queue, skill or channel the service does not know is refused the same way in both. Each
change is an agent event naming who made it. When the service runs (``LiveAgents``), a
changed profile reaches routing at once, and a deactivated account's session ends at once
(offline, its offers back in their queues, its sockets closed); from the command line, the
revoked tokens end it at the agent's next request and the profile is routing's at their
next status change."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from interaction_center.desk.accounts import Accounts, hash_password, password_matches, profile_columns
from interaction_center.desk.passwords import weakness
from interaction_center.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from interaction_center.domain.model import Actor, ActorKind, Role
from interaction_center.domain.stamps import utcnow
from interaction_center.settings.model import AgentSeed, Settings
from interaction_center.settings.roster import RosterParser
from storage import agents as agent_store
from storage import events
from storage.models import Agent

# What an edit may change; the username is the account's name for good, and a password
# has its own call (it ends the agent's sessions).
EDITABLE = ("display_name", "role", "queues", "skills", "capacity", "phone")
DEACTIVATED = "deactivated"
PASSWORD_RESET = "password_reset"


class LiveAgents(Protocol):
    """The running service's side of an account change."""

    async def profile_changed(self, agent: Agent) -> None: ...

    async def session_ended(self, agent_id: str, reason: str, actor: Actor) -> None: ...

    async def other_logins_ended(self, agent_id: str, kept: str) -> None: ...


class AgentAdmin:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        accounts: Accounts,
        settings: Settings,
        live: LiveAgents | None = None,
    ) -> None:
        self._sessions = sessions
        self._accounts = accounts
        self._settings = settings
        self._live = live

    def seed(self, spec: dict[str, Any]) -> AgentSeed:
        """An account as the roster declares one; every problem named at once."""
        problems: list[str] = []
        roster = RosterParser(lambda key, reason: problems.append(f"{key}: {reason}"), set(self._settings.skills))
        seeds = roster.agents([spec], self._settings.queues)
        if problems or not seeds:
            named = "; ".join(problem.removeprefix("agents[0].").removeprefix("agents[0]: ") for problem in problems)
            raise InvalidInput(named or "not an agent's profile", code="agent.bad_profile")
        return seeds[0]

    async def create(self, spec: dict[str, Any]) -> Agent:
        return await self.add(self.seed(spec))

    async def add(self, seed: AgentSeed) -> Agent:
        return await self._accounts.add(seed)

    async def all(self) -> list[Agent]:
        return await self._accounts.all()

    async def get(self, agent_id: str) -> Agent:
        async with self._sessions() as session:
            return _found(await agent_store.get(session, agent_id), agent_id)

    async def by_username(self, username: str) -> Agent:
        async with self._sessions() as session:
            return _found(await agent_store.by_username(session, username), username)

    async def edit(self, agent_id: str, changes: dict[str, Any], actor: Actor) -> Agent:
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise InvalidInput(
                f"cannot edit {', '.join(unknown)}: an edit changes {', '.join(EDITABLE)}", code="agent.bad_profile"
            )
        async with self._guarded() as session:
            agent = _found(await agent_store.get(session, agent_id), agent_id)
            before = _profile(agent)
            seed = self.seed({**before, "username": agent.username, **changes})
            after = {"display_name": seed.display_name, "role": str(seed.role), **profile_columns(seed)}
            if agent.role == Role.ADMIN and seed.role != Role.ADMIN:
                await _not_the_last_admin(session, agent)
            changed = {key: {"from": before[key], "to": value} for key, value in after.items() if before[key] != value}
            for key, value in after.items():
                setattr(agent, key, value)
            if changed:
                session.add(events.agent_event(agent.id, "profile_changed", actor, changed, utcnow()))
        if changed and self._live is not None:
            await self._live.profile_changed(agent)
        return agent

    async def deactivate(self, agent_id: str, actor: Actor) -> Agent:
        """The account closed: no login, every token revoked, the session ended."""
        if actor.id == agent_id:
            raise Conflict("you cannot deactivate your own account", code="agent.self")
        async with self._guarded() as session:
            agent = _found(await agent_store.get(session, agent_id), agent_id)
            if agent.active:
                await _not_the_last_admin(session, agent)
                agent.active = False
                await agent_store.drop_tokens(session, agent.id)
                session.add(events.agent_event(agent.id, DEACTIVATED, actor, None, utcnow()))
        await self._end_session(agent.id, DEACTIVATED, actor)
        return agent

    async def reactivate(self, agent_id: str, actor: Actor) -> Agent:
        async with self._guarded() as session:
            agent = _found(await agent_store.get(session, agent_id), agent_id)
            if not agent.active:
                agent.active = True
                session.add(events.agent_event(agent.id, "reactivated", actor, None, utcnow()))
        return agent

    async def reset_password(self, agent_id: str, password: str, actor: Actor) -> Agent:
        """A new password set by an admin: the agent's sessions end, they log in with it."""
        async with self._sessions() as session:
            agent = _found(await agent_store.get(session, agent_id), agent_id)
        await self._set_password(agent, password, actor, keep=None)
        await self._end_session(agent.id, PASSWORD_RESET, actor)
        return agent

    async def change_own_password(self, agent: Agent, current: str, new: str, token_hash: str) -> None:
        """The agent's own change: their other logins end, this one lives on."""
        if not await asyncio.to_thread(password_matches, agent.password_hash, current):
            raise Forbidden("the current password is wrong", code="auth.wrong_password")
        await self._set_password(agent, new, Actor(ActorKind.AGENT, agent.id), keep=token_hash)
        if self._live is not None:
            await self._live.other_logins_ended(agent.id, token_hash)

    async def _set_password(self, agent: Agent, password: str, actor: Actor, keep: str | None) -> None:
        if why := await asyncio.to_thread(weakness, password, agent.username):
            raise InvalidInput(why, code="auth.weak_password")
        password_hash = await asyncio.to_thread(hash_password, password)
        async with self._guarded() as session:
            stored = _found(await agent_store.get(session, agent.id), agent.id)
            stored.password_hash = password_hash
            await agent_store.drop_tokens(session, agent.id, keep=keep)
            session.add(events.agent_event(agent.id, "password_changed", actor, None, utcnow()))

    async def _end_session(self, agent_id: str, reason: str, actor: Actor) -> None:
        if self._live is not None:
            await self._live.session_ended(agent_id, reason, actor)

    @contextlib.asynccontextmanager
    async def _guarded(self) -> AsyncIterator[AsyncSession]:
        """A transaction on agents whose race with another change (an agent's row is
        written on condition of its version) is a clear conflict, not an error."""
        try:
            async with self._sessions.begin() as session:
                yield session
        except StaleDataError as error:
            raise Conflict("the agent changed meanwhile: read it again", code="agent.changed") from error


def _found(agent: Agent | None, agent_id: str) -> Agent:
    if agent is None:
        raise NotFound(f"no agent {agent_id}", code="agent.not_found")
    return agent


def _profile(agent: Agent) -> dict[str, Any]:
    """The stored profile in the roster's terms (and in ``profile_columns``' shapes)."""
    return {
        "display_name": agent.display_name,
        "role": agent.role,
        "queues": agent.queues,
        "skills": agent.skills,
        "capacity": agent.capacity,
        "phone": agent.phone,
    }


async def _not_the_last_admin(session: AsyncSession, agent: Agent) -> None:
    if agent.role == Role.ADMIN and agent.active and await agent_store.active_admins(session) <= 1:
        raise Conflict("this is the last active admin: make another admin first", code="agent.last_admin")
