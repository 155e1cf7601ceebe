"""In-process routing backend. No method awaits between reading and writing its state, so
each is atomic on one event loop without locks.

Two indexes keep each decision independent of queue depth and agent count: the waiting
entries (routing/waiting.py) and the ready agents (routing/ready.py). A change marks the
entry or agent it touched as pending; ``next_offer`` looks only at pending ones: a new or
returned entry looks for the best ready agent, a freed agent for the best waiting entry
it may take. ``tick`` fires the timers that fell due (routing/timers.py).
"""

from __future__ import annotations

import dataclasses
import heapq
from collections import deque
from itertools import count

from routing.agents import EngineAgent
from routing.backend import RoutingBackend
from routing.escalation import escalated, next_step_due
from routing.ready import ReadyAgents
from routing.stats import Staffing, occupancy_of
from routing.timers import Timers
from routing.types import (
    AgentProfile,
    AgentSnapshot,
    AgentState,
    EngineConfig,
    Enqueued,
    Escalated,
    FiredClaim,
    Offer,
    OfferLapsed,
    OfferRevoked,
    PreferenceExpired,
    QueueEntry,
    QueueStats,
    RoutingEvent,
    SlaBreached,
    WrapUpEnded,
)
from routing.waiting import WaitingEntries


class MemoryRoutingBackend(RoutingBackend):
    def __init__(self, config: EngineConfig | None = None) -> None:
        self._config = config or EngineConfig()
        self._restored = False
        self._agents: dict[str, EngineAgent] = {}
        self._waiting = WaitingEntries()
        self._ready = ReadyAgents(self._agents, self._config)
        self._timers = Timers()
        self._pending_entries: list[tuple[int, float, str]] = []  # order keys, which end with the id
        self._pending_agents: deque[str] = deque()
        self._offers: dict[str, Offer] = {}
        self._offer_of: dict[str, str] = {}
        self._offer_seq = count(1)
        self._assigned: dict[str, EngineAgent] = {}  # interaction id -> the agent it is assigned to
        self._declined: dict[str, set[str]] = {}  # routed interaction -> agents that rejected it or let it lapse

    # -- the interface ---------------------------------------------------------------

    async def enqueue(self, entry: QueueEntry, now: float) -> Enqueued:
        iid = entry.interaction_id
        if iid in self._waiting or iid in self._offer_of or iid in self._assigned:
            return Enqueued.DUPLICATE
        limit = self._config.policy(entry.queue).max_size
        full = limit is not None and self._waiting.queue_size(entry.queue) >= limit
        if full and entry.channel in self._config.refuse_when_full:
            return Enqueued.REFUSED
        self._place(entry, now)
        return Enqueued.OVER_CAPACITY if full else Enqueued.ADDED

    async def cancel(self, interaction_id: str, now: float) -> bool:
        entry = self._waiting.get(interaction_id)
        if entry is not None:
            self._waiting.remove(interaction_id)
            self._forget(interaction_id)
            return True
        offer_id = self._offer_of.get(interaction_id)
        if offer_id is not None:
            offer = self._close_offer(offer_id)
            self._free(self._agents[offer.agent_id], interaction_id, now)
            self._forget(interaction_id)
            return True
        holder = self._assigned.pop(interaction_id, None)
        if holder is not None:
            self._free(holder, interaction_id, now)
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
        agent.set_state(state, reason)
        self._touch(agent)
        return revoked

    async def next_offer(self, offer_id: str, now: float) -> Offer | None:
        while self._pending_entries:
            iid = heapq.heappop(self._pending_entries)[2]
            entry = self._waiting.get(iid)
            if entry is None:
                continue
            agent = self._best_agent(entry, now)
            if agent is None:
                continue
            # The queue's strategy chose the agent; the agent's own queue priorities and
            # the queues' order choose what it takes, which may be something older.
            if self._waiting.only_one(entry, agent):
                best = entry
            else:
                best = self._waiting.best_for(agent, self._declined, now) or entry
            if best is not entry:
                heapq.heappush(self._pending_entries, entry.order_key)
            return self._offer(offer_id, best, agent, now)
        while self._pending_agents:
            agent = self._agents[self._pending_agents.popleft()]
            if not agent.room:  # not available, or full
                continue
            entry = self._waiting.best_for(agent, self._declined, now)
            if entry is not None:
                # It may take more: look again next time.
                self._pending_agents.appendleft(agent.agent_id)
                return self._offer(offer_id, entry, agent, now)
        # Nothing left to offer: the agents freed meanwhile join the pools they still may.
        self._ready.settle()
        return None

    async def accept(self, offer_id: str, agent_id: str, now: float) -> Offer | None:
        offer = self._offers.get(offer_id)
        # An expired offer is left for the next tick to lapse (and report, and count as
        # missed), as if that tick had already run.
        if offer is None or offer.agent_id != agent_id or now >= offer.expires_at:
            return None
        self._close_offer(offer_id)
        iid = offer.entry.interaction_id
        agent = self._assigned[iid] = self._agents[agent_id]
        agent.missed = 0
        self._declined.pop(iid, None)
        return offer

    async def reject(self, offer_id: str, agent_id: str, now: float) -> Offer | None:
        offer = self._offers.get(offer_id)
        if offer is None or offer.agent_id != agent_id:
            return None
        self._declined.setdefault(offer.interaction_id, set()).add(agent_id)
        self._agents[agent_id].missed = 0
        return self._return_offer(offer_id, now)

    async def release(self, interaction_id: str, now: float, wrap_up_seconds: float = 0.0) -> str | None:
        agent = self._assigned.pop(interaction_id, None)
        if agent is None:
            return None
        self._forget(interaction_id)
        if wrap_up_seconds > 0 and agent.state is AgentState.AVAILABLE:
            agent.set_state(AgentState.WRAP_UP)
            agent.wrap_up_until = now + wrap_up_seconds
            self._timers.wrap_up_ends(agent.wrap_up_until, agent.agent_id)
        self._free(agent, interaction_id, now)
        return agent.agent_id

    async def extend_wrap_up(self, agent_id: str, seconds: float, now: float) -> float | None:
        agent = self._agents.get(agent_id)
        if agent is None or agent.state is not AgentState.WRAP_UP:
            return None
        # The earlier end's timer finds the end moved and lets it be (see _end_wrap_ups).
        agent.wrap_up_until = max(agent.wrap_up_until, now) + seconds
        self._timers.wrap_up_ends(agent.wrap_up_until, agent.agent_id)
        return agent.wrap_up_until

    async def transfer(self, entry: QueueEntry, now: float) -> bool:
        holder = self._assigned.pop(entry.interaction_id, None)
        if holder is None:
            return False
        self._free(holder, entry.interaction_id, now)
        self._place(entry, now)
        return True

    async def tick(self, now: float, claim: str | None = None) -> list[RoutingEvent]:
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
        self._assigned[entry.interaction_id] = agent

    async def restore_offer(self, offer: Offer) -> bool:
        iid = offer.interaction_id
        agent = self._agents.get(offer.agent_id)
        if iid in self._waiting or iid in self._offer_of or iid in self._assigned:
            return False
        if agent is None or agent.state is not AgentState.AVAILABLE:
            return False
        self._offers[offer.offer_id] = offer
        self._offer_of[iid] = offer.offer_id
        self._timers.offer_expires(offer.expires_at, offer.offer_id)
        agent.hold(iid, offer.entry.channel)
        return True

    async def waiting(self, queue: str) -> list[QueueEntry]:
        return self._waiting.in_queue(queue)

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
        pairs |= self._waiting.occupied()
        staffing = Staffing.of_queues(self._agents.values())
        figures = []
        for queue, channel in sorted(pairs):
            oldest = self._waiting.oldest(queue, channel)
            longest = 0.0 if oldest is None else now - oldest
            staff = staffing.get(queue) or Staffing()
            figures.append(staff.figures(queue, channel, self._waiting.count(queue, channel), longest))
        return figures

    async def occupancy(self) -> dict[str, float]:
        loads = {agent.agent_id: occupancy_of(agent) for agent in self._agents.values()}
        return {agent_id: load for agent_id, load in loads.items() if load is not None}

    async def restored(self) -> bool:
        return self._restored

    async def mark_restored(self) -> None:
        self._restored = True

    async def recorded(self, claim: str) -> None:
        """Nothing kept: a tick's events die with the process, as the state they changed
        does (a restart rebuilds it from storage)."""

    async def unrecorded(self, now: float, before: float, limit: int) -> list[FiredClaim]:
        return []

    async def close(self) -> None:
        """Nothing to release: the state lives and dies with the process."""

    # -- placing entries and agents ---------------------------------------------------

    def _place(self, entry: QueueEntry, now: float) -> None:
        iid = entry.interaction_id
        holder = entry.preferred_agent if entry.preferred_until > now else None
        self._waiting.place(entry, reserved_for=holder)
        if holder is not None:
            agent = self._agents.get(holder)
            if agent is None:
                agent = self._agents[holder] = EngineAgent(AgentProfile(holder, ()), idle_since=now)
            self._timers.preference_ends(entry.preferred_until, iid)
            if agent.state is AgentState.AVAILABLE:
                self._pending_agents.append(holder)
        heapq.heappush(self._pending_entries, entry.order_key)
        if entry.answer_deadline is not None and not entry.breached:
            self._timers.answer_due(entry.answer_deadline, iid)
        due = next_step_due(self._config.policy(entry.queue), entry)
        if due is not None:
            self._timers.escalation_due(due, iid, entry.queue, entry.escalations_done)

    def _best_agent(self, entry: QueueEntry, now: float) -> EngineAgent | None:
        """Whom a new or returned entry goes to: the agent it is held for, else the best
        ready agent by the queue's strategy."""
        holder = self._waiting.reserved_for(entry.interaction_id)
        if holder is not None:
            agent = self._agents[holder]
            return agent if agent.can_take(entry.channel) else None
        return self._ready.best(entry, self._declined.get(entry.interaction_id, ()), now)

    def _touch(self, agent: EngineAgent) -> None:
        """After any change to the agent: index it where it is now ready, and let it look
        for work."""
        if agent.state is not AgentState.AVAILABLE:
            return
        self._ready.index(agent)
        self._pending_agents.append(agent.agent_id)

    def _offer(self, offer_id: str, entry: QueueEntry, agent: EngineAgent, now: float) -> Offer:
        self._waiting.remove(entry.interaction_id)
        offer = Offer(offer_id, agent.agent_id, entry, now + self._config.offer_timeout(entry.channel))
        self._offers[offer_id] = offer
        self._offer_of[entry.interaction_id] = offer_id
        self._timers.offer_expires(offer.expires_at, offer_id)
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
        self._free(self._agents[offer.agent_id], offer.interaction_id, now)
        return offer

    def _free(self, agent: EngineAgent, interaction_id: str, now: float) -> None:
        agent.drop(interaction_id, now)
        self._touch(agent)

    def _forget(self, interaction_id: str) -> None:
        self._declined.pop(interaction_id, None)

    # -- timers ----------------------------------------------------------------------

    def _lapse_offers(self, now: float, events: list[RoutingEvent]) -> None:
        for _, offer_id in self._timers.expired_offers(now):
            if offer_id not in self._offers:
                continue
            offer = self._return_offer(offer_id, now)
            agent = self._agents[offer.agent_id]
            self._declined.setdefault(offer.interaction_id, set()).add(agent.agent_id)
            agent.missed += 1
            away = agent.missed >= self._config.max_missed_offers and agent.state is AgentState.AVAILABLE
            events.append(OfferLapsed(offer, agent_set_away=away))
            if away:
                agent.set_state(AgentState.AWAY, "missed")
                for other in [i for i in agent.holding if i in self._offer_of]:
                    events.append(OfferRevoked(self._return_offer(self._offer_of[other], now)))

    def _breach_deadlines(self, now: float, events: list[RoutingEvent]) -> None:
        for deadline, iid in self._timers.passed_deadlines(now):
            entry = self._current(iid)
            # A timer left from an earlier routing (before a transfer) is not this one's.
            if entry is None or entry.breached or entry.answer_deadline != deadline:
                continue
            breached = dataclasses.replace(entry, breached=True)
            self._replace(breached, now)
            events.append(SlaBreached(breached))
            steps = self._config.policy(entry.queue).escalation
            if iid in self._waiting and breached.escalations_done < len(steps):
                self._apply_step(breached, now, events)

    def _escalate(self, now: float, events: list[RoutingEvent]) -> None:
        for due, iid, queue, step in self._timers.due_escalations(now):
            entry = self._current(iid)
            if entry is None or (entry.queue, entry.escalations_done) != (queue, step):
                continue  # a timer of an earlier queue or step
            # Out on offer: if the offer comes back, placing the entry again re-arms the step.
            if next_step_due(self._config.policy(entry.queue), entry) != due or iid in self._offer_of:
                continue
            self._apply_step(entry, now, events)

    def _current(self, interaction_id: str) -> QueueEntry | None:
        """The interaction's entry while it is waiting or out on offer."""
        offer_id = self._offer_of.get(interaction_id)
        return self._offers[offer_id].entry if offer_id is not None else self._waiting.get(interaction_id)

    def _apply_step(self, entry: QueueEntry, now: float, events: list[RoutingEvent]) -> None:
        after = escalated(self._config.policy(entry.queue), entry, now)
        self._replace(after, now)
        events.append(Escalated(entry, after))

    def _replace(self, entry: QueueEntry, now: float) -> None:
        """Swap in a changed entry where the old one stood (waiting or on offer)."""
        iid = entry.interaction_id
        offer_id = self._offer_of.get(iid)
        if offer_id is not None:
            self._offers[offer_id] = dataclasses.replace(self._offers[offer_id], entry=entry)
            return
        self._waiting.remove(iid)
        self._place(entry, now)

    def _end_preferences(self, now: float, events: list[RoutingEvent]) -> None:
        for _, iid in self._timers.ended_preferences(now):
            entry = self._waiting.get(iid)
            if entry is None or self._waiting.reserved_for(iid) is None or entry.preferred_until > now:
                continue
            released = dataclasses.replace(entry, preferred_agent=None, preferred_until=0.0)
            self._replace(released, now)
            events.append(PreferenceExpired(released))

    def _end_wrap_ups(self, now: float, events: list[RoutingEvent]) -> None:
        for until, agent_id in self._timers.ended_wrap_ups(now):
            agent = self._agents[agent_id]
            if agent.state is not AgentState.WRAP_UP or agent.wrap_up_until != until:
                continue
            agent.set_state(AgentState.AVAILABLE, agent.reason)
            if not agent.holding:
                agent.idle_since = now
            self._touch(agent)
            events.append(WrapUpEnded(agent_id))
