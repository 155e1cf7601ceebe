"""In-process routing backend: plain dicts and heaps, one event loop, no locks needed
because no method awaits between reading and writing its state."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from routing.backend import RoutingBackend
from routing.types import AgentProfile, Offer, QueueEntry


@dataclass(slots=True)
class _Agent:
    profile: AgentProfile
    available: bool
    idle_since: float
    holding: set[str] = field(default_factory=set)


class MemoryRoutingBackend(RoutingBackend):
    """One FIFO per queue; each agent holds one interaction (offered or assigned) at a time."""

    def __init__(self) -> None:
        # Heaps keep stale keys after a cancel or an offer; ``_waiting`` is the truth.
        self._heaps: dict[str, list[tuple[float, str]]] = {}
        self._waiting: dict[str, QueueEntry] = {}
        self._offers: dict[str, Offer] = {}
        self._offer_of: dict[str, str] = {}
        self._expiry: list[tuple[float, str]] = []
        self._assigned: dict[str, str] = {}
        self._agents: dict[str, _Agent] = {}
        self._declined: dict[str, set[str]] = {}

    async def enqueue(self, entry: QueueEntry) -> bool:
        iid = entry.interaction_id
        if iid in self._waiting or iid in self._offer_of or iid in self._assigned:
            return False
        self._put_back(entry)
        return True

    async def cancel(self, interaction_id: str) -> bool:
        if self._waiting.pop(interaction_id, None) is not None:
            self._declined.pop(interaction_id, None)
            return True
        offer_id = self._offer_of.get(interaction_id)
        if offer_id is not None:
            offer = self._close_offer(offer_id)
            self._agents[offer.agent_id].holding.discard(interaction_id)
            self._declined.pop(interaction_id, None)
            return True
        agent_id = self._assigned.pop(interaction_id, None)
        if agent_id is not None:
            self._agents[agent_id].holding.discard(interaction_id)
            return True
        return False

    async def set_available(self, agent: AgentProfile, now: float) -> None:
        state = self._agents.get(agent.agent_id)
        if state is None:
            self._agents[agent.agent_id] = _Agent(agent, available=True, idle_since=now)
            return
        if not state.available:
            state.idle_since = now
        state.profile = agent
        state.available = True

    async def set_unavailable(self, agent_id: str) -> Offer | None:
        state = self._agents.get(agent_id)
        if state is None:
            return None
        state.available = False
        for interaction_id in list(state.holding):
            offer_id = self._offer_of.get(interaction_id)
            if offer_id is not None:
                return self._return_offer(offer_id)
        return None

    async def next_offer(self, offer_id: str, now: float, timeout: float) -> Offer | None:
        heads = sorted(
            (head for name in list(self._heaps) if (head := self._head(name)) is not None),
            key=lambda entry: entry.order_key,
        )
        for entry in heads:
            agent = self._pick_agent(entry)
            if agent is None:
                continue
            heapq.heappop(self._heaps[entry.queue])
            del self._waiting[entry.interaction_id]
            offer = Offer(offer_id=offer_id, agent_id=agent.profile.agent_id, entry=entry, expires_at=now + timeout)
            self._offers[offer_id] = offer
            self._offer_of[entry.interaction_id] = offer_id
            heapq.heappush(self._expiry, (offer.expires_at, offer_id))
            agent.holding.add(entry.interaction_id)
            return offer
        return None

    async def accept(self, offer_id: str, agent_id: str) -> Offer | None:
        offer = self._offers.get(offer_id)
        if offer is None or offer.agent_id != agent_id:
            return None
        self._close_offer(offer_id)
        self._assigned[offer.interaction_id] = agent_id
        self._declined.pop(offer.interaction_id, None)
        return offer

    async def reject(self, offer_id: str, agent_id: str) -> Offer | None:
        offer = self._offers.get(offer_id)
        if offer is None or offer.agent_id != agent_id:
            return None
        self._declined.setdefault(offer.interaction_id, set()).add(agent_id)
        return self._return_offer(offer_id)

    async def expire(self, now: float) -> list[Offer]:
        lapsed: list[Offer] = []
        while self._expiry and self._expiry[0][0] <= now:
            _, offer_id = heapq.heappop(self._expiry)
            if offer_id not in self._offers:
                continue
            offer = self._return_offer(offer_id)
            self._agents[offer.agent_id].available = False
            self._declined.setdefault(offer.interaction_id, set()).add(offer.agent_id)
            lapsed.append(offer)
        return lapsed

    async def release(self, interaction_id: str, now: float) -> str | None:
        agent_id = self._assigned.pop(interaction_id, None)
        if agent_id is None:
            return None
        agent = self._agents[agent_id]
        agent.holding.discard(interaction_id)
        agent.idle_since = now
        return agent_id

    async def waiting(self, queue: str) -> list[QueueEntry]:
        return sorted((e for e in self._waiting.values() if e.queue == queue), key=lambda e: e.order_key)

    async def open_offers(self, agent_id: str) -> list[Offer]:
        return [offer for offer in self._offers.values() if offer.agent_id == agent_id]

    async def restore_assigned(self, entry: QueueEntry, agent_id: str) -> None:
        self._assigned[entry.interaction_id] = agent_id
        agent = self._agents.setdefault(
            agent_id, _Agent(AgentProfile(agent_id, ()), available=False, idle_since=entry.enqueued_at)
        )
        agent.holding.add(entry.interaction_id)

    async def close(self) -> None:
        """Nothing to release: the state lives and dies with the process."""

    def _head(self, queue: str) -> QueueEntry | None:
        heap = self._heaps[queue]
        while heap:
            entry = self._waiting.get(heap[0][1])
            if entry is not None and entry.order_key == heap[0]:
                return entry
            heapq.heappop(heap)
        return None

    def _pick_agent(self, entry: QueueEntry) -> _Agent | None:
        """Longest idle free agent of the queue, preferring one that has not yet declined
        or missed this entry; one that has is still better than leaving it waiting."""
        declined = self._declined.get(entry.interaction_id, set())
        free = [
            agent
            for agent in self._agents.values()
            if agent.available and not agent.holding and entry.queue in agent.profile.queues
        ]
        if not free:
            return None
        return min(free, key=lambda a: (a.profile.agent_id in declined, a.idle_since, a.profile.agent_id))

    def _put_back(self, entry: QueueEntry) -> None:
        self._waiting[entry.interaction_id] = entry
        heapq.heappush(self._heaps.setdefault(entry.queue, []), entry.order_key)

    def _close_offer(self, offer_id: str) -> Offer:
        offer = self._offers.pop(offer_id)
        del self._offer_of[offer.interaction_id]
        return offer

    def _return_offer(self, offer_id: str) -> Offer:
        offer = self._close_offer(offer_id)
        self._agents[offer.agent_id].holding.discard(offer.interaction_id)
        self._put_back(offer.entry)
        return offer
