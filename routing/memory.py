"""In-process routing backend. No method awaits between reading and writing its state, so
each is atomic on one event loop without locks.

Indexes keep each decision independent of queue depth and agent count:
- waiting entries sit in buckets keyed by (queue, channel, priority, required skills),
  each a heap ordered by enqueue time; entries held for a preferred agent sit in that
  agent's own heap;
- ready agents sit in one heap per (queue, channel), ordered by the queue's strategy;
  heap items are checked (and refreshed) lazily when they reach the top.
A change marks the entry or agent it touched as pending; ``next_offer`` looks only at
pending ones: a new or returned entry looks for the best ready agent, a freed agent for
the best entry of the buckets it is eligible for: a bucket's head, or for an agent that
declined the head, the first entry behind it that the agent did not decline.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections import Counter, deque
from itertools import count
from typing import TypeVar

from routing.agents import EngineAgent
from routing.backend import RoutingBackend
from routing.stats import Counters
from routing.types import (
    AgentProfile,
    AgentSnapshot,
    AgentState,
    EngineConfig,
    Enqueued,
    Escalated,
    Offer,
    OfferLapsed,
    OfferRevoked,
    PreferenceExpired,
    QueueEntry,
    QueueStats,
    RoutingEvent,
    SlaBreached,
    Strategy,
    WrapUpEnded,
)

BucketKey = tuple[str, str, int, tuple[tuple[str, int], ...]]  # queue, channel, priority, skills
_RESERVED = "@reserved"  # the "bucket" of an entry held in its preferred agent's own heap
Home = BucketKey | tuple[str, str]  # where a waiting entry sits: a bucket, or (_RESERVED, agent id)
_K = TypeVar("_K")  # what a heap of waiting entries is ordered by
# Declines per agent are few. Looking past at most this many in one heap keeps a decision
# cheap even for an agent that rejects everything; past them, the rest of that heap ranks
# for it as if declined too.
_PEEK_PAST_DECLINED = 16


class MemoryRoutingBackend(RoutingBackend):
    def __init__(self, config: EngineConfig | None = None) -> None:
        self._config = config or EngineConfig()
        self._entries: dict[str, QueueEntry] = {}  # waiting only
        self._bucket_of: dict[str, Home] = {}
        # Each placement of an entry stamps its heap item; an item with another stamp is stale.
        self._placement_of: dict[str, int] = {}
        self._placements = count(1)
        self._buckets: dict[BucketKey, list[tuple[float, str, int]]] = {}
        self._queue_buckets: dict[str, list[BucketKey]] = {}
        self._bucket_epoch = 0
        self._waiting_count: Counter[tuple[str, str]] = Counter()
        self._pending_entries: list[tuple[tuple[int, float, str], str]] = []
        self._pending_agents: deque[str] = deque()
        self._offers: dict[str, Offer] = {}
        self._offer_of: dict[str, str] = {}
        self._expiry: list[tuple[float, str]] = []
        self._assigned: dict[str, tuple[str, QueueEntry]] = {}
        self._agents: dict[str, EngineAgent] = {}
        self._ready: dict[tuple[str, str], list[tuple[tuple[float, ...], str, int]]] = {}
        self._ready_stamps = count(1)
        self._declined: dict[str, set[str]] = {}
        self._answered: set[str] = set()
        self._sla: list[tuple[float, str]] = []
        self._escalations: list[tuple[float, str, str, int]] = []
        self._preferences: list[tuple[float, str]] = []
        self._wrap_ups: list[tuple[float, str]] = []
        self._counters: dict[tuple[str, str], Counters] = {}
        self._offer_seq = count(1)

    # -- the interface ---------------------------------------------------------------

    async def enqueue(self, entry: QueueEntry, now: float) -> Enqueued:
        iid = entry.interaction_id
        if iid in self._entries or iid in self._offer_of or iid in self._assigned:
            return Enqueued.DUPLICATE
        limit = self._config.policy(entry.queue).max_size
        full = limit is not None and self._queue_size(entry.queue) >= limit
        if full and entry.channel in self._config.refuse_when_full:
            return Enqueued.REFUSED
        self._place(entry, now)
        return Enqueued.OVER_CAPACITY if full else Enqueued.ADDED

    async def cancel(self, interaction_id: str, now: float, *, abandoned: bool = False) -> bool:
        entry = self._entries.get(interaction_id)
        if entry is not None:
            self._unplace(interaction_id)
            if abandoned:
                self._counter(entry).abandon(entry, now)
            self._forget(interaction_id)
            return True
        offer_id = self._offer_of.get(interaction_id)
        if offer_id is not None:
            offer = self._close_offer(offer_id)
            self._free(offer.agent_id, interaction_id, now)
            if abandoned:
                self._counter(offer.entry).abandon(offer.entry, now)
            self._forget(interaction_id)
            return True
        held = self._assigned.pop(interaction_id, None)
        if held is not None:
            self._free(held[0], interaction_id, now)
            self._forget(interaction_id)
            return True
        return False

    async def set_agent(
        self, profile: AgentProfile, state: AgentState, now: float, reason: str | None = None
    ) -> list[Offer]:
        agent = self._agents.get(profile.agent_id)
        if agent is None:
            agent = self._agents[profile.agent_id] = EngineAgent(profile, idle_since=now)
        else:
            agent.set_profile(profile)
        revoked: list[Offer] = []
        if state is not AgentState.AVAILABLE:
            for interaction_id in list(agent.holding):
                offer_id = self._offer_of.get(interaction_id)
                if offer_id is not None:
                    revoked.append(self._return_offer(offer_id, now))
        elif agent.state is not AgentState.AVAILABLE:
            agent.missed = 0
            if not agent.holding:
                agent.idle_since = now
        agent.state, agent.reason = state, reason
        self._touch(agent)
        return revoked

    async def next_offer(self, offer_id: str, now: float) -> Offer | None:
        while self._pending_entries:
            _, iid = heapq.heappop(self._pending_entries)
            entry = self._entries.get(iid)
            if entry is None:
                continue
            agent = self._best_agent(entry, now)
            if agent is None:
                continue
            # The queue's strategy chose the agent; the agent's own queue priorities and
            # the queues' order choose what it takes, which may be something older.
            best = self._best_entry(agent, now) or entry
            if best is not entry:
                heapq.heappush(self._pending_entries, (entry.order_key, iid))
            return self._offer(offer_id, best, agent, now)
        while self._pending_agents:
            agent = self._agents[self._pending_agents.popleft()]
            if agent.state is not AgentState.AVAILABLE:
                continue
            entry = self._best_entry(agent, now)
            if entry is not None:
                # It may take more: look again next time.
                self._pending_agents.appendleft(agent.agent_id)
                return self._offer(offer_id, entry, agent, now)
        return None

    async def accept(self, offer_id: str, agent_id: str, now: float) -> Offer | None:
        offer = self._offers.get(offer_id)
        # An expired offer is left for the next tick to lapse (and report, and count as
        # missed), as if that tick had already run.
        if offer is None or offer.agent_id != agent_id or now >= offer.expires_at:
            return None
        self._close_offer(offer_id)
        self._assigned[offer.interaction_id] = (agent_id, offer.entry)
        self._declined.pop(offer.interaction_id, None)
        self._agents[agent_id].missed = 0
        if offer.interaction_id not in self._answered:
            self._answered.add(offer.interaction_id)
            self._counter(offer.entry).answer(offer.entry, now)
        return offer

    async def reject(self, offer_id: str, agent_id: str, now: float) -> Offer | None:
        offer = self._offers.get(offer_id)
        if offer is None or offer.agent_id != agent_id:
            return None
        self._declined.setdefault(offer.interaction_id, set()).add(agent_id)
        self._agents[agent_id].missed = 0
        return self._return_offer(offer_id, now)

    async def release(self, interaction_id: str, now: float, wrap_up_seconds: float = 0.0) -> str | None:
        held = self._assigned.pop(interaction_id, None)
        if held is None:
            return None
        agent = self._agents[held[0]]
        self._forget(interaction_id)
        if wrap_up_seconds > 0 and agent.state is AgentState.AVAILABLE:
            agent.state, agent.reason = AgentState.WRAP_UP, None
            agent.wrap_up_until = now + wrap_up_seconds
            heapq.heappush(self._wrap_ups, (agent.wrap_up_until, agent.agent_id))
        self._free(agent.agent_id, interaction_id, now)
        return agent.agent_id

    async def transfer(self, entry: QueueEntry, now: float) -> bool:
        held = self._assigned.pop(entry.interaction_id, None)
        if held is None:
            return False
        self._free(held[0], entry.interaction_id, now)
        self._place(entry, now)
        return True

    async def tick(self, now: float) -> list[RoutingEvent]:
        events: list[RoutingEvent] = []
        self._lapse_offers(now, events)
        self._breach_deadlines(now, events)
        self._escalate(now, events)
        self._end_preferences(now, events)
        self._end_wrap_ups(now, events)
        # Agents with a per-queue delay may have become eligible as contacts aged.
        for agent in self._agents.values():
            if agent.state is AgentState.AVAILABLE and any(m.delay_seconds for m in agent.memberships.values()):
                self._pending_agents.append(agent.agent_id)
        return events

    async def restore_assigned(self, entry: QueueEntry, agent_id: str) -> None:
        agent = self._agents.get(agent_id)
        if agent is None:
            agent = self._agents[agent_id] = EngineAgent(AgentProfile(agent_id, ()), idle_since=entry.enqueued_at)
        agent.hold(entry.interaction_id, entry.channel)
        self._assigned[entry.interaction_id] = (agent_id, entry)
        self._answered.add(entry.interaction_id)

    async def waiting(self, queue: str) -> list[QueueEntry]:
        return sorted((e for e in self._entries.values() if e.queue == queue), key=lambda e: e.order_key)

    async def open_offers(self, agent_id: str) -> list[Offer]:
        agent = self._agents.get(agent_id)
        if agent is None:
            return []
        return [self._offers[self._offer_of[i]] for i in agent.holding if i in self._offer_of]

    async def agent(self, agent_id: str) -> AgentSnapshot | None:
        agent = self._agents.get(agent_id)
        return None if agent is None else agent.snapshot()

    async def stats(self, now: float) -> list[QueueStats]:
        pairs = {(p.name, c) for p in self._config.queues.values() for c in p.channels}
        pairs |= {key for key, n in self._waiting_count.items() if n} | set(self._counters)
        figures = []
        for queue, channel in sorted(pairs):
            members = [a for a in self._agents.values() if queue in a.memberships]
            counters = self._counters.get((queue, channel), Counters())
            waiting = self._waiting_count[(queue, channel)]
            longest = now - self._oldest(queue, channel, default=now)
            figures.append(counters.figures(queue, channel, waiting, longest, members))
        return figures

    def _oldest(self, queue: str, channel: str, default: float) -> float:
        """Oldest enqueue time among the bucket heads and reserved entries of a queue."""
        times = [
            head.enqueued_at
            for key in self._queue_buckets.get(queue, ())
            if key[1] == channel and (head := self._top(self._buckets[key]))
        ]
        for agent in self._agents.values():
            for _, iid, _ in agent.reserved:
                entry = self._entries.get(iid)
                if entry is not None and entry.queue == queue and entry.channel == channel:
                    times.append(entry.enqueued_at)
        return min(times, default=default)

    async def close(self) -> None:
        """Nothing to release: the state lives and dies with the process."""

    # -- placing and finding entries -------------------------------------------------

    def _place(self, entry: QueueEntry, now: float) -> None:
        iid = entry.interaction_id
        self._entries[iid] = entry
        placement = self._placement_of[iid] = next(self._placements)
        self._waiting_count[(entry.queue, entry.channel)] += 1
        if entry.preferred_agent is not None and entry.preferred_until > now:
            agent = self._agents.get(entry.preferred_agent)
            if agent is None:
                agent = self._agents[entry.preferred_agent] = EngineAgent(
                    AgentProfile(entry.preferred_agent, ()), idle_since=now
                )
            self._bucket_of[iid] = (_RESERVED, entry.preferred_agent)
            heapq.heappush(agent.reserved, (entry.order_key, iid, placement))
            heapq.heappush(self._preferences, (entry.preferred_until, iid))
            if agent.state is AgentState.AVAILABLE:
                self._pending_agents.append(agent.agent_id)
        else:
            key: BucketKey = (entry.queue, entry.channel, entry.priority, entry.skills)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = []
                self._queue_buckets.setdefault(entry.queue, []).append(key)
                self._bucket_epoch += 1
            self._bucket_of[iid] = key
            heapq.heappush(bucket, (entry.enqueued_at, iid, placement))
        heapq.heappush(self._pending_entries, (entry.order_key, iid))
        if entry.answer_deadline is not None and not entry.breached:
            heapq.heappush(self._sla, (entry.answer_deadline, iid))
        due = self._escalation_due(entry)
        if due is not None:
            heapq.heappush(self._escalations, (due, iid, entry.queue, entry.escalations_done))

    def _unplace(self, interaction_id: str) -> QueueEntry:
        """Take a waiting entry out; its heap items go stale and are dropped when met."""
        entry = self._entries.pop(interaction_id)
        del self._bucket_of[interaction_id]
        del self._placement_of[interaction_id]
        self._waiting_count[(entry.queue, entry.channel)] -= 1
        return entry

    def _top(self, heap: list[tuple[_K, str, int]]) -> QueueEntry | None:
        """The heap's best waiting entry; items left behind by a move or removal are
        dropped as they surface."""
        while heap:
            _, iid, placement = heap[0]
            if self._placement_of.get(iid) == placement:
                return self._entries[iid]
            heapq.heappop(heap)
        return None

    def _top_for(self, agent_id: str, heap: list[tuple[_K, str, int]]) -> tuple[QueueEntry | None, QueueEntry | None]:
        """The heap's best waiting entry, and its best one the agent has not declined (None
        if it declined all it looked at). The entries it declined are set aside to see
        what is behind them and put back, so one agent's declines never reorder others."""
        head = self._top(heap)
        if head is None or agent_id not in self._declined.get(head.interaction_id, ()):
            return head, head
        aside = [heapq.heappop(heap)]
        undeclined = None
        while len(aside) <= _PEEK_PAST_DECLINED and (entry := self._top(heap)) is not None:
            if agent_id not in self._declined.get(entry.interaction_id, ()):
                undeclined = entry
                break
            aside.append(heapq.heappop(heap))
        for item in aside:
            heapq.heappush(heap, item)
        return head, undeclined

    def _queue_size(self, queue: str) -> int:
        return sum(n for (q, _), n in self._waiting_count.items() if q == queue)

    # -- matching --------------------------------------------------------------------

    def _best_entry(self, agent: EngineAgent, now: float) -> QueueEntry | None:
        """The best waiting entry for a freed agent: its reserved ones and the buckets it
        is eligible for, ranked by its queue priority, then the entry's priority, then
        time waited; an entry it declined (rejected or let lapse) after everything else it
        could take."""
        if agent.eligible_epoch != self._bucket_epoch:
            self._rebuild_eligible(agent)
        agent_id = agent.agent_id
        best: tuple[tuple[bool, int, int, float, str], QueueEntry] | None = None
        head, undeclined = self._top_for(agent_id, agent.reserved)
        reserved = undeclined or head
        if reserved is not None and agent.can_take(reserved.channel):
            membership = agent.memberships.get(reserved.queue)
            priority = membership.priority if membership else 0
            best = ((undeclined is None, priority, -reserved.priority, reserved.enqueued_at, ""), reserved)
        for channel in agent.channels_open():
            for queue_priority, delay, key in agent.eligible.get(channel, ()):
                head, undeclined = self._top_for(agent_id, self._buckets[key])
                if head is None or (delay and head.enqueued_at > now - delay):
                    continue
                if undeclined is not None and not (delay and undeclined.enqueued_at > now - delay):
                    candidate, refused = undeclined, False
                else:
                    candidate, refused = head, True
                rank = (refused, queue_priority, -key[2], candidate.enqueued_at, candidate.interaction_id)
                if best is None or rank < best[0]:
                    best = (rank, candidate)
        return None if best is None else best[1]

    def _rebuild_eligible(self, agent: EngineAgent) -> None:
        agent.eligible = {}
        for membership in agent.memberships.values():
            for key in self._queue_buckets.get(membership.queue, ()):
                if agent.capacity.get(key[1], 0) and agent.has_skills(key[3]):
                    agent.eligible.setdefault(key[1], []).append((membership.priority, membership.delay_seconds, key))
        for buckets in agent.eligible.values():
            buckets.sort()
        agent.eligible_epoch = self._bucket_epoch

    def _best_agent(self, entry: QueueEntry, now: float) -> EngineAgent | None:
        """The best ready agent for a new or returned entry, by the queue's strategy;
        an agent that declined it is taken only when no other is ready."""
        if self._bucket_of[entry.interaction_id][0] == _RESERVED:
            agent = self._agents[entry.preferred_agent or ""]
            return agent if agent.can_take(entry.channel) else None
        policy = self._config.policy(entry.queue)
        slot = (entry.queue, entry.channel)
        heap = self._ready.get(slot)
        if not heap:
            return None
        declined = self._declined.get(entry.interaction_id, set())
        passed_over: list[tuple[tuple[float, ...], str, int]] = []
        chosen: EngineAgent | None = None
        fallback: EngineAgent | None = None
        while heap:
            rank, agent_id, stamp = heap[0]
            agent = self._agents[agent_id]
            if agent.in_ready.get(slot) != stamp:
                heapq.heappop(heap)
                continue
            if not self._ready_for(agent, entry.queue, entry.channel):
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

    def _ready_for(self, agent: EngineAgent, queue: str, channel: str) -> bool:
        return queue in agent.memberships and agent.can_take(channel)

    def _touch(self, agent: EngineAgent) -> None:
        """After any change to the agent: index it where it is now ready, and let it look
        for work."""
        if agent.state is not AgentState.AVAILABLE:
            return
        channels = agent.channels_open()
        for queue in agent.memberships:
            policy = self._config.policy(queue)
            # Heap items are refreshed only when they surface, which is sound for ranks
            # that only worsen; a load that drops improves a least-occupied rank, and a
            # new profile any rank (set_profile forgets the agent's items for that).
            improves = policy.strategy is Strategy.LEAST_OCCUPIED
            for channel in channels:
                slot = (queue, channel)
                if improves or slot not in agent.in_ready:
                    stamp = agent.in_ready[slot] = next(self._ready_stamps)
                    rank = agent.rank(policy.strategy, policy.skills)
                    heapq.heappush(self._ready.setdefault(slot, []), (rank, agent.agent_id, stamp))
        self._pending_agents.append(agent.agent_id)

    def _offer(self, offer_id: str, entry: QueueEntry, agent: EngineAgent, now: float) -> Offer:
        self._unplace(entry.interaction_id)
        offer = Offer(offer_id, agent.agent_id, entry, now + self._config.offer_timeout(entry.channel))
        self._offers[offer_id] = offer
        self._offer_of[entry.interaction_id] = offer_id
        heapq.heappush(self._expiry, (offer.expires_at, offer_id))
        agent.hold(entry.interaction_id, entry.channel)
        agent.last_offer_seq = next(self._offer_seq)
        return offer

    def _close_offer(self, offer_id: str) -> Offer:
        offer = self._offers.pop(offer_id)
        del self._offer_of[offer.interaction_id]
        return offer

    def _return_offer(self, offer_id: str, now: float) -> Offer:
        offer = self._close_offer(offer_id)
        self._place(offer.entry, now)
        self._free(offer.agent_id, offer.interaction_id, now)
        return offer

    def _free(self, agent_id: str, interaction_id: str, now: float) -> None:
        agent = self._agents[agent_id]
        agent.drop(interaction_id, now)
        self._touch(agent)

    def _forget(self, interaction_id: str) -> None:
        self._declined.pop(interaction_id, None)
        self._answered.discard(interaction_id)

    def _counter(self, entry: QueueEntry) -> Counters:
        return self._counters.setdefault((entry.queue, entry.channel), Counters())

    # -- timers ----------------------------------------------------------------------

    def _lapse_offers(self, now: float, events: list[RoutingEvent]) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            _, offer_id = heapq.heappop(self._expiry)
            if offer_id not in self._offers:
                continue
            offer = self._return_offer(offer_id, now)
            agent = self._agents[offer.agent_id]
            self._declined.setdefault(offer.interaction_id, set()).add(agent.agent_id)
            agent.missed += 1
            away = agent.missed >= self._config.max_missed_offers and agent.state is AgentState.AVAILABLE
            events.append(OfferLapsed(offer, agent_set_away=away))
            if away:
                agent.state, agent.reason = AgentState.AWAY, "missed"
                for other in [i for i in agent.holding if i in self._offer_of]:
                    events.append(OfferRevoked(self._return_offer(self._offer_of[other], now)))

    def _breach_deadlines(self, now: float, events: list[RoutingEvent]) -> None:
        while self._sla and self._sla[0][0] <= now:
            deadline, iid = heapq.heappop(self._sla)
            entry = self._current(iid)
            # A timer left from an earlier routing (before a transfer) is not this one's.
            if entry is None or entry.breached or entry.answer_deadline != deadline:
                continue
            breached = dataclasses.replace(entry, breached=True)
            self._replace(breached, now)
            self._counter(entry).sla_breaches += 1
            events.append(SlaBreached(breached))
            steps = self._config.policy(entry.queue).escalation
            if iid in self._entries and breached.escalations_done < len(steps):
                self._apply_step(breached, now, events)

    def _escalate(self, now: float, events: list[RoutingEvent]) -> None:
        # Only timers due before this tick began: a step that schedules another already
        # due (overflow into a queue whose first step is immediate) waits for the next
        # tick, so queues that overflow into each other cannot spin.
        budget = sum(1 for item in self._escalations if item[0] <= now)
        while budget and self._escalations and self._escalations[0][0] <= now:
            budget -= 1
            due, iid, queue, step = heapq.heappop(self._escalations)
            entry = self._current(iid)
            if entry is None or (entry.queue, entry.escalations_done) != (queue, step):
                continue  # a timer of an earlier queue or step
            # Out on offer: if the offer comes back, placing the entry again re-arms the step.
            if self._escalation_due(entry) != due or iid in self._offer_of:
                continue
            self._apply_step(entry, now, events)

    def _escalation_due(self, entry: QueueEntry) -> float | None:
        steps = self._config.policy(entry.queue).escalation
        if entry.escalations_done >= len(steps):
            return None
        return entry.escalation_start + steps[entry.escalations_done].after_seconds

    def _current(self, interaction_id: str) -> QueueEntry | None:
        """The interaction's entry while it is waiting or out on offer."""
        offer_id = self._offer_of.get(interaction_id)
        return self._offers[offer_id].entry if offer_id is not None else self._entries.get(interaction_id)

    def _apply_step(self, entry: QueueEntry, now: float, events: list[RoutingEvent]) -> None:
        step = self._config.policy(entry.queue).escalation[entry.escalations_done]
        overflow = step.overflow_to is not None and step.overflow_to != entry.queue
        relaxed = tuple((name, level - step.relax_skills) for name, level in entry.skills)
        after = dataclasses.replace(
            entry,
            priority=entry.priority + step.raise_priority,
            skills=tuple((name, level) for name, level in relaxed if level > 0),
            queue=step.overflow_to if overflow and step.overflow_to else entry.queue,
            # A new queue has its own steps, counted from the arrival in it.
            escalations_done=0 if overflow else entry.escalations_done + 1,
            escalation_base=now if overflow else entry.escalation_base,
        )
        self._replace(after, now)
        events.append(Escalated(entry, after))

    def _replace(self, entry: QueueEntry, now: float) -> None:
        """Swap in a changed entry where the old one stood (waiting or on offer)."""
        iid = entry.interaction_id
        offer_id = self._offer_of.get(iid)
        if offer_id is not None:
            self._offers[offer_id] = dataclasses.replace(self._offers[offer_id], entry=entry)
            return
        self._unplace(iid)
        self._place(entry, now)

    def _end_preferences(self, now: float, events: list[RoutingEvent]) -> None:
        while self._preferences and self._preferences[0][0] <= now:
            _, iid = heapq.heappop(self._preferences)
            entry = self._entries.get(iid)
            if entry is None or self._bucket_of[iid][0] != _RESERVED or entry.preferred_until > now:
                continue
            released = dataclasses.replace(entry, preferred_agent=None, preferred_until=0.0)
            self._replace(released, now)
            events.append(PreferenceExpired(released))

    def _end_wrap_ups(self, now: float, events: list[RoutingEvent]) -> None:
        while self._wrap_ups and self._wrap_ups[0][0] <= now:
            until, agent_id = heapq.heappop(self._wrap_ups)
            agent = self._agents[agent_id]
            if agent.state is not AgentState.WRAP_UP or agent.wrap_up_until != until:
                continue
            agent.state = AgentState.AVAILABLE
            if not agent.holding:
                agent.idle_since = now
            self._touch(agent)
            events.append(WrapUpEnded(agent_id))
