"""The login throttle on its own clock: failures past the limit make each further attempt
wait twice as long, per username and per address; a success clears its username; old
failures are forgotten; the keys it holds are bounded."""

from __future__ import annotations

import pytest

from interaction_center.desk import throttle
from interaction_center.desk.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail(limiter: LoginThrottle, times: int, username: str = "alice", address: str = "10.0.0.1") -> None:
    for _ in range(times):
        assert limiter.attempt(username, address) == 0.0


def test_past_the_limit_each_attempt_waits_twice_as_long_as_the_last() -> None:
    clock = Clock()
    limiter = LoginThrottle(clock)
    _fail(limiter, throttle.PER_USER)
    waits = []
    for _ in range(4):
        wait = limiter.attempt("alice", "10.0.0.1")
        waits.append(wait)
        clock.now += wait
        assert limiter.attempt("alice", "10.0.0.1") == 0.0  # allowed once the wait is over: a failure
    assert waits == [1.0, 2.0, 4.0, 8.0]


def test_a_username_is_throttled_whatever_its_case_and_others_are_not() -> None:
    limiter = LoginThrottle(Clock())
    _fail(limiter, throttle.PER_USER)
    assert limiter.attempt("ALICE", "10.0.0.9") > 0
    assert limiter.attempt("bob", "10.0.0.1") == 0.0


def test_an_address_guessing_many_usernames_is_throttled() -> None:
    limiter = LoginThrottle(Clock())
    for n in range(throttle.PER_ADDRESS):
        assert limiter.attempt(f"user{n}", "10.0.0.1") == 0.0
    assert limiter.attempt("someone-new", "10.0.0.1") > 0
    assert limiter.attempt("someone-new", "10.0.0.2") == 0.0


def test_a_success_clears_its_username_and_takes_back_its_own_count_at_the_address() -> None:
    limiter = LoginThrottle(Clock())
    _fail(limiter, throttle.PER_USER - 1)
    assert limiter.attempt("alice", "10.0.0.1") == 0.0
    limiter.succeeded("alice", "10.0.0.1")
    _fail(limiter, throttle.PER_USER - 1)  # counted from nothing again
    assert limiter.attempt("alice", "10.0.0.1") == 0.0
    # The address keeps the earlier failures: PER_USER - 1 twice, plus this one.
    for n in range(throttle.PER_ADDRESS - 2 * throttle.PER_USER + 1):
        assert limiter.attempt(f"other{n}", "10.0.0.1") == 0.0
    assert limiter.attempt("another", "10.0.0.1") > 0


def test_failures_are_forgotten_after_a_quiet_while() -> None:
    clock = Clock()
    limiter = LoginThrottle(clock)
    _fail(limiter, throttle.PER_USER)
    assert limiter.attempt("alice", "10.0.0.1") > 0
    clock.now += throttle.FORGET_SECONDS
    assert limiter.attempt("alice", "10.0.0.1") == 0.0
    assert limiter.attempt("alice", "10.0.0.1") == 0.0  # the count started again


def test_the_wait_never_passes_its_longest(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    limiter = LoginThrottle(clock)
    _fail(limiter, throttle.PER_USER)
    for _ in range(20):
        wait = limiter.attempt("alice", "10.0.0.1")
        assert wait <= throttle.LONGEST_WAIT_SECONDS
        clock.now += wait
        limiter.attempt("alice", "10.0.0.1")
    assert limiter.attempt("alice", "10.0.0.1") == throttle.LONGEST_WAIT_SECONDS


def test_the_keys_held_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "MOST_KEYS", 10)
    limiter = LoginThrottle(Clock())
    for n in range(50):
        limiter.attempt(f"user{n}", f"10.0.{n}.1")
    assert len(limiter._failures) == 10
