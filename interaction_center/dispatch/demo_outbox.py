"""DEMO ONLY: the demo sandbox's outbox (``channels/sandbox/outbox.py``) shared in Redis by
the instances on it, so that ``GET /demo/outbox`` through a balancer shows what any of
them kept, numbered in one sequence (``simulate ... --wait-reply`` asks for what came after
the number it last saw, of whichever instance answers)."""

from __future__ import annotations

from channels.sandbox.outbox import KEPT, Outbox, Sent, kept_after
from interaction_center.domain.json_text import dumps, loads
from routing.redis import client
from routing.redis_keys import named

# KEYS: the outbox, its last number. ARGV: the entry (JSON), how many entries are kept.
# Numbered and added in one step, so the list is in the order of its numbers.
_ADD = """
local number = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[1], number .. ' ' .. ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
return number
"""


class SharedOutbox(Outbox):
    def __init__(self, redis: str, prefix: str) -> None:
        self._redis = client(redis)
        self._keys = (named(prefix, "demo_outbox"), named(prefix, "demo_outbox_number"))
        self._add = self._redis.register_script(_ADD)

    async def add(self, channel: str, to: str, sender: str, body: str) -> Sent:
        number = await self._add(keys=self._keys, args=[dumps([channel, to, sender, body]), KEPT])
        return Sent(int(number), channel, to, sender, body)

    async def after(self, seq: int, to: str | None) -> list[Sent]:
        kept = []
        for entry in await self._redis.lrange(self._keys[0], 0, -1):
            number, data = str(entry).split(" ", 1)
            channel, address, sender, body = loads(data)
            kept.append(Sent(int(number), channel, address, sender, body))
        return kept_after(kept, seq, to)

    async def close(self) -> None:
        await self._redis.aclose()
