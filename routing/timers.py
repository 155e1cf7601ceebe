"""When things fall due: offers expire, answer deadlines (SLA) pass, escalation steps
apply, preferred-agent windows and wrap-up periods end.

One min-heap per kind, popped in time order. A timer is never cancelled: the engine
checks, as it pops one, that it still applies (the offer is still open, the deadline is
still the entry's), which keeps every change that would cancel one O(1).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any, TypeVar

_Timer = TypeVar("_Timer", bound=tuple[Any, ...])  # (when, what...)


class Timers:
    def __init__(self) -> None:
        self._offers: list[tuple[float, str]] = []  # expires at, offer id
        self._deadlines: list[tuple[float, str]] = []  # answer deadline, interaction id
        # due, interaction id, and the queue and step the entry was at when it was set
        self._escalations: list[tuple[float, str, str, int]] = []
        self._preferences: list[tuple[float, str]] = []  # preferred until, interaction id
        self._wrap_ups: list[tuple[float, str]] = []  # wrap-up until, agent id

    def offer_expires(self, at: float, offer_id: str) -> None:
        heapq.heappush(self._offers, (at, offer_id))

    def answer_due(self, at: float, interaction_id: str) -> None:
        heapq.heappush(self._deadlines, (at, interaction_id))

    def escalation_due(self, at: float, interaction_id: str, queue: str, step: int) -> None:
        heapq.heappush(self._escalations, (at, interaction_id, queue, step))

    def preference_ends(self, at: float, interaction_id: str) -> None:
        heapq.heappush(self._preferences, (at, interaction_id))

    def wrap_up_ends(self, at: float, agent_id: str) -> None:
        heapq.heappush(self._wrap_ups, (at, agent_id))

    def expired_offers(self, now: float) -> Iterator[tuple[float, str]]:
        return _due(self._offers, now)

    def passed_deadlines(self, now: float) -> Iterator[tuple[float, str]]:
        return _due(self._deadlines, now)

    def due_escalations(self, now: float) -> Iterator[tuple[float, str, str, int]]:
        # Only timers due before this tick began: a step that schedules another already
        # due (overflow into a queue whose first step is immediate) waits for the next
        # tick, so queues that overflow into each other cannot spin.
        budget = sum(1 for item in self._escalations if item[0] <= now)
        return _due(self._escalations, now, budget)

    def ended_preferences(self, now: float) -> Iterator[tuple[float, str]]:
        return _due(self._preferences, now)

    def ended_wrap_ups(self, now: float) -> Iterator[tuple[float, str]]:
        return _due(self._wrap_ups, now)


def _due(heap: list[_Timer], now: float, limit: int | None = None) -> Iterator[_Timer]:
    """Pop the timers due by ``now``, in time order, up to ``limit`` of them. Lazy, so a
    timer pushed while iterating is popped too if it is due (and within the limit)."""
    while heap and heap[0][0] <= now and limit != 0:
        if limit is not None:
            limit -= 1
        yield heapq.heappop(heap)
