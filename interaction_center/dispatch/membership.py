"""Which instance holds whose sockets, when several share one Redis.

An agent's desk, or a chat visitor's page, has its socket on one instance, and what
follows its closing (an agent set away, then offline: ``desk/presence.py``; a waiting chat
abandoned: ``desk/chat.py``) must not happen on one instance while the owner is connected
to another: a dropped network reconnects through the load balancer to any instance. So
each instance records the owners whose sockets it holds (the ``sockets`` key: agents and
chat sessions, ``member``) under a lease it renews (``lease``: a key with a time to live).
An instance that dies stops renewing; the first other one to find its lease lapsed (having
renewed its own without a failure for a lease at least: a Redis outage may have lapsed
live instances' leases) claims it (removing it from ``instances`` succeeds for one
claimer only) and treats each of its
owners not connected elsewhere as gone: an agent away at once, their offers back in their
queues at their places, offline after the grace period unless they reconnect; a visitor's
waiting chat abandoned after its grace unless they resume it. Alone (no Redis), an
instance is the only place a socket can be.

Work that one instance of them all must do (delivering a webhook receiver's events, which
would otherwise reach it once from each instance) runs under ``alone``: on the instance
holding that work's key (``alone``), renewed as the lease is; another takes it over when
its holder stops renewing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from redis.exceptions import RedisError

from routing.redis import client
from routing.redis_keys import named

log = logging.getLogger(__name__)

# What an instance does with the members of one found gone (agents' desks: disconnected;
# chat visitors: their waiting chats abandoned unless they come back).
Lapsed = Callable[[list[str]], Awaitable[None]]
AGENT, CHAT = "agent", "chat"


def member(kind: str, owner: str) -> str:
    """What the record holds for a socket owner: an agent's or a chat visitor's session."""
    return f"{kind}:{owner}"


def owners(kind: str, members: Iterable[str]) -> list[str]:
    """The owners of ``kind`` among ``members``."""
    prefix = f"{kind}:"
    return [m.removeprefix(prefix) for m in members if m.startswith(prefix)]


# Renewal and claim are each one script, so that no claim falls between a lapsed
# instance's look at its lease and its joining again (which would leave it out of
# ``instances`` for good, renewing a lease nobody looks at).
# Renew: KEYS lease, instances; ARGV instance, ms. 1 when still a member and renewed.
_RENEW = """
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 and redis.call('SET', KEYS[1], '1', 'PX', ARGV[2], 'XX') then
  return 1
end
return 0
"""
# Keep (renew) or free a key held by this instance alone: KEYS the key; ARGV instance, ms
# (0: free it). 1 when it was this instance's.
_KEEP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == '0' then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"""
# Claim: KEYS lease, instances, sockets; ARGV instance. Its members, or nil when its lease
# lives or another claimed it first.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('SREM', KEYS[2], ARGV[1]) == 0 then
  return false
