"""Which instance holds which agents' desks, when several share one Redis.

An agent's socket lives on one instance, and the agent's presence (``desk/presence.py``)
must not end on one instance while their desk is open on another: a dropped network
reconnects through the load balancer to any instance. So each instance records the agents
whose sockets it holds (the ``sockets`` key) under a lease it renews (``lease``: a key with
a time to live). An instance that dies stops renewing; the first other one to find its
lease lapsed claims it (removing it from ``instances`` succeeds for one claimer only) and
treats each of its agents not connected elsewhere as disconnected: away at once, their
offers back in their queues at their places, offline after the grace period unless they
reconnect. Alone (no Redis), an instance is the only place a desk can be.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from routing.redis_keys import named

log = logging.getLogger(__name__)

# What an instance does with the agents of one found gone: treat them as disconnected.
Lapsed = Callable[[list[str]], Awaitable[None]]


class Membership:
    """One instance alone: its sockets are the only ones."""

    async def held(self, agent_id: str) -> None:
        """A socket of the agent's is open here."""

    async def released(self, agent_id: str) -> None:
        """The agent's last socket here closed."""

    async def elsewhere(self, agent_id: str) -> bool:
        """Whether another live instance holds a socket of the agent's."""
        return False

    async def run(self, lapsed: Lapsed, holding: Callable[[], Iterable[str]]) -> None:
        """Keep the lease and look for instances gone; ``holding`` gives the agents whose
        sockets are here now. Nothing to keep alone."""

    async def close(self) -> None:
        """This instance leaves, its lease and record with it."""


def instance_name() -> str:
    """This instance's name on the shared state: the machine's, for the operator reading
    Redis, and unique across restarts."""
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:12]}"


class RedisMembership(Membership):
    def __init__(self, redis: str, prefix: str, lease_seconds: float, instance: str) -> None:
        self._redis = Redis.from_url(redis, decode_responses=True)
        self._prefix = prefix
        self._lease_ms = int(lease_seconds * 1000)
        # Renewed twice a lease: one late renewal (a stalled loop, a slow Redis) is not death.
        self._renew_seconds = lease_seconds / 2
        self.instance = instance
        self._instances = named(prefix, "instances")

    def _lease(self, instance: str) -> str:
        return named(self._prefix, "lease", instance=instance)

    def _sockets(self, instance: str) -> str:
        return named(self._prefix, "sockets", instance=instance)

    async def held(self, agent_id: str) -> None:
        await self._redis.hset(self._sockets(self.instance), agent_id, "1")

    async def released(self, agent_id: str) -> None:
        await self._redis.hdel(self._sockets(self.instance), agent_id)

    async def _others(self) -> list[str]:
        """The other instances on this state (decoded replies are text already)."""
        return [str(i) for i in await self._redis.smembers(self._instances) if i != self.instance]

    async def elsewhere(self, agent_id: str) -> bool:
        others = await self._others()
        if not others:
            return False
        async with self._redis.pipeline(transaction=False) as pipe:
            for other in others:
                pipe.exists(self._lease(other))
                pipe.hexists(self._sockets(other), agent_id)
            replies = await pipe.execute()
        return any(alive and holds for alive, holds in zip(replies[::2], replies[1::2], strict=True))

    async def run(self, lapsed: Lapsed, holding: Callable[[], Iterable[str]]) -> None:
        while True:
            try:
                await self._renew(holding)
                await self._claim_lapsed(lapsed)
            except (RedisError, OSError):
                # Redis away: /readyz says so; the lease is renewed as soon as it is back.
                log.exception("instance %s: lease not renewed", self.instance)
            await asyncio.sleep(self._renew_seconds)

    async def _renew(self, holding: Callable[[], Iterable[str]]) -> None:
        renewed = await self._redis.set(self._lease(self.instance), "1", px=self._lease_ms, xx=True)
        if renewed:
            return
        # A first start, or a lease that lapsed (a long stall) and may have been claimed: join
        # again with the agents whose sockets are here now.
        agents = list(holding())
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._sockets(self.instance))
            if agents:
                pipe.hset(self._sockets(self.instance), mapping=dict.fromkeys(agents, "1"))
            pipe.set(self._lease(self.instance), "1", px=self._lease_ms)
            pipe.sadd(self._instances, self.instance)
            await pipe.execute()
        log.info("instance %s: lease taken (%d agents' sockets here)", self.instance, len(agents))

    async def _claim_lapsed(self, lapsed: Lapsed) -> None:
        for other in await self._others():
            if await self._redis.exists(self._lease(other)):
                continue
            # One claimer: SREM answers 1 to the first instance to remove it.
            if not await self._redis.srem(self._instances, other):
                continue
            agents = sorted(str(agent) for agent in await self._redis.hkeys(self._sockets(other)))
            await self._redis.delete(self._sockets(other))
            log.warning("instance %s is gone (lease lapsed): %d agents' desks were on it", other, len(agents))
            await lapsed([agent for agent in agents if not await self.elsewhere(agent)])

    async def close(self) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.srem(self._instances, self.instance)
                pipe.delete(self._lease(self.instance), self._sockets(self.instance))
                await pipe.execute()
        except (RedisError, OSError):
            log.warning("instance %s: could not leave (its lease will lapse)", self.instance)
        await self._redis.aclose()
