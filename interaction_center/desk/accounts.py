"""Agents' accounts: password hashing (argon2id) under the password policy
(``desk.passwords``), login throttled (``desk.throttle``), expiring bearer tokens, and the
configured roster."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interaction_center.desk.passwords import weakness
from interaction_center.desk.throttle import Throttle
from interaction_center.domain.errors import Conflict, InvalidInput, TooManyRequests, Unauthorized
from interaction_center.domain.model import Role
from interaction_center.domain.stamps import utcnow
from interaction_center.settings.model import AgentSeed
from storage import agents as agent_store
from storage.models import Agent
from storage.reader import Reader

# The signed-in agent as the web layer holds it and hands it back to the desk's services:
# the stored record, named for the layers above the desk.
Account: TypeAlias = Agent

log = logging.getLogger(__name__)
_hasher = PasswordHasher()
# Verified against when the username is unknown, so a login takes as long either way and
# does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Login:
    token: str
    expires_at: datetime
    agent: Agent


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], reader: Reader, token_ttl_seconds: int, throttle: Throttle
    ) -> None:
        self._sessions = sessions
        self._reader = reader
        self._ttl = timedelta(seconds=token_ttl_seconds)
        self.throttle = throttle

    async def login(self, username: str, password: str, address: str) -> Login:
        """``address``: where the attempt comes from, for the throttle."""
        wait = await self.throttle.attempt(username, address)
        if wait > 0:
            log.info("login for username %r from %s throttled for %.0f s", username, address, wait)
            raise TooManyRequests(
                f"too many failed logins: try again in {wait:.0f} s", retry_after_seconds=wait, code="auth.throttled"
            )
        async with self._sessions() as session:
            agent = await agent_store.by_username(session, username)
        stored = agent.password_hash if agent is not None else _DUMMY_HASH
        # argon2 is deliberately slow; keep it off the event loop.
        matches = await asyncio.to_thread(password_matches, stored, password)
        if agent is None or not matches:
            log.info("login refused for username %r", username)
            raise Unauthorized("wrong username or password", code="auth.bad_credentials")
        await self.throttle.succeeded(username, address)
        if not agent.active:
            # Said only to whoever knows the password.
            raise Unauthorized("this account is deactivated: ask an admin", code="auth.deactivated")
        token = secrets.token_urlsafe(32)
        now = utcnow()
        async with self._sessions.begin() as session:
            await agent_store.drop_expired_tokens(session, now)
            agent_store.store_token(session, token_digest(token), agent.id, now + self._ttl)
        log.info("agent %s logged in", agent.id)
        return Login(token, now + self._ttl, agent)

    async def authenticate(self, token: str) -> Agent:
        digest, now = token_digest(token), utcnow()
        agent = await self._reader.run(lambda conn: agent_store.agent_for_token(conn, digest, now))
        if agent is None:
            raise Unauthorized("the token is unknown or has expired", code="auth.invalid_token")
        return agent

    async def logout(self, token: str, agent_id: str) -> bool:
        """The token ended; whether another login of the agent is still live."""
        async with self._sessions.begin() as session:
            await agent_store.drop_token(session, token_digest(token))
            return await agent_store.has_live_token(session, agent_id, utcnow())

    async def add(self, seed: AgentSeed, *, policy: bool = True) -> Agent:
        """``policy``: the password must pass the password policy (all but the configured
        roster's, which ``sync_roster`` warns of instead)."""
        if not seed.username.strip() or not seed.password:
            raise InvalidInput("an agent needs a username and a password")
        if policy and (why := await asyncio.to_thread(weakness, seed.password, seed.username)):
            raise InvalidInput(why, code="auth.weak_password")
        password_hash = await asyncio.to_thread(hash_password, seed.password)
        agent = Agent(
            username=seed.username,
            display_name=seed.display_name,
            password_hash=password_hash,
            role=seed.role,
            **profile_columns(seed),
        )
        try:
            async with self._sessions.begin() as session:
                session.add(agent)
        except IntegrityError as exc:
            raise Conflict(f"an agent named {seed.username!r} exists", code="agent.exists") from exc
        return agent

    async def all(self) -> list[Account]:
        async with self._sessions() as session:
            return list(await agent_store.all_agents(session))

    async def active(self) -> list[Account]:
        """The agents who may be given work: a deactivated one is no transfer target."""
        return [agent for agent in await self.all() if agent.active]

    async def sync_roster(self, seeds: tuple[AgentSeed, ...]) -> None:
        """Create configured agents that do not exist yet; existing ones keep their
        password, and get the configured role, queues, skills, capacity and phone."""
        for seed in seeds:
            async with self._sessions.begin() as session:
                agent = await agent_store.by_username(session, seed.username)
                if agent is not None:
                    agent.role, agent.display_name = seed.role, seed.display_name
                    for column, value in profile_columns(seed).items():
                        setattr(agent, column, value)
                    continue
            if not seed.password:
                log.warning("configured agent %r has no password and no account; skipped", seed.username)
                continue
            if why := await asyncio.to_thread(weakness, seed.password, seed.username):
                # A demo's roster: let it start, and say plainly it is not for real use.
                log.warning(
                    "configured agent %r has a password the policy refuses (%s): fine for a demo, not for"
                    " real use; create real accounts with `interaction-center agents add`",
                    seed.username,
                    why,
                )
            await self.add(seed, policy=False)


def profile_columns(seed: AgentSeed) -> dict[str, Any]:
    """The stored routing profile of a configured agent."""
    return {
        "queues": [{"queue": m.queue, "priority": m.priority, "delay_seconds": m.delay_seconds} for m in seed.queues],
        "skills": dict(seed.skills),
        "capacity": {str(channel): slots for channel, slots in seed.capacity.items()},
        "phone": seed.phone or None,
    }


def can_supervise(agent: Agent) -> bool:
    return agent.role in (Role.SUPERVISOR, Role.ADMIN)
