"""The one async interface every routing backend implements.

Each method is a single atomic step on the shared state (for Redis: one Lua script), so
two service instances calling them concurrently can never both win the same entry.
Expected outcomes (an offer already gone, an unknown agent) are return values, not errors.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from routing.types import AgentProfile, Offer, QueueEntry


class RoutingBackend(ABC):
    @abstractmethod
    async def enqueue(self, entry: QueueEntry) -> bool:
        """Add a waiting entry; False (and no change) if the interaction is already routed."""

    @abstractmethod
    async def cancel(self, interaction_id: str) -> bool:
        """Drop a waiting or offered interaction (abandoned, cancelled); True if it was there."""

    @abstractmethod
    async def set_available(self, agent: AgentProfile, now: float) -> None:
        """Make the agent routable for its queues; idle time counts from ``now`` if it was not."""

    @abstractmethod
    async def set_unavailable(self, agent_id: str) -> Offer | None:
        """Stop routing to the agent; its open offer, if any, is revoked and returned."""

    @abstractmethod
    async def next_offer(self, offer_id: str, now: float, timeout: float) -> Offer | None:
        """Reserve the oldest waiting entry that has an available agent, as an offer to the
        agent idle the longest; None when no entry can be matched now."""

    @abstractmethod
    async def accept(self, offer_id: str, agent_id: str) -> Offer | None:
        """Turn the agent's open offer into an assignment; None if it is no longer open."""

    @abstractmethod
    async def reject(self, offer_id: str, agent_id: str) -> Offer | None:
        """Return the entry to its place; the agent stays available. None if not open."""

    @abstractmethod
    async def expire(self, now: float) -> list[Offer]:
        """Close every offer past its deadline: entries go back to their place and each
        agent that let one lapse is made unavailable (it is probably not at its desk)."""

    @abstractmethod
    async def release(self, interaction_id: str, now: float) -> str | None:
        """Free the capacity an assigned interaction held (the agent's idle time restarts at
        ``now``); returns the agent id, or None if the interaction was not assigned."""

    @abstractmethod
    async def waiting(self, queue: str) -> list[QueueEntry]:
        """The queue's waiting entries, head first (supervisor views and tests)."""

    @abstractmethod
    async def open_offers(self, agent_id: str) -> list[Offer]:
        """The agent's open offers."""

    @abstractmethod
    async def restore_assigned(self, entry: QueueEntry, agent_id: str) -> None:
        """Record an assignment that storage holds, after a restart, so the agent's
        capacity counts it."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""
