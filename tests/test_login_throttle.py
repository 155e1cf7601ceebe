"""The login throttle on its own clock, in this process and shared in Redis by instances
behind a balancer: failures past the limit make each further attempt wait twice as long,
per username and per address; a success clears its username; old failures are forgotten;
the keys one process holds are bounded. Shared, an attempt on one instance counts on all."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from interaction_center.desk import throttle
from interaction_center.desk.shared_throttle import SharedLoginThrottle
from interaction_center.desk.throttle import LoginThrottle, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


Limiters = Callable[[Clock], Throttle]


@pytest.fixture(params=["memory", "redis"])
async def limiters(request: pytest.FixtureRequest) -> AsyncIterator[Limiters]:
    """Throttles on a clock: in this process, or in Redis (each on the test's prefix, so two
    made are two instances sharing one)."""
    made: list[Throttle] = []
    prefix = f"test:{uuid.uuid4().hex}:"

    def make(clock: Clock) -> Throttle:
        if request.param == "memory":
            made.append(LoginThrottle(clock))
        else:
            made.append(SharedLoginThrottle(request.getfixturevalue("redis_url"), prefix, clock))
        return made[-1]

    yield make
    for limiter in made:
        await limiter.close()


async def _fail(limiter: Throttle, times: int, username: str = "alice", address: str = "10.0.0.1") -> None:
    for _ in range(times):
        assert await limiter.attempt(username, address) == 0.0


async def test_past_the_limit_each_attempt_waits_twice_as_long_as_the_last(limiters: Limiters) -> None:
    clock = Clock()
    limiter = limiters(clock)
    await _fail(limiter, throttle.PER_USER)
    waits = []
    for _ in range(4):
        wait = await limiter.attempt("alice", "10.0.0.1")
        waits.append(wait)
        clock.now += wait
        assert await limiter.attempt("alice", "10.0.0.1") == 0.0  # allowed once the wait is over: a failure
    assert waits == [1.0, 2.0, 4.0, 8.0]


async def test_a_username_is_throttled_whatever_its_case_and_others_are_not(limiters: Limiters) -> None:
    limiter = limiters(Clock())
    await _fail(limiter, throttle.PER_USER)
    assert await limiter.attempt("ALICE", "10.0.0.9") > 0
    assert await limiter.attempt("bob", "10.0.0.1") == 0.0


async def test_an_address_guessing_many_usernames_is_throttled(limiters: Limiters) -> None:
    limiter = limiters(Clock())
    for n in range(throttle.PER_ADDRESS):
        assert await limiter.attempt(f"user{n}", "10.0.0.1") == 0.0
    assert await limiter.attempt("someone-new", "10.0.0.1") > 0
    assert await limiter.attempt("someone-new", "10.0.0.2") == 0.0


async def test_a_success_clears_its_username_and_takes_back_its_own_count_at_the_address(limiters: Limiters) -> None:
    limiter = limiters(Clock())
    await _fail(limiter, throttle.PER_USER - 1)
    assert await limiter.attempt("alice", "10.0.0.1") == 0.0
    await limiter.succeeded("alice", "10.0.0.1")
    await _fail(limiter, throttle.PER_USER - 1)  # counted from nothing again
    assert await limiter.attempt("alice", "10.0.0.1") == 0.0
    # The address keeps the earlier failures: PER_USER - 1 twice, plus this one.
    for n in range(throttle.PER_ADDRESS - 2 * throttle.PER_USER + 1):
        assert await limiter.attempt(f"other{n}", "10.0.0.1") == 0.0
    assert await limiter.attempt("another", "10.0.0.1") > 0


async def test_failures_are_forgotten_after_a_quiet_while(limiters: Limiters) -> None:
    clock = Clock()
    limiter = limiters(clock)
    await _fail(limiter, throttle.PER_USER)
    assert await limiter.attempt("alice", "10.0.0.1") > 0
    clock.now += throttle.FORGET_SECONDS
    assert await limiter.attempt("alice", "10.0.0.1") == 0.0
    assert await limiter.attempt("alice", "10.0.0.1") == 0.0  # the count started again


async def test_the_wait_never_passes_its_longest(limiters: Limiters) -> None:
    clock = Clock()
    limiter = limiters(clock)
    await _fail(limiter, throttle.PER_USER)
    for _ in range(20):
        wait = await limiter.attempt("alice", "10.0.0.1")
        assert wait <= throttle.LONGEST_WAIT_SECONDS
        clock.now += wait
        await limiter.attempt("alice", "10.0.0.1")
    assert await limiter.attempt("alice", "10.0.0.1") == throttle.LONGEST_WAIT_SECONDS


async def test_the_keys_one_process_holds_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "MOST_KEYS", 10)
    limiter = LoginThrottle(Clock())
    for n in range(50):
        await limiter.attempt(f"user{n}", f"10.0.{n}.1")
    assert len(limiter._failures) == 10


async def test_instances_sharing_the_throttle_count_each_others_failures(redis_url: str) -> None:
    clock = Clock()
    prefix = f"test:{uuid.uuid4().hex}:"
    first, second = SharedLoginThrottle(redis_url, prefix, clock), SharedLoginThrottle(redis_url, prefix, clock)
    try:
        # Guesses spread over two instances are counted as by one.
        for n in range(throttle.PER_USER):
            assert await (first, second)[n % 2].attempt("alice", f"10.0.0.{n}") == 0.0
        assert await first.attempt("alice", "10.0.1.1") == 1.0
        assert await second.attempt("alice", "10.0.1.2") == 1.0
        await second.succeeded("alice", "10.0.0.1")
        assert await first.attempt("alice", "10.0.1.1") == 0.0
    finally:
        await first.close()
        await second.close()
