"""The agents ready to take work, indexed so that choosing one never scans them all.

Agents sit in pools: per (queue, channel), per set of skills entries there require, per
membership delay, a heap of the ready agents that have those skills, ordered by the
queue's strategy. An entry looks only at the pools of its own skills whose delay it has
waited out, so agents it could not be offered to (without a skill it needs, or holding
back for older entries) are never in its way however many they are. A skill set is given
its pools the first time an entry asks for it, from a look at every agent (once); every
agent indexed from then on joins them too.

Ranks are refreshed lazily: an item is checked when it surfaces and, if its agent's rank
has changed, pushed down again. That is sound only for ranks that worsen as time passes,
so an agent whose rank may have improved (its load dropped under least occupied, or its
profile changed) is pushed afresh. Each push stamps the item and the agent keeps the
stamp of its one live item per (queue, channel, skills); items with another stamp are
dropped when they surface.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping
from itertools import count

from routing.agents import EngineAgent, ReadyKey
from routing.types import EngineConfig, QueueEntry, Skills, Strategy

Item = tuple[tuple[float, ...], str, int]  # rank, agent id, stamp
Pools = dict[float, list[Item]]  # membership delay -> heap
Ranked = tuple[tuple[tuple[float, ...], str], EngineAgent]  # (rank, agent id), the agent

# A skill set no entry has asked for in this long loses its pools (rebuilt if one does): each
# is kept up on every change of its agents, and skill sets come and go (escalation relaxes
# them, transfers name others).
IDLE_POOL_SECONDS = 300.0


class ReadyAgents:
    def __init__(self, agents: Mapping[str, EngineAgent], config: EngineConfig) -> None:
        self._agents = agents
        self._config = config
        self._pools: dict[ReadyKey, Pools] = {}
        # Per (queue, channel), the skill sets entries there have asked for; and when each
        # was last asked for.
        self._asked: dict[tuple[str, str], set[Skills]] = {}
        self._asked_at: dict[ReadyKey, float] = {}
        self._next_prune = 0.0
        self._stamps = count(1)

    def index(self, agent: EngineAgent) -> None:
        """Push the available agent where it may now take work and is not yet indexed, or
        where its rank may have improved."""
        channels = agent.channels_open()
        for queue, membership in agent.memberships.items():
            policy = self._config.policy(queue)
            improves = policy.strategy is Strategy.LEAST_OCCUPIED
            rank: tuple[float, ...] | None = None  # worked out only if the agent is pushed
            for channel in channels:
                for skills in self._asked.get((queue, channel), ()):
                    key = (queue, channel, skills)
                    if (improves or key not in agent.in_ready) and agent.has_skills(skills):
                        if rank is None:
                            rank = agent.rank(policy.strategy, policy.skills)
                        stamp = agent.in_ready[key] = next(self._stamps)
                        pool = self._pools.setdefault(key, {}).setdefault(membership.delay_seconds, [])
                        heapq.heappush(pool, (rank, agent.agent_id, stamp))
                        if len(pool) > 2 * len(self._agents) + 16:
                            self._compact(key, pool)

    def best(self, entry: QueueEntry, declined: Collection[str], now: float) -> EngineAgent | None:
        """The best ready agent for the entry by its queue's strategy; an agent that
        declined it is taken only when no other is ready."""
        key = (entry.queue, entry.channel, entry.skills)
        if now >= self._next_prune:
            self._prune(now)
        self._asked_at[key] = now
        pools = self._pools.get(key)
        if pools is None:
            pools = self._open(key)
        best: Ranked | None = None
        fallback: Ranked | None = None
        for delay, pool in pools.items():
            if entry.enqueued_at > now - delay:
                continue
            chosen, declined_one = self._top(key, pool, declined)
            if chosen is not None and (best is None or chosen[0] < best[0]):
                best = chosen
            if declined_one is not None and (fallback is None or declined_one[0] < fallback[0]):
                fallback = declined_one
        found = best or fallback
        return None if found is None else found[1]

    def _open(self, key: ReadyKey) -> Pools:
        """Pools for a skill set no entry here asked for before, of the ready agents that
        have the skills; indexed agents join them from now on."""
        queue, channel, skills = key
        self._asked.setdefault((queue, channel), set()).add(skills)
        policy = self._config.policy(queue)
        pools: Pools = {}
        for agent in self._agents.values():
            membership = agent.memberships.get(queue)
            if membership is not None and agent.can_take(channel) and agent.has_skills(skills):
                stamp = agent.in_ready[key] = next(self._stamps)
                rank = agent.rank(policy.strategy, policy.skills)
                pools.setdefault(membership.delay_seconds, []).append((rank, agent.agent_id, stamp))
            else:
                # From pools since pruned: it is pushed afresh when next ready.
                agent.in_ready.pop(key, None)
        for pool in pools.values():
            heapq.heapify(pool)
        self._pools[key] = pools
        return pools

    def _prune(self, now: float) -> None:
        for key, asked_at in list(self._asked_at.items()):
            if asked_at < now - IDLE_POOL_SECONDS:
                del self._asked_at[key], self._pools[key]
                self._asked[key[:2]].discard(key[2])
        self._next_prune = now + IDLE_POOL_SECONDS

    def _compact(self, key: ReadyKey, pool: list[Item]) -> None:
        """Drop the pool's stale items: agents that changed often (least occupied pushes
        one at every change) while no entry looked at it."""
        pool[:] = [item for item in pool if self._agents[item[1]].in_ready.get(key) == item[2]]
        heapq.heapify(pool)

    def _top(self, key: ReadyKey, pool: list[Item], declined: Collection[str]) -> tuple[Ranked | None, Ranked | None]:
        """The pool's best agent that did not decline the entry, and the best that did
        (each with its rank): stale items above them dropped, ranks refreshed, and the
        agents that declined set aside to see past them, then put back."""
        queue, channel, _ = key
        policy = self._config.policy(queue)
        aside: list[Item] = []
        chosen: Ranked | None = None
        fallback: Ranked | None = None
        while pool:
            rank, agent_id, stamp = pool[0]
            agent = self._agents[agent_id]
            if agent.in_ready.get(key) != stamp:
                heapq.heappop(pool)
                continue
            if queue not in agent.memberships or not agent.can_take(channel):
                heapq.heappop(pool)
                del agent.in_ready[key]
                continue
            fresh = agent.rank(policy.strategy, policy.skills)
            if fresh != rank:
                heapq.heapreplace(pool, (fresh, agent_id, stamp))
                continue
            if agent_id not in declined:
                chosen = ((rank, agent_id), agent)
                break
            if fallback is None:
                fallback = ((rank, agent_id), agent)
            aside.append(heapq.heappop(pool))
        for item in aside:
            heapq.heappush(pool, item)
        return chosen, fallback
