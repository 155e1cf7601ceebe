"""The one async interface every routing backend implements.

Each method is a single atomic step on the shared state (for Redis: one Lua script), so
two service instances calling them concurrently can never both win the same entry.
Expected outcomes (an offer already gone, an unknown agent) are return values, not errors.
Time is always passed in (epoch seconds), so backends are deterministic under test.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from routing.types import (
    AgentProfile,
    AgentSnapshot,
    AgentState,
    Enqueued,
    FiredClaim,
    Offer,
    QueueEntry,
    QueueStats,
    RoutingEvent,
)

# Offers asked for at a time: most changes allow one or two; a burst (an agent back with
# room for several, a rebuild) takes a few batches, each one step of a shared backend's.
OFFER_BATCH = 8


class RoutingBackend(ABC):
    @abstractmethod
    async def enqueue(self, entry: QueueEntry, now: float) -> Enqueued:
        """Add a waiting entry at its place; DUPLICATE (and no change) if already routed."""

    @abstractmethod
    async def cancel(self, interaction_id: str, now: float) -> bool:
        """Drop a waiting, offered or assigned interaction; True if it was there."""

    @abstractmethod
    async def set_agent(
        self, profile: AgentProfile, state: AgentState, now: float, reason: str | None = None
    ) -> list[Offer]:
        """Set the agent's profile (queues, skills, capacity) and state. Leaving
        ``available`` revokes the agent's open offers, which are returned, their entries
        back in place."""

    @abstractmethod
    async def next_offer(self, offer_id: str, now: float) -> Offer | None:
        """Make the next offer the current state allows, or None when nothing matches.
        Call until None after every change."""

    async def next_offers(self, offer_ids: Sequence[str], now: float) -> list[Offer]:
        """The offers ``next_offer`` would make one call after another, with these ids: one
        per id, or fewer when nothing more matches (then no call would make one). A shared
        backend makes them in one step (one round trip)."""
        made = []
        for offer_id in offer_ids:
            offer = await self.next_offer(offer_id, now)
            if offer is None:
                break
            made.append(offer)
        return made

    async def all_offers(self, new_id: Callable[[], str], now: float) -> list[Offer]:
        """Every offer the state allows now (``next_offers`` until it makes fewer than it
        was given ids for), each with an id from ``new_id``."""
        offers: list[Offer] = []
        while True:
            made = await self.next_offers([new_id() for _ in range(OFFER_BATCH)], now)
            offers += made
            if len(made) < OFFER_BATCH:
                return offers

    @abstractmethod
    async def accept(self, offer_id: str, agent_id: str, now: float) -> Offer | None:
        """Turn the agent's open offer into an assignment; None if it is no longer open, or
        has expired (``now`` at or past ``expires_at``) and waits for ``tick`` to lapse it."""

    @abstractmethod
    async def reject(self, offer_id: str, agent_id: str, now: float) -> Offer | None:
        """Return the entry to its place; the agent stays available. None if not open."""

    @abstractmethod
    async def release(self, interaction_id: str, now: float, wrap_up_seconds: float = 0.0) -> str | None:
        """Free the capacity an assigned interaction held; the agent goes into wrap-up for
        ``wrap_up_seconds`` if above zero. Returns the agent id, None if not assigned."""

    @abstractmethod
    async def extend_wrap_up(self, agent_id: str, seconds: float, now: float) -> float | None:
        """The agent's wrap-up lasts ``seconds`` more; when it now ends, or None if the
        agent is not in wrap-up."""

    @abstractmethod
    async def transfer(self, entry: QueueEntry, now: float) -> bool:
        """Release an assigned interaction from its agent and queue it as ``entry`` (another
        queue, or reserved for a named agent); False if it was not assigned."""

    @abstractmethod
    async def tick(self, now: float, claim: str | None = None) -> list[RoutingEvent]:
        """Fire every timer due by ``now``: offers lapse, SLA deadlines breach, escalation
        steps apply, preferred-agent windows and wrap-up periods end. Each timer fires
        once, whichever caller's tick reaches it.

        With ``claim`` (a name unique to this call), a shared state also keeps the events
        under it until ``recorded(claim)``: should the caller die before recording them,
        another takes them up (``unrecorded``) rather than their being lost with it."""

    @abstractmethod
    async def recorded(self, claim: str) -> None:
        """The events kept under ``claim`` are recorded: no longer kept."""

    @abstractmethod
    async def unrecorded(self, now: float, before: float, limit: int) -> list[FiredClaim]:
        """Up to ``limit`` claims kept since before ``before`` (their caller died, or has
        been failing to record them that long), each with its events and the time they
        fired, taken over: kept as made ``now``, so no other caller takes them up
        meanwhile."""

    @abstractmethod
    async def restore_assigned(self, entry: QueueEntry, agent_id: str) -> None:
        """Record an assignment that storage holds, after a restart, so the agent's
        capacity counts it."""

    @abstractmethod
    async def restore_offer(self, offer: Offer) -> bool:
        """Record an open offer that storage holds, after a restart: the agent holds it
        again and it lapses at its own ``expires_at``. False (and no change) when the
        interaction is already routed or the agent is not available to hold it."""

    @abstractmethod
    async def waiting(self, queue: str) -> list[QueueEntry]:
        """The queue's waiting entries, best first (supervisor views and tests)."""

    @abstractmethod
    async def open_offers(self, agent_id: str) -> list[Offer]:
        """The agent's open offers."""

    @abstractmethod
    async def agent(self, agent_id: str) -> AgentSnapshot | None:
        """The agent as the engine sees it; None if it never was set."""

    @abstractmethod
    async def stats(self, now: float) -> list[QueueStats]:
        """What waits in each queue and channel, and who is there: the engine's live
        state (what was answered or abandoned is counted from the event log)."""

    @abstractmethod
    async def occupancy(self) -> dict[str, float]:
        """Each signed-in agent's occupancy now, by id (offline agents are left out): what
        each queue's ``QueueStats.occupancy`` is the mean of."""

    @abstractmethod
    async def restored(self) -> bool:
        """Whether the state was rebuilt from storage (``mark_restored``) since it began:
        False for a new in-memory engine, and for a Redis that holds no routing state yet
        (a first start, or a server that lost its data)."""

    @abstractmethod
    async def mark_restored(self) -> None:
        """The state now holds what storage held: instances that start later on a shared
        state keep it rather than rebuild it."""

    async def reachable(self) -> bool:
        """Whether the state can be read and changed now (``/readyz``): a shared state may
        be on a server that is down; one in this process always is."""
        return True

    @property
    def shared(self) -> bool:
        """Whether other processes decide on this state too (several instances on one
        Redis): what a caller read of storage before its turn may have been changed by
        another's decisions by then. One process's engine sees all of its decisions."""
        return False

    def decisions(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Held by a caller while it decides and records what it decided, so that callers
        sharing this state record decisions in the order they were made. An in-memory
        engine has one process's callers, which serialize among themselves: nothing to
        hold."""
        return contextlib.nullcontext()

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""
