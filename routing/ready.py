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
stamp of its one live item per pool; items with another stamp are dropped when they
surface. An agent keeps the list of the pools it joins when ready (rebuilt when pools open
or close), so indexing it builds and hashes no key.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping
from itertools import count
from typing import Any

from routing.agents import EngineAgent
from routing.epochs import QueueEpochs
from routing.types import EngineConfig, QueueEntry, QueuePolicy, Skills, Strategy

ReadyKey = tuple[str, str, Skills]  # queue, channel, the skills entries there require
# The rank's figures, agent id, stamp (EngineAgent.ready_item): no object in it, so the
# garbage collector stops tracking it (pools hold stale items a while, and every item it
# tracks makes full collections come sooner).
Item = tuple[Any, ...]
Ranked = tuple[Item, EngineAgent]
# What an agent joins when ready, per channel: each pool (its place among all pools) with
# the agent's membership delay there and whether its rank there can improve (Pool.improves).
# Tuples of numbers, which the garbage collector stops tracking (and the dict with them, at
# its next full collection).
Plan = dict[str, tuple[tuple[int, float, bool], ...]]

# A skill set no entry has asked for in this long loses its pools (rebuilt if one does): each
# is kept up on every change of its agents, and skill sets come and go (escalation relaxes
# them, transfers name others).
IDLE_POOL_SECONDS = 300.0

# Agents noted since the last settle that an entry asking one pool pushes into that pool
# alone; past this many (a burst of sign-ins), it settles them all first, so that no run of
# entries walks a long list each.
SETTLE_ONE_POOL_UP_TO = 8


class Pool:
    """The ready agents of one (queue, channel, required skills): a heap per membership
    delay. Kept once made, empty while closed, so agents' stamps and plans may name it."""

    __slots__ = (
        "asked_at",
        "channel",
        "heaps",
        "improves",
        "index",
        "is_open",
        "key",
        "rank_skills",
        "skills",
        "strategy",
    )

    def __init__(self, key: ReadyKey, policy: QueuePolicy, index: int) -> None:
        self.key = key
        self.index = index  # its place among all pools
        self.channel = key[1]
        self.skills = key[2]
        self.strategy = policy.strategy
        self.rank_skills = policy.skills
        # Whether an agent's rank here can improve: it is then pushed afresh at every change.
        self.improves = policy.strategy is Strategy.LEAST_OCCUPIED
        self.heaps: dict[float, list[Item]] = {}
        self.is_open = False
        self.asked_at = 0.0


