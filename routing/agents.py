"""An agent as the in-memory engine tracks it: state, what it holds, and the keys by which
strategies rank it. Pure bookkeeping; the engine decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from routing.types import AgentProfile, AgentSnapshot, AgentState, QueueMembership, Strategy

if TYPE_CHECKING:
    from routing.ready import Item, Plan


@dataclass(slots=True)
class EngineAgent:
    profile: AgentProfile
    state: AgentState = AgentState.OFFLINE
    reason: str | None = None
    idle_since: float = 0.0
    holding: dict[str, str] = field(default_factory=dict)  # interaction id -> channel
    held: dict[str, int] = field(default_factory=dict)
    exclusive_held: int = 0
    # The channels it may take work on now (can_take's answer), remade whenever its state,
    # what it holds or its profile changes: the checks every decision runs read this one
    # tuple, not the state and three dicts (at 10,000 agents each a likely cache miss).
    room: tuple[str, ...] = ()
    missed: int = 0
    wrap_up_until: float = 0.0
    last_offer_seq: int = 0
    # The buckets this agent may take from (routing/waiting.py), grouped by its membership
    # priority and the entries' priority negated, best first: each group those two, then its
    # buckets as (channel, membership delay, the bucket's place); rebuilt when buckets appear.
    eligible: tuple[tuple[int, int, tuple[tuple[str, float, int], ...]], ...] = ()
    eligible_epoch: int = -1
    # Per pool of ready agents (routing/ready.py, by its place among them), the stamp of this
    # agent's one live item there; forgotten when the profile changes, so it is pushed afresh.
    # Ints only, so the garbage collector never tracks it.
    in_ready: dict[int, int] = field(default_factory=dict)
    # The pools it joins when ready; rebuilt when pools open or close, or the profile changes.
    plan: Plan = field(default_factory=dict)
    plan_epoch: int = -1
    agent_id: str = field(init=False)
    skills: dict[str, int] = field(init=False)
    capacity: dict[str, int] = field(init=False)
    memberships: dict[str, QueueMembership] = field(init=False)
    exclusive: tuple[str, ...] = field(init=False)
    # The profile's capacities, and those of its channels that are not exclusive (the ones
    # it has room on while it holds anything): what _make_room walks.
    _capacities: tuple[tuple[str, int], ...] = field(init=False)
    _shared: tuple[tuple[str, int], ...] = field(init=False)

    def __post_init__(self) -> None:
        self.set_profile(self.profile)

    def set_profile(self, profile: AgentProfile) -> None:
        if profile != self.profile:
            # Ranked by the old skills, queues and capacity: the engine indexes it afresh
            # and remakes its lists (the same profile set again keeps them).
            self.in_ready.clear()
            self.eligible_epoch = -1
            self.plan_epoch = -1
        self.profile = profile
        self.agent_id = profile.agent_id
        self.skills = dict(profile.skills)
        self.capacity = dict(profile.capacity)
        self.memberships = {m.queue: m for m in profile.queues}
        # The profile's own tuple (a channel or two): no set per agent for the garbage
        # collector to walk.
        self.exclusive = profile.exclusive
        self._capacities = tuple(self.capacity.items())
        self._shared = tuple((channel, n) for channel, n in self._capacities if channel not in self.exclusive)
        self._make_room()

    def set_state(self, state: AgentState, reason: str | None = None) -> None:
        """The one way to change its state, so that ``room`` follows it."""
        self.state, self.reason = state, reason
        self._make_room()

    def has_skills(self, required: tuple[tuple[str, int], ...]) -> bool:
        # A loop, not all() over a generator: remaking an agent's lists calls this per
        # bucket and pool of its queues, and a generator's frame costs more than the test.
        skills = self.skills
        for name, level in required:  # noqa: SIM110
            if skills.get(name, 0) < level:
                return False
        return True

    def can_take(self, channel: str) -> bool:
        return channel in self.room

    def _make_room(self) -> None:
        if self.state is not AgentState.AVAILABLE or self.exclusive_held:
            self.room = ()
            return
        # A loop, not a generator: this runs at every hold and drop (a generator's frame
        # costs twice the work here).
        held = self.held
        room: tuple[str, ...] = ()
        for channel, capacity in self._shared if self.holding else self._capacities:
            if held.get(channel, 0) < capacity:
                room += (channel,)
        self.room = room

    def hold(self, interaction_id: str, channel: str) -> None:
        self.holding[interaction_id] = channel
        self.held[channel] = self.held.get(channel, 0) + 1
        if channel in self.exclusive:
            self.exclusive_held += 1
        self._make_room()

    def drop(self, interaction_id: str, now: float) -> None:
        channel = self.holding.pop(interaction_id, None)
        if channel is not None:
            self.held[channel] -= 1
            if channel in self.exclusive:
                self.exclusive_held -= 1
            if not self.holding:
                self.idle_since = now
            self._make_room()

    def occupancy(self) -> float:
        """The busiest channel's share of its capacity (an exclusive channel fills it)."""
        if self.exclusive_held:
            return 1.0
        held, busiest = self.held, 0.0
        for channel, capacity in self._capacities:
            if capacity and (share := held.get(channel, 0) / capacity) > busiest:
                busiest = share
        return busiest

    def ready_item(self, strategy: Strategy, skills: tuple[str, ...], stamp: int) -> Item:
        """Its item in a pool of ready agents: its rank by the strategy (smaller is better),
        its id (for ties), the stamp. Flat, so that comparing two items in a heap reads no
        tuple but theirs (at 10,000 agents each one read is a likely cache miss)."""
        if strategy is Strategy.MOST_SKILLED:
            score, mine = 0, self.skills
            for skill in skills:
                score -= mine.get(skill, 0)
            return (score, self.idle_since, self.agent_id, stamp)
        if strategy is Strategy.LEAST_OCCUPIED:
            return (self.occupancy(), self.idle_since, self.agent_id, stamp)
        if strategy is Strategy.ROUND_ROBIN:
            return (float(self.last_offer_seq), self.agent_id, stamp)
        return (self.idle_since, self.agent_id, stamp)

    def snapshot(self) -> AgentSnapshot:
        until = self.wrap_up_until if self.state is AgentState.WRAP_UP else 0.0
        return AgentSnapshot(
            self.agent_id, self.state, self.reason, self.idle_since, tuple(self.holding), self.missed, until
        )
