"""Redis routing backend: the state in Redis, shared by every instance on it.

Each method is one Lua script (routing/redis_scripts.py), run atomically by Redis, that
decides as the in-memory engine (routing/memory.py) does, on the keys routing/redis_keys.py
names. This side only packs arguments and reads replies (routing/redis_wire.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from itertools import chain
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.commands.core import AsyncScript
from redis.exceptions import LockError, LockNotOwnedError, NoScriptError, RedisError, ResponseError

from routing.backend import RoutingBackend
from routing.redis_keys import named
from routing.redis_scripts import script
from routing.redis_wire import (
    claim_of,
    config_id,
    each,
    entry_record,
    event_of,
    offer_record,
    pack_config,
    pack_entry,
    pack_profile,
    pack_reason,
    records,
    snapshot_of,
    stats_of,
)
from routing.types import (
    AgentProfile,
    AgentSnapshot,
    AgentState,
    EngineConfig,
    Enqueued,
    FiredClaim,
    Offer,
    QueueEntry,
    QueueStats,
    RoutingEvent,
)

log = logging.getLogger(__name__)

# How long the decisions lock lives unrenewed: the longest a decision and its record may
# take (a commit under load takes well under a second), and how long every instance waits
# when the one holding it dies.
DECISION_LOCK_SECONDS = 10.0
# How often a waiting instance tries the lock again (redis-py polls; it has no queue), and
# how long its turn is kept for it after its last try: long enough for a busy event loop's
# stalls, short enough that one which stopped waiting holds the others up no longer.
DECISION_LOCK_POLL_SECONDS = 0.002
DECISION_TURN_MS = 250
# Taking the decisions lock in turns (KEYS: the lock, whose turn is next; ARGV: the
# taker's token, the lock's time to live and the turn's, in ms). Free, it is taken unless
# it is another's turn; held, the taker's turn is next unless it is another's already.
_TAKE_IN_TURN = """
local next = redis.call('GET', KEYS[2])
if next and next ~= ARGV[1] then
  return 0
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if next then
    redis.call('DEL', KEYS[2])
  end
  return 1
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
return 0
"""
# Giving up a wait for the lock (KEYS: the lock, whose turn is next; ARGV: the taker's
# token): the lock freed if it became ours meanwhile, the turn given up if it is ours, so
# that nobody waits out a turn nobody will take.
_GIVE_UP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return 1
"""
# How a script's error reply begins when the configuration it was named is not stored
# (routing/lua/codec.lua).
NO_CONFIG = "NOCONFIG"


def client(url: str) -> Redis:
    """A client to the Redis at ``url`` that gives up on a connection or a reply in time: a
    Redis that stops answering must fail a call (and /readyz), not hang it with the
    process's lock held. Replies as text."""
    return Redis.from_url(url, decode_responses=True, socket_connect_timeout=2.0, socket_timeout=10.0)