class ReadyAgents:
    def __init__(self, agents: Mapping[str, EngineAgent], config: EngineConfig) -> None:
        self._agents = agents
        self._config = config
        self._pools: dict[ReadyKey, Pool] = {}
        self._pool_list: list[Pool] = []  # in the order made: agents' plans name them by place
        # Per queue, its open pools (their places): those of the skill sets entries there
        # have asked for.
        self._open_pools: dict[str, list[int]] = {}
        # Pools opened and closed per queue: an agent's plan is rebuilt when those of one of
        # its queues changed.
        self._epochs = QueueEpochs()
        self._next_prune = 0.0
        self._stamps = count(1)
        # Agents changed since the last settle, not yet pushed where they may now take work.
        self._unsettled: dict[str, EngineAgent] = {}

    def index(self, agent: EngineAgent) -> None:
        """Note that the agent may now take work where it is not yet indexed, or that its
        rank may have improved. It is pushed into a pool when an entry asks that pool, and
        into all at ``settle``: a freed agent mostly takes work from the backlog at once, and
        pushed at once it would only be dropped from those pools later."""
        self._unsettled[agent.agent_id] = agent

    def settle(self) -> None:
        """Push the agents noted since the last settle where they may take work now."""
        for agent in self._unsettled.values():
            self._push(agent)
        self._unsettled.clear()

    def _push(self, agent: EngineAgent, only: Pool | None = None) -> None:
        """Push the agent where it may take work and is not yet indexed, or where its rank
        may have improved: into every such pool, or only into ``only``."""
        if agent.plan_epoch != self._epochs.now:
            if self._epochs.stale(agent.plan_epoch, agent.memberships):
                self._plan(agent)
            agent.plan_epoch = self._epochs.now
        in_ready, pools, plan = agent.in_ready, self._pool_list, agent.plan
        largest = 2 * len(self._agents) + 16
        channels = agent.room
        if only is not None:
            channels = (only.channel,) if only.channel in channels else ()
        for channel in channels:
            for index, delay, improves in plan.get(channel, ()):
                if only is not None and index != only.index:
                    continue
                if improves or index not in in_ready:
                    pool = pools[index]
                    stamp = in_ready[index] = next(self._stamps)
                    heap = pool.heaps.get(delay)
                    if heap is None:
                        heap = pool.heaps[delay] = []
                    heapq.heappush(heap, agent.ready_item(pool.strategy, pool.rank_skills, stamp))
                    if len(heap) > largest:
                        self._compact(pool, heap)

    def best(self, entry: QueueEntry, declined: Collection[str], now: float) -> EngineAgent | None:
        """The best ready agent for the entry by its queue's strategy; an agent that
        declined it is taken only when no other is ready."""
        key = (entry.queue, entry.channel, entry.skills)
        if now >= self._next_prune:
            self._prune(now)
        pool = self._pools.get(key)
        if pool is None or not pool.is_open:
            pool = self._open(key)
        pool.asked_at = now
        # The pool holds every agent ready there once those noted since the last settle are in.
        if len(self._unsettled) > SETTLE_ONE_POOL_UP_TO:
            self.settle()
        for agent in self._unsettled.values():
            self._push(agent, pool)
        best: Ranked | None = None
        fallback: Ranked | None = None
        for delay, heap in pool.heaps.items():
            if entry.enqueued_at > now - delay:
                continue
            chosen, declined_one = self._top(pool, heap, declined)
            if chosen is not None and (best is None or chosen[0] < best[0]):
                best = chosen
            if declined_one is not None and (fallback is None or declined_one[0] < fallback[0]):
                fallback = declined_one
        found = best or fallback
        return None if found is None else found[1]

    def _plan(self, agent: EngineAgent) -> None:
        plan: dict[str, list[tuple[int, float, bool]]] = {}
        for queue, membership in agent.memberships.items():
            for index in self._open_pools.get(queue, ()):
                pool = self._pool_list[index]
                if agent.capacity.get(pool.channel, 0) and agent.has_skills(pool.skills):
                    plan.setdefault(pool.channel, []).append((index, membership.delay_seconds, pool.improves))
        agent.plan = {channel: tuple(pools) for channel, pools in plan.items()}

    def _open(self, key: ReadyKey) -> Pool:
        """Open the pool of a skill set no entry here asked for before (or lately), with the
        ready agents that have the skills; indexed agents join it from now on."""
        queue, channel, skills = key
        policy = self._config.policy(queue)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = Pool(key, policy, len(self._pool_list))
            self._pool_list.append(pool)
        pool.is_open = True
        self._open_pools.setdefault(queue, []).append(pool.index)
        self._epochs.bump(queue)
        for agent in self._agents.values():
            membership = agent.memberships.get(queue)
            if membership is not None and agent.can_take(channel) and agent.has_skills(skills):
                stamp = agent.in_ready[pool.index] = next(self._stamps)
                item = agent.ready_item(policy.strategy, policy.skills, stamp)
                pool.heaps.setdefault(membership.delay_seconds, []).append(item)
            else:
                # From before the pool was last closed: it is pushed afresh when next ready.
                agent.in_ready.pop(pool.index, None)
        for heap in pool.heaps.values():
            heapq.heapify(heap)
        return pool

    def _prune(self, now: float) -> None:
        for queue, indexes in self._open_pools.items():
            for index in [i for i in indexes if self._pool_list[i].asked_at < now - IDLE_POOL_SECONDS]:
                pool = self._pool_list[index]
                pool.is_open = False
                pool.heaps = {}
                indexes.remove(index)
                self._epochs.bump(queue)
        self._next_prune = now + IDLE_POOL_SECONDS

    def _compact(self, pool: Pool, heap: list[Item]) -> None:
        """Drop the heap's stale items: agents that changed often (least occupied pushes
        one at every change) while no entry looked at it."""
        heap[:] = [item for item in heap if self._agents[item[-2]].in_ready.get(pool.index) == item[-1]]
        heapq.heapify(heap)

    def _top(self, pool: Pool, heap: list[Item], declined: Collection[str]) -> tuple[Ranked | None, Ranked | None]:
        """The heap's best agent that did not decline the entry, and the best that did
        (each with its rank): stale items above them dropped, ranks refreshed, and the
        agents that declined set aside to see past them, then put back."""
        channel, index = pool.channel, pool.index
        aside: list[Item] = []
        chosen: Ranked | None = None
        fallback: Ranked | None = None
        while heap:
            item = heap[0]
            agent_id, stamp = item[-2], item[-1]
            agent = self._agents[agent_id]
            if agent.in_ready.get(index) != stamp:
                heapq.heappop(heap)
                continue
            # A live stamp means a member of the queue: a new profile forgets its stamps.
            if channel not in agent.room:
                heapq.heappop(heap)
                del agent.in_ready[index]
                continue
            fresh = agent.ready_item(pool.strategy, pool.rank_skills, stamp)
            if fresh != item:
                heapq.heapreplace(heap, fresh)
                continue
            if agent_id not in declined:
                chosen = (item, agent)
                break
            if fallback is None:
                fallback = (item, agent)
            aside.append(heapq.heappop(heap))
        for item in aside:
            heapq.heappush(heap, item)
        return chosen, fallback
