"""Login throttling: after ``PER_USER`` failed logins for one username, or ``PER_ADDRESS``
from one address, each further attempt must wait, twice as long after every failure (1 s,
2 s, 4 s... up to ``LONGEST_WAIT_SECONDS``); the count is forgotten after
``FORGET_SECONDS`` without a failure (longer than the longest wait, or waiting it out
would start the count again). An attempt counts as a failure from the moment it starts,
so a burst of guesses in parallel is throttled like a sequence of them; a success takes
its own count back and clears the username's failures (not the address's: one good
password must not reset an address guessing others). Unknown usernames are throttled like
known ones, so the answer tells nothing of which exist.

``LoginThrottle`` keeps the counts in this process, at most ``MOST_KEYS`` of them (the
least recently used are dropped first): one instance's. Instances behind a balancer share
theirs in Redis (``desk/shared_throttle.py``), so that spreading guesses over them gains
nothing."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

PER_USER = 5
PER_ADDRESS = 20
LONGEST_WAIT_SECONDS = 900.0
FORGET_SECONDS = 3600.0
MOST_KEYS = 100_000


class Throttle(Protocol):
    async def attempt(self, username: str, address: str) -> float:
        """Seconds until this username may try again from this address; 0 when it may
        now, and then the attempt is counted (as a failure until ``succeeded``)."""
        ...

    async def succeeded(self, username: str, address: str) -> None: ...

    async def close(self) -> None: ...


@dataclass
class _Failures:
    count: int
    last: float


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: OrderedDict[tuple[str, str], _Failures] = OrderedDict()

    async def attempt(self, username: str, address: str) -> float:
        now = self._clock()
        keys = (("user", username.casefold()), ("address", address))
        wait = max(self._wait(key, limit, now) for key, limit in zip(keys, (PER_USER, PER_ADDRESS), strict=True))
        if wait > 0:
            return wait
        for key in keys:
            failures = self._failures.pop(key, None) or _Failures(0, now)
            failures.count, failures.last = failures.count + 1, now
            self._failures[key] = failures
        while len(self._failures) > MOST_KEYS:
            self._failures.popitem(last=False)
        return 0.0

    async def succeeded(self, username: str, address: str) -> None:
        self._failures.pop(("user", username.casefold()), None)
        failures = self._failures.get(("address", address))
        if failures is not None:
            failures.count -= 1
            if failures.count <= 0:
                del self._failures[("address", address)]

    async def close(self) -> None:
        """Nothing held but memory."""

    def _wait(self, key: tuple[str, str], limit: int, now: float) -> float:
        failures = self._failures.get(key)
        if failures is None:
            return 0.0
        if now - failures.last >= FORGET_SECONDS:
            del self._failures[key]
            return 0.0
        if failures.count < limit:
            return 0.0
        pause = min(2.0 ** (failures.count - limit), LONGEST_WAIT_SECONDS)
        return max(0.0, failures.last + pause - now)
