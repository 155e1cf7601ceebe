"""The agents ready to take work, indexed so that choosing one never scans them all: per
(queue, channel), a heap of the agents that may take from it, ordered by the queue's
strategy.

Ranks are refreshed lazily: an item is checked when it surfaces and, if its agent's rank
has changed, pushed down again. That is sound only for ranks that worsen as time passes,
so an agent whose rank may have improved (its load dropped under least occupied, or its
profile changed) is pushed afresh. Each push stamps the item and the agent keeps the
stamp of its one live item per heap; items with another stamp are dropped when they
surface.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping
from itertools import count

from routing.agents import EngineAgent
from routing.types import EngineConfig, QueueEntry, Strategy


class ReadyAgents:
    def __init__(self, agents: Mapping[str, EngineAgent], config: EngineConfig) -> None:
        self._agents = agents
        self._config = config
        self._heaps: dict[tuple[str, str], list[tuple[tuple[float, ...], str, int]]] = {}
        self._stamps = count(1)

    def index(self, agent: EngineAgent) -> None:
        """Push the available agent where it may now take work and is not yet indexed, or
        where its rank may have improved."""
        channels = agent.channels_open()
        for queue in agent.memberships:
            policy = self._config.policy(queue)
            improves = policy.strategy is Strategy.LEAST_OCCUPIED
            for channel in channels:
                slot = (queue, channel)
                if improves or slot not in agent.in_ready:
                    stamp = agent.in_ready[slot] = next(self._stamps)
                    rank = agent.rank(policy.strategy, policy.skills)
                    heapq.heappush(self._heaps.setdefault(slot, []), (rank, agent.agent_id, stamp))

    def best(self, entry: QueueEntry, declined: Collection[str], now: float) -> EngineAgent | None:
        """The best ready agent for the entry by its queue's strategy; an agent that
        declined it is taken only when no other is ready."""
        policy = self._config.policy(entry.queue)
        slot = (entry.queue, entry.channel)
        heap = self._heaps.get(slot)
        if not heap:
            return None
        passed_over: list[tuple[tuple[float, ...], str, int]] = []
        chosen: EngineAgent | None = None
        fallback: EngineAgent | None = None
        while heap:
            rank, agent_id, stamp = heap[0]
            agent = self._agents[agent_id]
            if agent.in_ready.get(slot) != stamp:
                heapq.heappop(heap)
                continue
            if entry.queue not in agent.memberships or not agent.can_take(entry.channel):
                heapq.heappop(heap)
                del agent.in_ready[slot]
                continue
            fresh = agent.rank(policy.strategy, policy.skills)
            if fresh != rank:
                heapq.heapreplace(heap, (fresh, agent_id, stamp))
                continue
            membership = agent.memberships[entry.queue]
            eligible = agent.has_skills(entry.skills) and entry.enqueued_at <= now - membership.delay_seconds
            if eligible and agent_id not in declined:
                chosen = agent
                break
            if eligible and fallback is None:
                fallback = agent
            passed_over.append(heapq.heappop(heap))
        for item in passed_over:
            heapq.heappush(heap, item)
        return chosen or fallback
