"""The routing engine's full cycle at growing scale (in-memory engine), and what its
offering (``next_offers``) alone costs within it.

One cycle = an agent completes an interaction (release, no wrap-up: it is ready again), a
new contact arrives (enqueue), the engine makes its offers (``all_offers``, as the service
asks: ``next_offers`` a batch at a time until one comes back short, one call here) and the
agent accepts: every engine call a contact costs. Cycles take turns:

- chat: an agent's one chat ends and a chat arrives in one of its queues, so it goes to
  the best of the agents ready there by the queue's strategy. The share of agents with
  their chat slot free stays READY_SHARE at every scale: the ready pools grow with them;
- email: an agent's email ends and it takes the oldest it may from the backlog (every
  email slot is full, ``waiting`` emails wait); the arrival joins the backlog.

The baseline, in the same run, is a plain heapq push + pop on a heap the backlog's size.
Every figure here is this process's CPU time (``time.process_time``): on a shared machine
the time other work holds the core is not charged to the engine (its cache pressure is).
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from routing import (
    AgentProfile,
    AgentState,
    EngineConfig,
    MemoryRoutingBackend,
    Offer,
    QueueEntry,
    QueueMembership,
    QueuePolicy,
    RoutingBackend,
    Strategy,
)

QUEUES = 50
SKILLS = 20
CHANNELS = ("sms", "chat", "email")
# One chat at a time, so "ready" is exact: an agent without a chat may take one.
CYCLE_CAPACITY = (("chat", 1), ("email", 2))
READY_SHARE = 0.1


@dataclass(frozen=True)
class Scale:
    agents: int
    waiting: int


@dataclass(frozen=True)
class Result:
    scale: Scale
    cycle_us: dict[str, float]  # per kind of cycle
    next_offer_us: float  # per offer made, the next_offers calls alone
    ready_share: float  # agents with their chat slot free, read from the engine after the run
    heapq_us: float

    @property
    def cost_us(self) -> float:
        """A cycle, the kinds taking turns."""
        return sum(self.cycle_us.values()) / len(self.cycle_us)

    @property
    def cycles_per_s(self) -> float:
        return 1e6 / self.cost_us

    @property
    def decisions_per_s(self) -> float:
        return 1e6 / self.next_offer_us


def config() -> EngineConfig:
    strategies = list(Strategy)
    return EngineConfig(
        queues={
            f"q{i}": QueuePolicy(f"q{i}", CHANNELS, strategies[i % len(strategies)], (f"s{i % SKILLS}",))
            for i in range(QUEUES)
        },
        default_offer_timeout=3600.0,
    )


def _queue_skill(queue: int) -> tuple[tuple[str, int], ...]:
    return ((f"s{queue % SKILLS}", 1 + queue % 3),)


class _Centre:
    """The engine with its agents, and what they hold (ids start with their channel's
    initial), so that a cycle can end a random one of a kind."""

    def __init__(self, rng: random.Random, engine: RoutingBackend | None = None) -> None:
        self.engine = engine or MemoryRoutingBackend(config())
        self.rng = rng
        self.clock = 1_000_000.0
        self.queues: dict[str, list[int]] = {}
        self.held: dict[str, list[str]] = {"chat": [], "email": []}
        self.holder: dict[str, str] = {}
        self._counter = 0

    async def add_agent(self, agent_id: str) -> None:
        queues = self.rng.sample(range(QUEUES), 3)
        # The queues' own skills last, so that an agent can take every entry of its queues.
        skills = {f"s{self.rng.randrange(SKILLS)}": self.rng.randint(1, 10)} | {f"s{q % SKILLS}": 10 for q in queues}
        memberships = tuple(QueueMembership(f"q{q}", priority=p) for p, q in enumerate(queues, 1))
        profile = AgentProfile(agent_id, memberships, tuple(sorted(skills.items())), CYCLE_CAPACITY)
        self.queues[agent_id] = queues
        await self.engine.set_agent(profile, AgentState.AVAILABLE, self.clock)

    def entry(self, channel: str, queue: int) -> QueueEntry:
        self._counter += 1
        self.clock += 0.001
        priority = self.rng.choice((0, 0, 0, 1))
        return QueueEntry(
            f"{channel[0]}{self._counter}", f"q{queue}", channel, self.clock, priority, _queue_skill(queue)
        )

    def took(self, offer: Offer) -> None:
        self.held[offer.entry.channel].append(offer.interaction_id)
        self.holder[offer.interaction_id] = offer.agent_id

    def pick(self, channel: str) -> str:
        """A random interaction of the channel an agent holds, no longer counted as held."""
        held = self.held[channel]
        slot = self.rng.randrange(len(held))
        held[slot], held[-1] = held[-1], held[slot]
        return held.pop()

    async def offer_all(self, after: QueueEntry) -> list[Offer]:
        """Every offer the engine can make, after ``after`` arrived, asked for as the
        service asks (``all_offers``: a batch at a time, one step each on a shared engine)."""
        numbers = itertools.count()
        return await self.engine.all_offers(lambda: f"{after.interaction_id}-{next(numbers)}", self.clock)

    async def accept_all(self, offers: list[Offer]) -> None:
        for offer in offers:
            await self.engine.accept(offer.offer_id, offer.agent_id, self.clock)

    async def ready_share(self) -> float:
        ready = 0
        for agent_id in self.queues:
            snapshot = await self.engine.agent(agent_id)
            assert snapshot is not None
            ready += not any(i.startswith("c") for i in snapshot.holding)
        return ready / len(self.queues)


async def _fill(centre: _Centre, scale: Scale) -> None:
    """Every email slot full with ``waiting`` emails left over, then a chat for all but
    READY_SHARE of the agents, each sent to a queue of an agent still without one, so that
    someone ready takes it at once."""
    engine, rng = centre.engine, centre.rng
    for n in range(scale.agents):
        await centre.add_agent(f"a{n}")
    waiting = 0
    while waiting < scale.waiting:
        arrival = centre.entry("email", rng.randrange(QUEUES))
        await engine.enqueue(arrival, centre.clock)
        offers = await centre.offer_all(arrival)
        await centre.accept_all(offers)
        for offer in offers:
            centre.took(offer)
        waiting += 1 - len(offers)
    assert len(centre.held["email"]) == scale.agents * dict(CYCLE_CAPACITY)["email"], "an email slot stayed free"
    chatting = round(scale.agents * (1 - READY_SHARE))
    busy: set[str] = set()
    agents = list(centre.queues)
    rng.shuffle(agents)
    for agent_id in agents:
        # Its queue's strategy may give each chat to another: send more until it has one.
        while agent_id not in busy and len(busy) < chatting:
            arrival = centre.entry("chat", centre.queues[agent_id][0])
            await engine.enqueue(arrival, centre.clock)
            offers = await centre.offer_all(arrival)
            await centre.accept_all(offers)
            for offer in offers:
                centre.took(offer)
                busy.add(offer.agent_id)
    assert len(centre.held["chat"]) == chatting, "a chat was not taken at once"


async def run_scale(
    scale: Scale,
    cycles: int,
    rng: random.Random,
    engine: RoutingBackend | None = None,
    clock: Callable[[], float] = time.process_time,
) -> Result:
    """``engine``: another backend than the in-memory one, on ``config()``; ``clock``: what
    is timed (wall time for a backend whose work is done in another process)."""
    centre = _Centre(rng, engine)
    await _fill(centre, scale)
    engine = centre.engine
    spent = {"chat": 0.0, "email": 0.0}
    offering = 0.0
    made = 0
    for n in range(-cycles, cycles):
        if n == 0:  # the first half warms up: every pool and bucket exists, most agents know theirs
            spent, offering, made = dict.fromkeys(spent, 0.0), 0.0, 0
        channel = "chat" if n % 2 else "email"
        done = centre.pick(channel)
        agent_id = centre.holder.pop(done)
        queue = rng.choice(centre.queues[agent_id]) if channel == "chat" else rng.randrange(QUEUES)
        arrival = centre.entry(channel, queue)
        started = clock()
        await engine.release(done, centre.clock)
        await engine.enqueue(arrival, centre.clock)
        before = clock()
        offers = await centre.offer_all(arrival)
        offering += clock() - before
        await centre.accept_all(offers)
        spent[channel] += clock() - started
        made += len(offers)
        for offer in offers:
            centre.took(offer)
    cycle_us = {kind: seconds / (cycles / 2) * 1e6 for kind, seconds in spent.items()}
    return Result(scale, cycle_us, offering / made * 1e6, await centre.ready_share(), _heapq_cost(scale.waiting, rng))


def _heapq_cost(size: int, rng: random.Random, operations: int = 200_000) -> float:
    heap = [(rng.random(), str(n)) for n in range(size)]
    heapq.heapify(heap)
    started = time.process_time()
    for n in range(operations):
        heapq.heappush(heap, (rng.random(), str(n)))
        heapq.heappop(heap)
    return (time.process_time() - started) / operations * 1e6


@dataclass(frozen=True)
class Scarce:
    ready: int
    cost_us: float
    heapq_us: float


async def run_scarce(ready: int, arrivals: int, rng: random.Random) -> Scarce:
    """Arrivals nobody ready may take: ``ready`` idle agents in the queue, half without the
    skill the entries need, half holding back (a membership delay) for older entries. One
    arrival = enqueue, then next_offer (which finds nothing). A large centre short of one
    language has just this: many idle agents, none of them for these contacts."""
    policy = QueuePolicy("q", CHANNELS, Strategy.LONGEST_IDLE, ())
    engine = MemoryRoutingBackend(EngineConfig(queues={"q": policy}, default_offer_timeout=3600.0))
    clock = 1_000_000.0
    for n in range(ready):
        backup = n % 2 == 1
        membership = QueueMembership("q", delay_seconds=3600.0 if backup else 0.0)
        skills = (("spanish", 5),) if backup else ()
        await engine.set_agent(AgentProfile(f"a{n}", (membership,), skills), AgentState.AVAILABLE, clock - n)
    started = time.process_time()
    for n in range(-arrivals, arrivals):
        if n == 0:  # the first half warms up: the engine has seen this skill on every channel
            started = time.process_time()
        clock += 0.001
        await engine.enqueue(QueueEntry(f"i{n}", "q", rng.choice(CHANNELS), clock, skills=(("spanish", 1),)), clock)
        assert await engine.next_offer(f"o{n}", clock) is None
    cost = (time.process_time() - started) / arrivals * 1e6
    return Scarce(ready, cost, _heapq_cost(max(arrivals, ready), rng))


@dataclass(frozen=True)
class StatsCost:
    agents: int
    stats_ms: float
    bare_ms: float


async def run_stats(agents: int, calls: int, rng: random.Random) -> StatsCost:
    """Live queue statistics (what a supervisor's wallboard polls, and the chat desk once a
    second for its wait estimates) at ``agents`` agents in 3 of 50 queues each, half busy;
    beside the bare pass every figure needs at least: each membership counted once."""
    engine = MemoryRoutingBackend(config())
    profiles = []
    for n in range(agents):
        queues = rng.sample(range(QUEUES), 3)
        profile = AgentProfile(f"a{n}", tuple(QueueMembership(f"q{q}") for q in queues), ())
        profiles.append(profile)
        await engine.set_agent(profile, AgentState.AVAILABLE if n % 2 else AgentState.AWAY, 1.0)
    started = time.process_time()
    for _ in range(calls):
        await engine.stats(2.0)
    stats_ms = (time.process_time() - started) / calls * 1e3
    started = time.process_time()
    for _ in range(calls):
        counted: dict[str, int] = {}
        for profile in profiles:
            for membership in profile.queues:
                counted[membership.queue] = counted.get(membership.queue, 0) + 1
    bare_ms = (time.process_time() - started) / calls * 1e3
    return StatsCost(agents, stats_ms, bare_ms)