end
local members = redis.call('HKEYS', KEYS[3])
redis.call('DEL', KEYS[3])
return members
"""


async def _logged(work: Awaitable[None], what: str) -> None:
    """``work`` awaited, a failure logged rather than raised (it would end its task group):
    storage refusing what a claim does, Redis gone meanwhile."""
    try:
        await work
    except Exception:
        log.exception("%s failed", what)


class Membership:
    """One instance alone: its sockets are the only ones."""

    async def held(self, owner: str) -> None:
        """A socket of the owner's (``member``) is open here."""

    async def released(self, owner: str) -> None:
        """The owner's last socket here closed."""

    async def elsewhere(self, owner: str) -> bool:
        """Whether another live instance holds a socket of the owner's."""
        return False

    async def run(self, lapsed: Lapsed, holding: Callable[[], Iterable[str]], rejoined: Lapsed) -> None:
        """Keep the lease and look for instances gone (``lapsed`` gets their members not
        connected elsewhere); ``holding`` gives the members whose sockets are here now,
        ``rejoined`` is told of them when this instance takes its lease again after losing
        it. Nothing to keep alone."""

    async def alone(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``work`` (which runs until cancelled) while no other instance runs the work
        of this ``name``. Alone, at once."""
        await work()

    async def close(self) -> None:
        """This instance leaves, its lease and record with it."""


def instance_name() -> str:
    """This instance's name on the shared state: the machine's, for the operator reading
    Redis, and unique across restarts."""
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:12]}"


class RedisMembership(Membership):
    def __init__(self, redis: str, prefix: str, lease_seconds: float, instance: str) -> None:
        self._redis = client(redis)
        self._prefix = prefix
        self._lease_ms = int(lease_seconds * 1000)
        # Renewed twice a lease: one late renewal (a stalled loop, a slow Redis) is not death.
        self._renew_seconds = lease_seconds / 2
        # A renewal that failed is tried again sooner: the next one, half a lease later,
        # would come as the lease lapses, and another instance might claim it first.
        self._retry_seconds = lease_seconds / 10
        self.instance = instance
        self._instances = named(prefix, "instances")

    def _lease(self, instance: str) -> str:
        return named(self._prefix, "lease", instance=instance)

    def _sockets(self, instance: str) -> str:
        return named(self._prefix, "sockets", instance=instance)

    async def held(self, owner: str) -> None:
        await self._redis.hset(self._sockets(self.instance), owner, "1")

    async def released(self, owner: str) -> None:
        await self._redis.hdel(self._sockets(self.instance), owner)

    async def _others(self) -> list[str]:
        """The other instances on this state (decoded replies are text already)."""
        return [str(i) for i in await self._redis.smembers(self._instances) if i != self.instance]

    async def elsewhere(self, owner: str) -> bool:
        others = await self._others()
        if not others:
            return False
        async with self._redis.pipeline(transaction=False) as pipe:
            for other in others:
                pipe.exists(self._lease(other))
                pipe.hexists(self._sockets(other), owner)
            replies = await pipe.execute()
        return any(alive and holds for alive, holds in zip(replies[::2], replies[1::2], strict=True))

    async def run(self, lapsed: Lapsed, holding: Callable[[], Iterable[str]], rejoined: Lapsed) -> None:
        # What follows a claim or a joining again (owners set away or back: storage, routing,
        # perhaps waiting out the decisions lock a dead instance held) runs beside the
        # renewals, which must go on meanwhile, or this live instance's lease would lapse.
        async with asyncio.TaskGroup() as beside:
            await self._keep_lease(lapsed, holding, rejoined, beside)

    async def _keep_lease(
        self, lapsed: Lapsed, holding: Callable[[], Iterable[str]], rejoined: Lapsed, beside: asyncio.TaskGroup
    ) -> None:
        loop = asyncio.get_running_loop()
        first = True
        # Since when this instance's renewals have succeeded, its lease held throughout. Only
        # after a lease of that does it take another for dead: after a Redis outage, the
        # others' leases may have lapsed during it (every one, if it lasted a lease), and
        # the first instance back would otherwise claim them before they renew.
        renewing_since = loop.time()
        while True:
            try:
                members = await self._renew(holding)
            except Exception:
                # Redis away (/readyz says so): the lease must go on being renewed, or this
                # live instance would be claimed.
                log.exception("instance %s: lease renewal failed; trying again", self.instance)
                renewing_since = loop.time()
                await asyncio.sleep(self._retry_seconds)
                continue
            if members is not None:
                renewing_since = loop.time()
                if not first:
                    # Lapsed while alive (a stall longer than the lease): another instance
                    # may have disconnected these owners, whose sockets are open here.
                    beside.create_task(_logged(rejoined(members), f"instance {self.instance}: joining again"))
            first = False
            if loop.time() - renewing_since >= self._lease_ms / 1000:
                try:
                    for other, held in await self._claim_lapsed():
                        beside.create_task(
                            _logged(self._gone(held, lapsed), f"instance {self.instance}: claiming {other}")
                        )
                except Exception:
                    log.exception("instance %s: looking for instances gone failed", self.instance)
            await asyncio.sleep(self._renew_seconds)

    async def _renew(self, holding: Callable[[], Iterable[str]]) -> list[str] | None:
        """The lease renewed (None), or taken afresh: the members recorded with it."""
        renewed = await self._redis.eval(
            _RENEW, 2, self._lease(self.instance), self._instances, self.instance, self._lease_ms
        )
        if renewed:
            return None
        # A first start, or a lease that lapsed (a long stall) and may have been claimed: join
        # again with the members whose sockets are here now.
        members = list(holding())
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._sockets(self.instance))
            if members:
                pipe.hset(self._sockets(self.instance), mapping=dict.fromkeys(members, "1"))
            pipe.set(self._lease(self.instance), "1", px=self._lease_ms)
            pipe.sadd(self._instances, self.instance)
            await pipe.execute()
        log.info("instance %s: lease taken (%d sockets' owners here)", self.instance, len(members))
        return members

    async def _claim_lapsed(self) -> list[tuple[str, list[str]]]:
        """The instances whose leases lapsed, claimed here, each with its members."""
        claims = []
        for other in await self._others():
            claimed = await self._redis.eval(
                _CLAIM, 3, self._lease(other), self._instances, self._sockets(other), other
            )
            if claimed is None:
                continue
            members = sorted(str(held) for held in claimed)
            log.warning("instance %s is gone (lease lapsed): %d sockets' owners were on it", other, len(members))
            claims.append((other, members))
        return claims

    async def _gone(self, members: list[str], lapsed: Lapsed) -> None:
        """A claimed instance's members not connected elsewhere, to ``lapsed``."""
        await lapsed([held for held in members if not await self.elsewhere(held)])

    async def alone(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        key = named(self._prefix, "alone", work=name)
        while True:
            try:
                taken = await self._redis.set(key, self.instance, nx=True, px=self._lease_ms)
            except (RedisError, OSError):
                log.exception("instance %s: could not ask for %s; asking again", self.instance, name)
                taken = False
            if taken:
                log.info("instance %s: %s runs here", self.instance, name)
                try:
                    await self._while_kept(key, name, work)
                except Exception:
                    # Given up here; it runs again wherever the key is taken next.
                    log.exception("instance %s: %s failed", self.instance, name)
            await asyncio.sleep(self._renew_seconds)

    async def _while_kept(self, key: str, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """``work`` until this instance no longer holds ``key``, or cannot tell in time,
        then the key freed. Each renewal comes half a lease after the last and must be
        answered within another half: past that the key may have lapsed, and another
        instance may be doing the work."""
        running = asyncio.create_task(work(), name=name)
        try:
            while not (await asyncio.wait({running}, timeout=self._renew_seconds))[0]:
                try:
                    renewal = self._redis.eval(_KEEP, 1, key, self.instance, self._lease_ms)
                    kept = await asyncio.wait_for(renewal, self._renew_seconds)
                except (RedisError, OSError, TimeoutError):
                    log.exception("instance %s: could not keep %s in time; stopping it here", self.instance, name)
                    return
                if not kept:
                    log.warning("instance %s: %s was taken over elsewhere; stopping it here", self.instance, name)
                    return
            running.result()  # work that ended on its own: its error, if any, is the caller's
        finally:
            running.cancel()
            await asyncio.wait({running})
            with contextlib.suppress(RedisError, OSError):
                await self._redis.eval(_KEEP, 1, key, self.instance, 0)

    async def close(self) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.srem(self._instances, self.instance)
                pipe.delete(self._lease(self.instance), self._sockets(self.instance))
                await pipe.execute()
        except (RedisError, OSError):
            log.warning("instance %s: could not leave (its lease will lapse)", self.instance)
        await self._redis.aclose()
