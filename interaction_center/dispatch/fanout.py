"""What one instance pushes that sockets on the other instances must get too, handed on
through a Redis Stream (not pub/sub, which drops what a slow or reconnecting reader
misses).

Two kinds of entry. A frame that one instance makes and no other would (a chat reply, a
visitor's or an agent's typing, a chat assigned or ended: ``SocketGroups.push_everywhere``)
goes to the owner's sockets wherever they are; so does the closing of an agent's sockets
when their session or a login of theirs ends (``desk/presence.py``). And a notice that the event log moved: the
agents' pushes are read from the log on every instance (``dispatch/pushes.py``), and an
instance that wrote is told at once, while the others would find it at their next poll;
the notice wakes them. The log stays the one account of what happened (positions, replay
after a reconnect); a lost notice costs a poll's delay, no agent's frame. Frames handed on
are live ones (typing, a chat reply that is also stored and shown again on a resume): an
instance that falls further behind than the stream keeps, or a Redis away longer than the
outbox holds, loses some.

Each instance reads the stream from where it stood when it started, in order, and skips
its own entries, and those it has taken already: an instance numbers its entries, and a
batch Redis added but whose reply was lost (the connection dropped) is sent again, so it
is in the stream twice. The stream is trimmed to about ``FRAMES_KEPT`` entries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from interaction_center.domain.json_text import dumps, loads
from interaction_center.domain.wire import LogPositions
from routing.redis import client
from routing.redis_keys import named

log = logging.getLogger(__name__)

FRAMES_KEPT = 10_000
# Entries held while Redis is away, beyond which the oldest go: they are live frames
# (typing, a reply also stored), not worth holding the process's memory for.
OUTBOX_LIMIT = 10_000
READ_BLOCK_MS = 1_000
RETRY_SECONDS = 1.0
_LOG = "log"
# Told how far another instance read the log (``AgentPushes.heard``).
Heard = Callable[[LogPositions], None]
# Takes another instance's entry of one kind: its owner and data.
Handler = Callable[[str, str], None]


class Fanout:
    """One instance alone: every socket is here."""

    def relay(self, kind: str) -> Handler | None:
        """What ``SocketGroups.relay`` of the ``kind`` group calls."""
        return None

    def log_moved(self, positions: LogPositions) -> None:
        """This instance read the log up to ``positions``: the others may read on."""

    async def run(self, handlers: Mapping[str, Handler], heard: Heard) -> None:
        """Hand this instance's entries on and take the others': each entry to the
        handler of its kind (a socket group's ``relayed``: its frames to the owner's
        sockets here), their log notices to ``heard``."""

    async def close(self) -> None:
        """Connections released."""


class RedisFanout(Fanout):
    def __init__(self, redis: str, prefix: str, instance: str) -> None:
        self._redis = client(redis)
        self._key = named(prefix, "fanout")
        self._instance = instance
        self._outbox: list[dict[FieldT, EncodableT]] = []
        self._queued = asyncio.Event()
        self._numbered = 0
        # The last number taken from each other instance (a name is new at each start).
        self._taken: dict[str, int] = {}

    def relay(self, kind: str) -> Handler:
        return partial(self._add, kind)

    def log_moved(self, positions: LogPositions) -> None:
        self._add(_LOG, "", dumps(positions))

    def _add(self, kind: str, owner: str, data: str) -> None:
        if len(self._outbox) >= OUTBOX_LIMIT:
            del self._outbox[0]
            log.warning("fan-out: Redis has not taken entries in a while; dropping the oldest")
        self._numbered += 1
        self._outbox.append(
            {"from": self._instance, "number": self._numbered, "kind": kind, "owner": owner, "data": data}
        )
        self._queued.set()

    async def run(self, handlers: Mapping[str, Handler], heard: Heard) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._send(), name="fanout-send")
            tasks.create_task(self._receive(handlers, heard), name="fanout-receive")

    async def _send(self) -> None:
        while True:
            await self._queued.wait()
            self._queued.clear()
            batch, self._outbox = self._outbox, []
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for fields in batch:
                        pipe.xadd(self._key, fields, maxlen=FRAMES_KEPT, approximate=True)
                    await pipe.execute()
            except (RedisError, OSError):
                log.exception("fan-out: entries not handed on; trying again")
                self._outbox[:0] = batch
                self._queued.set()
                await asyncio.sleep(RETRY_SECONDS)

    async def _receive(self, handlers: Mapping[str, Handler], heard: Heard) -> None:
        after = ""
        while True:
            try:
                if not after:
                    # Where the stream stands now: what came before was for sockets then.
                    last: Any = await self._redis.xrevrange(self._key, count=1)
                    after = str(last[0][0]) if last else "0-0"
                # [(stream, [(id, fields)])], or nothing when the block ran out.
                replies: Any = await self._redis.xread({self._key: after}, count=1_000, block=READ_BLOCK_MS)
            except (RedisError, OSError):
                log.exception("fan-out: the stream cannot be read; trying again")
                await asyncio.sleep(RETRY_SECONDS)
                continue
            for _, entries in replies:
                for entry_id, fields in entries:
                    after = entry_id
                    if fields.get("from") != self._instance and self._first_time(fields):
                        _take(fields, handlers, heard)

    def _first_time(self, fields: dict[str, str]) -> bool:
        """Whether another instance's entry is not one taken already: an instance sends in
        order, so a number no higher than its last taken is a batch sent again. An entry
        without a number (an older version's) is taken, as it was then."""
        sender = fields.get("from", "")
        try:
            number = int(fields["number"])
        except (KeyError, ValueError):
            return True
        if number <= self._taken.get(sender, 0):
            return False
        self._taken[sender] = number
        return True

    async def close(self) -> None:
        await self._redis.aclose()


def _take(fields: dict[str, str], handlers: Mapping[str, Handler], heard: Heard) -> None:
    """One entry of another instance's; one written by another version (a kind unknown
    here, a field missing) is logged and passed over."""
    kind = fields.get("kind")
    try:
        if kind == _LOG:
            heard(loads(fields["data"]))
        elif kind is not None and kind in handlers:
            handlers[kind](fields["owner"], fields["data"])
        else:
            log.warning("fan-out: an entry of unknown kind %r", kind)
    except Exception:
        # Never the reader's end: the entries after it are other sockets' frames.
        log.exception("fan-out: an entry it cannot take: %r", fields)