class RedisRoutingBackend(RoutingBackend):
    """On the Redis at ``redis`` (a URL, or a client made with ``decode_responses=True``),
    under keys that start with ``prefix``: backends with one prefix share one engine."""

    def __init__(self, redis: str | Redis, config: EngineConfig | None = None, prefix: str = "ic:routing:") -> None:
        self._owns_client = isinstance(redis, str)
        self._redis = client(redis) if isinstance(redis, str) else redis
        self._config = pack_config(config or EngineConfig())
        identity = config_id(self._config)
        self._config_key = named(prefix, "config", config_id=identity)
        # Every script's first two arguments, encoded once.
        self._head = (prefix.encode(), identity.encode())
        self._restored_key = named(prefix, "restored")
        self._decisions_key = named(prefix, "decisions")
        self._decisions_next = named(prefix, "decisions_next")
        self._take_in_turn = self._redis.register_script(_TAKE_IN_TURN)
        self._give_up = self._redis.register_script(_GIVE_UP)

    async def _run(self, command: str, *args: str) -> Any:
        """EVALSHA of the command's script, first loading the script or storing the
        configuration if the server does not have it (redis-py's ``Script`` loads at a cost
        per call this avoids). A server that lost its data has neither: two tries, then
        the call that succeeds."""
        loaded = script(command)
        for _ in range(2):
            try:
                return await self._redis.evalsha(loaded.sha, 0, *self._head, *args)
            except NoScriptError:
                await self._redis.script_load(loaded.source)
            except ResponseError as error:
                if not str(error).startswith(NO_CONFIG):
                    raise
                # One command, so no script sees a part of it.
                await self._redis.hset(self._config_key, items=[*chain.from_iterable(self._config.items())])
        return await self._redis.evalsha(loaded.sha, 0, *self._head, *args)

    async def enqueue(self, entry: QueueEntry, now: float) -> Enqueued:
        return Enqueued(await self._run("enqueue", repr(now), pack_entry(entry)))

    async def cancel(self, interaction_id: str, now: float) -> bool:
        return bool(await self._run("cancel", repr(now), interaction_id))

    async def set_agent(
        self, profile: AgentProfile, state: AgentState, now: float, reason: str | None = None
    ) -> list[Offer]:
        args = (repr(now), profile.agent_id, pack_profile(profile), state.value, pack_reason(reason))
        return [offer_record(r) for r in each(await self._run("set_agent", *args))]

    async def next_offer(self, offer_id: str, now: float) -> Offer | None:
        return _offer_or_none(await self._run("next_offer", repr(now), offer_id))

    async def next_offers(self, offer_ids: Sequence[str], now: float) -> list[Offer]:
        return [offer_record(r) for r in each(await self._run("next_offers", repr(now), *offer_ids))]

    async def accept(self, offer_id: str, agent_id: str, now: float) -> Offer | None:
        return _offer_or_none(await self._run("accept", repr(now), offer_id, agent_id))

    async def reject(self, offer_id: str, agent_id: str, now: float) -> Offer | None:
        return _offer_or_none(await self._run("reject", repr(now), offer_id, agent_id))

    async def release(self, interaction_id: str, now: float, wrap_up_seconds: float = 0.0) -> str | None:
        agent_id: str | None = await self._run("release", repr(now), interaction_id, repr(wrap_up_seconds))
        return agent_id

    async def extend_wrap_up(self, agent_id: str, seconds: float, now: float) -> float | None:
        until = await self._run("extend_wrap_up", repr(now), agent_id, repr(seconds))
        return None if until is None else float(until)

    async def transfer(self, entry: QueueEntry, now: float) -> bool:
        return bool(await self._run("transfer", repr(now), pack_entry(entry)))

    async def tick(self, now: float, claim: str | None = None) -> list[RoutingEvent]:
        return [event_of(w) for w in records(await self._run("tick", repr(now), *([claim] if claim else [])))]

    async def recorded(self, claim: str) -> None:
        await self._run("recorded", claim)

    async def unrecorded(self, now: float, before: float, limit: int) -> list[FiredClaim]:
        flat = await self._run("unrecorded", repr(now), repr(before), str(limit))
        return [claim_of(flat[i], flat[i + 1] or "") for i in range(0, len(flat), 2)]

    async def restore_assigned(self, entry: QueueEntry, agent_id: str) -> None:
        await self._run("restore_assigned", agent_id, pack_entry(entry))

    async def restore_offer(self, offer: Offer) -> bool:
        args = (offer.offer_id, offer.agent_id, repr(offer.expires_at), pack_entry(offer.entry))
        return bool(await self._run("restore_offer", *args))

    async def waiting(self, queue: str) -> list[QueueEntry]:
        return [entry_record(r) for r in each(await self._run("waiting", queue))]

    async def open_offers(self, agent_id: str) -> list[Offer]:
        return [offer_record(r) for r in each(await self._run("open_offers", agent_id))]

    async def agent(self, agent_id: str) -> AgentSnapshot | None:
        reply = await self._run("agent", agent_id)
        return None if reply is None else snapshot_of(agent_id, records(reply)[0])

    async def stats(self, now: float) -> list[QueueStats]:
        return [stats_of(w) for w in records(await self._run("stats", repr(now)))]

    async def occupancy(self) -> dict[str, float]:
        return {agent_id: float(load) for agent_id, load in records(await self._run("occupancy"))}

    async def restored(self) -> bool:
        return bool(await self._redis.exists(self._restored_key))

    async def mark_restored(self) -> None:
        await self._redis.set(self._restored_key, repr(time.time()))

    async def reachable(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    @property
    def shared(self) -> bool:
        return True

    @contextlib.asynccontextmanager
    async def decisions(self) -> AsyncIterator[None]:
        """A lock in Redis, with a time to live so that an instance that dies holding it
        stops the others for ``DECISION_LOCK_SECONDS`` at most."""
        lock = _InTurn(self._redis, self._decisions_key, self._decisions_next, self._take_in_turn)
        token = uuid.uuid4().hex
        try:
            await lock.acquire(token=token)
        except asyncio.CancelledError:
            # Cancelled (the service stopping, a caller's time out) while waiting, or with
            # the reply on its way: the lock may be ours, unknown to redis-py, and the next
            # turn may be ours; both given up, rather than left to lapse while the others
            # wait. A failure to give them up must not replace the cancel (they lapse).
            with contextlib.suppress(RedisError, OSError):
                await self._give_up(keys=[self._decisions_key, self._decisions_next], args=[token])
            raise
        kept = asyncio.create_task(_keep(lock))
        try:
            yield
        finally:
            kept.cancel()
            try:
                # Waited for, not awaited: awaiting it under suppress(CancelledError) also
                # swallowed a cancel of the caller arriving meanwhile, and a ticker cancelled
                # there as the service stopped went on ticking, its stop waiting for ever.
                await asyncio.wait({kept})
            finally:
                try:
                    await lock.release()
                except LockNotOwnedError:
                    # Held past its time to live: another instance may have decided meanwhile.
                    log.warning("routing decisions lock expired while held (over %.0f s)", DECISION_LOCK_SECONDS)
                except (RedisError, OSError) as exc:
                    # Not raised: it would replace a cancel on its way (the caller would
                    # go on); the lock lapses after its time to live.
                    log.warning(
                        "routing decisions lock not released (%s): it lapses in %.0f s", exc, DECISION_LOCK_SECONDS
                    )

    async def close(self) -> None:
        if self._owns_client:
            await self._redis.aclose()


class _InTurn(Lock):
    """redis-py's lock, taken in turns. Its own acquire polls: an instance busy deciding,
    which releases the lock and asks for it again at once, wins it nearly every time over
    one that polls, which may then wait for as long as the other stays busy."""

    def __init__(self, redis: Redis, name: str, turn: str, take: AsyncScript) -> None:
        super().__init__(redis, name, timeout=DECISION_LOCK_SECONDS, sleep=DECISION_LOCK_POLL_SECONDS)
        self._turn = turn
        self._take = take

    async def do_acquire(self, token: str | bytes) -> bool:
        ttl_ms = int(DECISION_LOCK_SECONDS * 1000)
        return bool(await self._take(keys=[self.name, self._turn], args=[token, ttl_ms, DECISION_TURN_MS]))


async def _keep(lock: Lock) -> None:
    """The lock's time to live renewed while its holder lives and holds it (a rebuild from
    a large database, a slow commit): only a dead holder's lock lapses."""
    while True:
        await asyncio.sleep(DECISION_LOCK_SECONDS / 3)
        try:
            await lock.extend(DECISION_LOCK_SECONDS, replace_ttl=True)
        except (LockError, RedisError, OSError):
            log.warning("routing decisions lock could not be extended")
            return


def _offer_or_none(reply: str | None) -> Offer | None:
    return None if reply is None else offer_record(reply)
