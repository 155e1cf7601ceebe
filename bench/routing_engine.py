"""Routing decisions per second and cost per decision at growing scale (in-memory engine).

One decision = an agent frees a slot (release), a new contact arrives (enqueue), the
engine makes the offer (next_offer until it has nothing more) and the agent accepts.
Depth and load stay constant: every agent is full, the queues hold ``waiting`` entries.
The baseline, in the same run, is a plain heapq push + pop on a heap of the same size.
"""

from __future__ import annotations

import heapq
import random
import time
from dataclasses import dataclass

from routing import (
    AgentProfile,
    AgentState,
    EngineConfig,
    MemoryRoutingBackend,
    QueueEntry,
    QueueMembership,
    QueuePolicy,
    Strategy,
)

QUEUES = 50
SKILLS = 20
CHANNELS = ("sms", "chat", "email")


@dataclass(frozen=True)
class Scale:
    agents: int
    waiting: int


@dataclass(frozen=True)
class Result:
    scale: Scale
    decisions_per_s: float
    cost_us: float
    cycles_per_s: float
    heapq_us: float


def _config() -> EngineConfig:
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


async def run_scale(scale: Scale, cycles: int, rng: random.Random) -> Result:
    engine = MemoryRoutingBackend(_config())
    clock = 1_000_000.0
    counter = 0

    def new_entry() -> QueueEntry:
        nonlocal counter, clock
        counter += 1
        clock += 0.001
        queue = rng.randrange(QUEUES)
        return QueueEntry(
            f"i{counter}", f"q{queue}", rng.choice(CHANNELS), clock, rng.choice((0, 0, 0, 1)), _queue_skill(queue)
        )

    assigned: list[str] = []
    for n in range(scale.agents):
        queues = rng.sample(range(QUEUES), 3)
        skills = {f"s{q % SKILLS}": 10 for q in queues} | {f"s{rng.randrange(SKILLS)}": rng.randint(1, 10)}
        profile = AgentProfile(
            f"a{n}",
            tuple(QueueMembership(f"q{q}", priority=p) for p, q in enumerate(queues, 1)),
            tuple(sorted(skills.items())),
        )
        await engine.set_agent(profile, AgentState.AVAILABLE, clock)
    # Fill every agent and then the queues, so each decision below frees exactly one slot.
    waiting = 0
    while waiting < scale.waiting:
        await engine.enqueue(new_entry(), clock)
        waiting += 1
        while (offer := await engine.next_offer(f"o{len(assigned)}", clock)) is not None:
            await engine.accept(offer.offer_id, offer.agent_id, clock)
            assigned.append(offer.interaction_id)
            waiting -= 1

    deciding = 0.0
    made = 0
    started = time.perf_counter()
    for n in range(-cycles, cycles):
        if n == 0:  # the first half warms up: every agent has looked at the buckets once
            deciding, made, started = 0.0, 0, time.perf_counter()
        slot = rng.randrange(len(assigned))
        await engine.release(assigned[slot], clock)
        await engine.enqueue(new_entry(), clock)
        before = time.perf_counter()
        offers = []
        while (offer := await engine.next_offer(f"d{n}-{len(offers)}", clock)) is not None:
            offers.append(offer)
        deciding += time.perf_counter() - before
        made += len(offers)
        for offer in offers:
            await engine.accept(offer.offer_id, offer.agent_id, clock)
        if offers:
            assigned[slot] = offers[0].interaction_id
            assigned.extend(o.interaction_id for o in offers[1:])
    elapsed = time.perf_counter() - started
    return Result(scale, made / deciding, deciding / made * 1e6, cycles / elapsed, _heapq_cost(scale.waiting, rng))


def _heapq_cost(size: int, rng: random.Random, operations: int = 200_000) -> float:
    heap = [(rng.random(), str(n)) for n in range(size)]
    heapq.heapify(heap)
    started = time.perf_counter()
    for n in range(operations):
        heapq.heappush(heap, (rng.random(), str(n)))
        heapq.heappop(heap)
    return (time.perf_counter() - started) / operations * 1e6


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
    started = time.perf_counter()
    for n in range(-arrivals, arrivals):
        if n == 0:  # the first half warms up: the engine has seen this skill on every channel
            started = time.perf_counter()
        clock += 0.001
        await engine.enqueue(QueueEntry(f"i{n}", "q", rng.choice(CHANNELS), clock, skills=(("spanish", 1),)), clock)
        assert await engine.next_offer(f"o{n}", clock) is None
    cost = (time.perf_counter() - started) / arrivals * 1e6
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
    engine = MemoryRoutingBackend(_config())
    profiles = []
    for n in range(agents):
        queues = rng.sample(range(QUEUES), 3)
        profile = AgentProfile(f"a{n}", tuple(QueueMembership(f"q{q}") for q in queues), ())
        profiles.append(profile)
        await engine.set_agent(profile, AgentState.AVAILABLE if n % 2 else AgentState.AWAY, 1.0)
    started = time.perf_counter()
    for _ in range(calls):
        await engine.stats(2.0)
    stats_ms = (time.perf_counter() - started) / calls * 1e3
    started = time.perf_counter()
    for _ in range(calls):
        counted: dict[str, int] = {}
        for profile in profiles:
            for membership in profile.queues:
                counted[membership.queue] = counted.get(membership.queue, 0) + 1
    bare_ms = (time.perf_counter() - started) / calls * 1e3
    return StatsCost(agents, stats_ms, bare_ms)
