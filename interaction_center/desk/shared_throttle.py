"""The login throttle of instances behind a balancer: the rules of ``desk/throttle.py``, the
counts in Redis (the ``login_failures`` keys of ``routing/redis_keys.py``), so a guesser
spreading attempts over the instances is throttled as by one. Each attempt is one script:
the wait read and the attempt counted in one step, so guesses in parallel on several
instances count as a sequence. Counts expire ``FORGET_SECONDS`` after their last failure;
the times are the callers' clocks (the instances' wall clocks, which agree closely enough
for waits of seconds)."""

from __future__ import annotations

import time
from collections.abc import Callable

from interaction_center.desk.throttle import FORGET_SECONDS, LONGEST_WAIT_SECONDS, PER_ADDRESS, PER_USER
from routing.redis import client
from routing.redis_keys import named

# KEYS: the username's count, the address's. ARGV: now, the two limits, the longest wait,
# how long a count is kept after its last failure. Returns the wait ("0": counted).
_ATTEMPT = """
local now, longest, forget = tonumber(ARGV[1]), tonumber(ARGV[4]), tonumber(ARGV[5])
local wait, forgotten = 0, {}
for i, key in ipairs(KEYS) do
  local h = redis.call('HMGET', key, 'count', 'last')
  local count, last = tonumber(h[1]), tonumber(h[2])
  local limit = tonumber(ARGV[i + 1])
  forgotten[i] = count and now - last >= forget
  if count and not forgotten[i] and count >= limit then
    wait = math.max(wait, last + math.min(2 ^ (count - limit), longest) - now)
  end
end
if wait > 0 then
  return tostring(wait)
end
for i, key in ipairs(KEYS) do
  if forgotten[i] then
    redis.call('DEL', key)
  end
  redis.call('HINCRBY', key, 'count', 1)
  redis.call('HSET', key, 'last', ARGV[1])
  redis.call('EXPIRE', key, math.ceil(forget))
end
return '0'
"""
# KEYS: the username's count, the address's: the first cleared, the second one less.
_SUCCEEDED = """
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 and redis.call('HINCRBY', KEYS[2], 'count', -1) <= 0 then
  redis.call('DEL', KEYS[2])
end
return 1
"""


class SharedLoginThrottle:
    def __init__(self, redis: str, prefix: str, clock: Callable[[], float] = time.time) -> None:
        self._redis = client(redis)
        self._prefix = prefix
        self._clock = clock
        self._attempt = self._redis.register_script(_ATTEMPT)
        self._succeeded = self._redis.register_script(_SUCCEEDED)

    def _keys(self, username: str, address: str) -> list[str]:
        return [
            named(self._prefix, "login_failures", kind="user", who=username.casefold()),
            named(self._prefix, "login_failures", kind="address", who=address),
        ]

    async def attempt(self, username: str, address: str) -> float:
        args: list[str | float] = [repr(self._clock()), PER_USER, PER_ADDRESS, LONGEST_WAIT_SECONDS, FORGET_SECONDS]
        return float(await self._attempt(keys=self._keys(username, address), args=args))

    async def succeeded(self, username: str, address: str) -> None:
        await self._succeeded(keys=self._keys(username, address))

    async def close(self) -> None:
        await self._redis.aclose()
