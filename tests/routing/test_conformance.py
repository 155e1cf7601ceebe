"""Conformance suite for ``routing.backend.RoutingBackend``: what every routing backend must do.

Every test takes ``backend_factory`` (tests/routing/conftest.py), which is parametrized over
the backends, and makes its own backend with the ``EngineConfig`` it needs. Time is a fake
clock: ``now`` is always passed in and nothing sleeps. The tests follow the interface's
protocol: after every change, ``next_offer`` is called until it returns None (``drain``).

The last part drives random operation sequences against a reference model (hypothesis state
machines, a fresh event loop per example) and checks the routing invariants after every step.

Bugs this suite found in the in-memory backend are fixed and their tests stay as regressions; a
bug found but not fixed yet is pinned by a test marked ``xfail(strict=True)``.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from routing import (
    AgentProfile,
    AgentState,
    EngineConfig,
    Enqueued,
    Escalated,
    EscalationStep,
    Offer,
    OfferLapsed,
    OfferRevoked,
    PreferenceExpired,
    QueueEntry,
    QueueMembership,
    QueuePolicy,
    QueueStats,
    RoutingBackend,
    RoutingEvent,
    SlaBreached,
    Strategy,
    WrapUpEnded,
    skills_of,
)
from tests.routing.conftest import BackendFactory

Make = Callable[[EngineConfig], RoutingBackend]
T = TypeVar("T")

T0 = 1_000_000.0  # the fake clock's "now" at the start of every test
_offer_ids = itertools.count(1)


# -- helpers -------------------------------------------------------------------------------


def entry(
    interaction_id: str,
    at: float = T0,
    *,
    queue: str = "support",
    channel: str = "chat",
    priority: int = 0,
    skills: dict[str, int] | None = None,
    deadline: float | None = None,
    preferred_agent: str | None = None,
    preferred_until: float = 0.0,
) -> QueueEntry:
    return QueueEntry(
        interaction_id,
        queue,
        channel,
        at,
        priority=priority,
        skills=skills_of(skills or {}),
        answer_deadline=deadline,
        preferred_agent=preferred_agent,
        preferred_until=preferred_until,
    )


def profile(
    agent_id: str,
    *queues: str | QueueMembership,
    skills: dict[str, int] | None = None,
    capacity: dict[str, int] | None = None,
) -> AgentProfile:
    memberships = tuple(q if isinstance(q, QueueMembership) else QueueMembership(q) for q in queues or ("support",))
    if capacity is None:
        return AgentProfile(agent_id, memberships, skills_of(skills or {}))
    return AgentProfile(agent_id, memberships, skills_of(skills or {}), capacity=tuple(sorted(capacity.items())))


def policy_config(*policies: QueuePolicy, **options: Any) -> EngineConfig:
    return EngineConfig(queues={p.name: p for p in policies}, **options)


async def drain(backend: RoutingBackend, now: float) -> list[Offer]:
    """Call ``next_offer`` until None, as the interface asks after every change."""
    offers: list[Offer] = []
    for _ in range(1000):
        offer = await backend.next_offer(f"offer-{next(_offer_ids)}", now)
        if offer is None:
            return offers
        offers.append(offer)
    raise AssertionError("next_offer never returned None")


async def only_offer(backend: RoutingBackend, now: float) -> Offer:
    offers = await drain(backend, now)
    assert len(offers) == 1, offers
    return offers[0]


async def arrive(backend: RoutingBackend, now: float, *entries: QueueEntry) -> list[Offer]:
    """Enqueue each entry (expecting ADDED), draining after each; the offers made."""
    offers: list[Offer] = []
    for item in entries:
        assert await backend.enqueue(item, now) is Enqueued.ADDED
        offers += await drain(backend, now)
    return offers


async def available(backend: RoutingBackend, agent: AgentProfile, now: float) -> list[Offer]:
    """Make the agent available (nothing to revoke), then drain; the offers made."""
    assert await backend.set_agent(agent, AgentState.AVAILABLE, now) == []
    return await drain(backend, now)


async def waiting_ids(backend: RoutingBackend, queue: str = "support") -> list[str]:
    return [e.interaction_id for e in await backend.waiting(queue)]


async def holding(backend: RoutingBackend, agent_id: str) -> tuple[str, ...]:
    snapshot = await backend.agent(agent_id)
    assert snapshot is not None
    return snapshot.holding


async def serve_all(backend: RoutingBackend, agent_id: str, now: float) -> list[str]:
    """Accept and release every offer until none comes; the interactions in the order served."""
    served: list[str] = []
    while offers := await drain(backend, now):
        for offer in offers:
            assert offer.agent_id == agent_id
            assert await backend.accept(offer.offer_id, agent_id, now) == offer
            assert await backend.release(offer.interaction_id, now) == agent_id
            served.append(offer.interaction_id)
    return served


async def lapse(backend: RoutingBackend, offer: Offer) -> tuple[float, OfferLapsed]:
    """Tick just past the offer's expiry; the time and the one OfferLapsed it must give."""
    now = offer.expires_at + 0.5
    events = await backend.tick(now)
    assert [type(e) for e in events] == [OfferLapsed], events
    event = events[0]
    assert isinstance(event, OfferLapsed)
    assert event.offer.offer_id == offer.offer_id
    return now, event


async def stat(backend: RoutingBackend, now: float, queue: str, channel: str) -> QueueStats:
    for figures in await backend.stats(now):
        if (figures.queue, figures.channel) == (queue, channel):
            return figures
    raise AssertionError(f"no statistics for {queue}/{channel}")


def assert_within_capacity(agent: AgentProfile, held: Sequence[str], channel_of: dict[str, str]) -> None:
    per_channel = Counter(channel_of[i] for i in held)
    capacity = dict(agent.capacity)
    for channel, n in per_channel.items():
        assert n <= capacity.get(channel, 0), f"{agent.agent_id} holds {n} {channel}, capacity {capacity}"
    if any(channel in agent.exclusive for channel in per_channel):
        assert len(held) == 1, f"{agent.agent_id} holds {held} beside an exclusive channel"


# -- 1. queues -----------------------------------------------------------------------------


async def test_entries_of_equal_priority_are_offered_in_order_of_enqueued_at(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await arrive(backend, T0, entry("late", T0 - 10), entry("early", T0 - 30), entry("middle", T0 - 20)) == []
    assert await waiting_ids(backend) == ["early", "middle", "late"]
    assert await backend.set_agent(profile("a1", capacity={"chat": 1}), AgentState.AVAILABLE, T0) == []
    assert await serve_all(backend, "a1", T0) == ["early", "middle", "late"]


async def test_higher_priority_entries_are_offered_before_older_lower_priority_ones(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    entries = [
        entry("p0-oldest", T0 - 40),
        entry("p2-newest", T0 - 10, priority=2),
        entry("p1", T0 - 30, priority=1),
        entry("p2-older", T0 - 20, priority=2),
    ]
    assert await arrive(backend, T0, *entries) == []
    assert await waiting_ids(backend) == ["p2-older", "p2-newest", "p1", "p0-oldest"]
    assert await backend.set_agent(profile("a1", capacity={"chat": 1}), AgentState.AVAILABLE, T0) == []
    assert await serve_all(backend, "a1", T0) == ["p2-older", "p2-newest", "p1", "p0-oldest"]


@pytest.mark.parametrize("seed", range(6))
async def test_offers_asked_for_in_batches_are_the_ones_asked_for_one_by_one(backend_factory: Make, seed: int) -> None:
    """``next_offers`` (and ``all_offers``, which the service calls) make what ``next_offer``
    called again and again makes on a twin: agents of several capacities on two channels
    (some with room for more than a batch),
    entries of several priorities waiting, then agents becoming available in turn."""
    rng = random.Random(seed)
    one_by_one, batched = backend_factory(EngineConfig()), backend_factory(EngineConfig())
    entries = [
        entry(f"e{n}", T0 - rng.randrange(100), channel=rng.choice(["chat", "email"]), priority=rng.randrange(3))
        for n in range(rng.randrange(4, 24))
    ]
    agents = [
        profile(f"a{n}", capacity={"chat": rng.randrange(1, 14), "email": rng.randrange(0, 3)})
        for n in range(rng.randrange(1, 5))
    ]
    for backend in (one_by_one, batched):
        assert await arrive(backend, T0, *entries) == []
    ids = itertools.count()
    for agent in agents:
        expected = await available(one_by_one, agent, T0)
        assert await batched.set_agent(agent, AgentState.AVAILABLE, T0) == []
        # A batch of two first, then the rest as the service asks for them.
        first = await batched.next_offers([f"o{next(ids)}", f"o{next(ids)}"], T0)
        assert len(first) == min(2, len(expected))
        rest = await batched.all_offers(lambda: f"o{next(ids)}", T0)
        assert [(o.interaction_id, o.agent_id) for o in first + rest] == [
            (o.interaction_id, o.agent_id) for o in expected
        ]
        assert await batched.next_offers(["none"], T0) == []
    assert await waiting_ids(batched) == await waiting_ids(one_by_one)


@pytest.mark.parametrize("stage", ["waiting", "offered", "assigned"])
async def test_enqueue_of_an_already_routed_interaction_is_a_duplicate_and_changes_nothing(
    backend_factory: Make, stage: str
) -> None:
    backend = backend_factory(EngineConfig())
    first = entry("x", T0 - 20)
    assert await arrive(backend, T0, first, entry("y", T0 - 10)) == []
    if stage != "waiting":
        [offer] = await available(backend, profile("a1", capacity={"chat": 1}), T0)
        assert offer.interaction_id == "x"
        if stage == "assigned":
            assert await backend.accept(offer.offer_id, "a1", T0) == offer

    async def state() -> tuple[object, ...]:
        return (
            await backend.waiting("support"),
            await backend.waiting("sales"),
            await backend.open_offers("a1"),
            await backend.agent("a1"),
        )

    before = await state()
    assert await backend.enqueue(first, T0 + 1) is Enqueued.DUPLICATE
    assert await backend.enqueue(entry("x", T0 - 99, queue="sales", priority=9), T0 + 1) is Enqueued.DUPLICATE
    assert await drain(backend, T0 + 1) == []
    assert await state() == before


async def test_sms_arrivals_beyond_max_size_are_flagged_over_capacity_and_still_queued(backend_factory: Make) -> None:
    backend = backend_factory(policy_config(QueuePolicy("support", channels=("sms", "voice"), max_size=2)))
    results = [await backend.enqueue(entry(f"s{n}", T0 + n, channel="sms"), T0 + n) for n in range(4)]
    assert results == [Enqueued.ADDED, Enqueued.ADDED, Enqueued.OVER_CAPACITY, Enqueued.OVER_CAPACITY]
    assert await waiting_ids(backend) == ["s0", "s1", "s2", "s3"]


async def test_voice_arrivals_beyond_max_size_are_refused_and_not_queued(backend_factory: Make) -> None:
    backend = backend_factory(policy_config(QueuePolicy("support", channels=("sms", "voice"), max_size=2)))
    results = [await backend.enqueue(entry(f"v{n}", T0 + n, channel="voice"), T0 + n) for n in range(3)]
    assert results == [Enqueued.ADDED, Enqueued.ADDED, Enqueued.REFUSED]
    assert await waiting_ids(backend) == ["v0", "v1"]
    assert await backend.set_agent(profile("a1"), AgentState.AVAILABLE, T0 + 5) == []
    assert await serve_all(backend, "a1", T0 + 5) == ["v0", "v1"]
    # A refused interaction was never routed: it may come back once there is room.
    assert await backend.enqueue(entry("v2", T0 + 6, channel="voice"), T0 + 6) is Enqueued.ADDED


# -- 2. skills and queue membership --------------------------------------------------------


async def test_an_entry_requiring_skills_goes_only_to_an_agent_with_each_skill_at_or_above_its_level(
    backend_factory: Make,
) -> None:
    backend = backend_factory(EngineConfig())
    required = {"billing": 3, "tech": 2}
    assert await available(backend, profile("low-tech", skills={"billing": 9, "tech": 1}), T0 - 30) == []
    assert await available(backend, profile("no-billing", skills={"tech": 9}), T0 - 20) == []
    assert await arrive(backend, T0, entry("x", T0, skills=required)) == []
    [offer] = await available(backend, profile("exact", skills={"billing": 3, "tech": 2}), T0 + 1)
    assert (offer.interaction_id, offer.agent_id) == ("x", "exact")
    [second] = await arrive(backend, T0 + 2, entry("y", T0 + 2, skills=required))
    assert (second.interaction_id, second.agent_id) == ("y", "exact")


async def test_an_agent_gets_only_entries_of_the_queues_it_serves(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("seller", "sales"), T0 - 10) == []
    assert await arrive(backend, T0, entry("help", queue="support")) == []
    [offer] = await arrive(backend, T0, entry("buy", queue="sales"))
    assert (offer.interaction_id, offer.agent_id) == ("buy", "seller")
    assert await waiting_ids(backend, "support") == ["help"]
    [offer] = await available(backend, profile("helper", "support"), T0 + 1)
    assert (offer.interaction_id, offer.agent_id) == ("help", "helper")


async def test_an_agent_takes_its_priority_one_queue_before_its_priority_two_queue_even_if_older(
    backend_factory: Make,
) -> None:
    backend = backend_factory(EngineConfig())
    assert (
        await arrive(backend, T0, entry("old-backup", T0 - 60, queue="backup"), entry("new-main", T0 - 5, queue="main"))
        == []
    )
    agent = profile(
        "a1", QueueMembership("main", priority=1), QueueMembership("backup", priority=2), capacity={"chat": 1}
    )
    assert await backend.set_agent(agent, AgentState.AVAILABLE, T0) == []
    assert await serve_all(backend, "a1", T0) == ["new-main", "old-backup"]


async def test_an_entry_is_offered_to_a_delayed_member_only_once_it_has_waited_the_delay(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("a1", QueueMembership("support", delay_seconds=30)), T0 - 60) == []
    assert await arrive(backend, T0, entry("x", T0)) == []
    for now in (T0 + 10, T0 + 29.5):
        assert await backend.tick(now) == []
        assert await drain(backend, now) == []
    assert await backend.tick(T0 + 30.5) == []
    offer = await only_offer(backend, T0 + 30.5)
    assert (offer.interaction_id, offer.agent_id) == ("x", "a1")


# -- 3. capacity ---------------------------------------------------------------------------


@pytest.mark.parametrize(("channel", "capacity"), [("voice", 1), ("chat", 3), ("sms", 5), ("email", 5)])
async def test_default_capacity_per_channel(backend_factory: Make, channel: str, capacity: int) -> None:
    backend = backend_factory(EngineConfig())
    ids = [f"{channel}{n}" for n in range(7)]
    assert await arrive(backend, T0, *(entry(iid, T0 - 10 + n, channel=channel) for n, iid in enumerate(ids))) == []
    offers = await available(backend, profile("a1"), T0)
    assert [o.interaction_id for o in offers] == ids[:capacity]
    for offer in offers:
        assert await backend.accept(offer.offer_id, "a1", T0) == offer
    assert await drain(backend, T0) == []
    assert await waiting_ids(backend) == ids[capacity:]


async def test_capacity_per_channel_is_configurable_per_agent(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    waiting = [entry(f"c{n}", T0 - 30 + n) for n in range(3)]
    waiting += [entry(f"m{n}", T0 - 20 + n, channel="email") for n in range(3)]
    waiting += [entry("s0", T0 - 10, channel="sms")]
    assert await arrive(backend, T0, *waiting) == []
    offers = await available(backend, profile("a1", capacity={"chat": 1, "email": 2}), T0)
    assert sorted(o.interaction_id for o in offers) == ["c0", "m0", "m1"]


async def test_an_agent_holding_anything_gets_no_voice(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("a1"), T0 - 60) == []
    [chat] = await arrive(backend, T0, entry("c", T0, channel="chat"))
    # An open offer counts...
    assert await arrive(backend, T0 + 1, entry("v", T0 + 1, channel="voice")) == []
    # ...and so does an assignment.
    assert await backend.accept(chat.offer_id, "a1", T0 + 2) == chat
    assert await drain(backend, T0 + 2) == []
    assert await backend.release("c", T0 + 3) == "a1"
    voice = await only_offer(backend, T0 + 3)
    assert (voice.interaction_id, voice.agent_id) == ("v", "a1")


async def test_an_agent_on_voice_gets_nothing_else(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("a1"), T0 - 60) == []
    [voice] = await arrive(backend, T0, entry("v", T0, channel="voice"))
    others = [
        entry("c", T0 + 1, channel="chat"),
        entry("s", T0 + 1, channel="sms"),
        entry("m", T0 + 1, channel="email"),
    ]
    assert await arrive(backend, T0 + 1, *others) == []
    assert await backend.accept(voice.offer_id, "a1", T0 + 2) == voice
    assert await drain(backend, T0 + 2) == []
    assert await backend.release("v", T0 + 3) == "a1"
    assert sorted(o.interaction_id for o in await drain(backend, T0 + 3)) == ["c", "m", "s"]


async def test_no_agent_ever_exceeds_its_capacity_per_channel(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    agents = [profile("a1"), profile("a2", capacity={"chat": 2, "sms": 1, "voice": 1}), profile("a3")]
    for n, agent in enumerate(agents):
        assert await available(backend, agent, T0 - 100 + n) == []
    channels = ["voice", "chat", "sms", "email"] * 8
    channel_of = {f"i{n:02d}": channel for n, channel in enumerate(channels)}
    offers = await arrive(backend, T0, *(entry(iid, T0, channel=ch) for iid, ch in channel_of.items()))

    async def check() -> None:
        for agent in agents:
            assert_within_capacity(agent, await holding(backend, agent.agent_id), channel_of)

    await check()
    for offer in offers:
        assert await backend.accept(offer.offer_id, offer.agent_id, T0 + 1) == offer
    await check()
    for offer in offers[::2]:
        assert await backend.release(offer.interaction_id, T0 + 2) == offer.agent_id
        await drain(backend, T0 + 2)
        await check()


# -- 4. agent states -----------------------------------------------------------------------


@pytest.mark.parametrize("state", [AgentState.OFFLINE, AgentState.AWAY, AgentState.WRAP_UP])
async def test_offline_away_and_wrap_up_agents_get_no_offers(backend_factory: Make, state: AgentState) -> None:
    backend = backend_factory(EngineConfig())
    assert await backend.set_agent(profile("a1"), state, T0 - 10, reason="lunch") == []
    snapshot = await backend.agent("a1")
    assert snapshot is not None
    assert (snapshot.state, snapshot.reason) == (state, "lunch")
    assert await drain(backend, T0 - 10) == []
    assert await arrive(backend, T0, entry("x")) == []
    assert await backend.tick(T0 + 600) == []
    assert await drain(backend, T0 + 600) == []
    [offer] = await available(backend, profile("a1"), T0 + 601)
    assert (offer.interaction_id, offer.agent_id) == ("x", "a1")


async def test_setting_an_agent_away_revokes_its_open_offers_back_to_their_place(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    entries = [entry("e1", T0 - 30), entry("e2", T0 - 20), entry("e3", T0 - 10)]
    assert await arrive(backend, T0, *entries) == []
    agent = profile("a1", capacity={"chat": 2})
    offers = await available(backend, agent, T0)
    assert [o.interaction_id for o in offers] == ["e1", "e2"]
    revoked = await backend.set_agent(agent, AgentState.AWAY, T0 + 1, reason="break")
    assert sorted(revoked, key=lambda o: o.offer_id) == sorted(offers, key=lambda o: o.offer_id)
    assert await backend.waiting("support") == entries
    assert await backend.open_offers("a1") == []
    snapshot = await backend.agent("a1")
    assert snapshot is not None
    assert (snapshot.state, snapshot.reason, snapshot.holding) == (AgentState.AWAY, "break", ())
    for offer in offers:
        assert await backend.accept(offer.offer_id, "a1", T0 + 2) is None
    assert await drain(backend, T0 + 2) == []


async def test_an_extended_wrap_up_ends_at_its_new_end_only(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("a1", capacity={"chat": 1}), T0 - 60) == []
    assert await backend.extend_wrap_up("a1", 30, T0 - 59) is None  # not in wrap-up: nothing to extend
    [offer] = await arrive(backend, T0 - 30, entry("x", T0 - 30))
    assert await backend.accept(offer.offer_id, "a1", T0 - 29) == offer
    assert await backend.release("x", T0, wrap_up_seconds=60) == "a1"
    assert await backend.extend_wrap_up("a1", 30, T0 + 10) == T0 + 90
    assert await backend.tick(T0 + 60.5) == []  # the first end's timer no longer ends it
    assert await backend.tick(T0 + 90.5) == [WrapUpEnded("a1")]
    assert await backend.extend_wrap_up("nobody", 30, T0) is None


async def test_release_with_wrap_up_holds_offers_back_until_tick_ends_the_period(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("a1", capacity={"chat": 1}), T0 - 60) == []
    [offer] = await arrive(backend, T0 - 30, entry("x", T0 - 30))
    assert await backend.accept(offer.offer_id, "a1", T0 - 29) == offer
    assert await arrive(backend, T0 - 20, entry("y", T0 - 20)) == []
    assert await backend.release("x", T0, wrap_up_seconds=60) == "a1"
    snapshot = await backend.agent("a1")
    assert snapshot is not None
    assert (snapshot.state, snapshot.holding) == (AgentState.WRAP_UP, ())
    assert await drain(backend, T0) == []
    assert await backend.tick(T0 + 59.5) == []
    assert await drain(backend, T0 + 59.5) == []
    assert await backend.tick(T0 + 60.5) == [WrapUpEnded("a1")]
    snapshot = await backend.agent("a1")
    assert snapshot is not None
    assert snapshot.state is AgentState.AVAILABLE
    offer = await only_offer(backend, T0 + 60.5)
    assert (offer.interaction_id, offer.agent_id) == ("y", "a1")
    assert await backend.accept(offer.offer_id, "a1", T0 + 61) == offer
    assert await backend.tick(T0 + 200) == []  # the period ends once


async def test_idle_since_is_when_the_agent_last_became_available_with_nothing_held(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await backend.agent("a1") is None
    assert await available(backend, profile("a1"), T0) == []
    snapshot = await backend.agent("a1")
    assert snapshot is not None
    assert (snapshot.state, snapshot.idle_since, snapshot.holding) == (AgentState.AVAILABLE, T0, ())
    [offer] = await arrive(backend, T0 + 10, entry("x", T0 + 10))
    assert await backend.accept(offer.offer_id, "a1", T0 + 11) == offer
    assert await holding(backend, "a1") == ("x",)
    assert await backend.release("x", T0 + 50) == "a1"
    snapshot = await backend.agent("a1")
    assert snapshot is not None
    assert (snapshot.idle_since, snapshot.holding) == (T0 + 50, ())
    assert await backend.set_agent(profile("a1"), AgentState.AWAY, T0 + 60) == []
    assert await available(backend, profile("a1"), T0 + 90) == []
    snapshot = await backend.agent("a1")
    assert snapshot is not None
    assert snapshot.idle_since == T0 + 90


# -- 5. missed offers ----------------------------------------------------------------------


async def test_an_agent_letting_max_missed_offers_lapse_in_a_row_is_set_away_as_missed(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig(max_missed_offers=3))
    assert await arrive(backend, T0, *(entry(f"x{n}", T0 - 10 + n) for n in range(4))) == []
    offers = await available(backend, profile("a1", capacity={"chat": 1}), T0)
    flags = []
    for _ in range(3):
        [offer] = offers
        assert offer.agent_id == "a1"
        now, event = await lapse(backend, offer)
        flags.append(event.agent_set_away)
        offers = await drain(backend, now)
    assert flags == [False, False, True]
    assert offers == []
    snapshot = await backend.agent("a1")
    assert snapshot is not None
    assert (snapshot.state, snapshot.reason, snapshot.holding) == (AgentState.AWAY, "missed", ())
    assert len(await backend.waiting("support")) == 4


async def test_an_agent_set_away_as_missed_has_its_other_open_offers_revoked_back_in_place(
    backend_factory: Make,
) -> None:
    backend = backend_factory(EngineConfig(max_missed_offers=1))
    assert await available(backend, profile("a1", capacity={"chat": 2}), T0 - 60) == []
    x, y = entry("x", T0 - 20), entry("y", T0 - 10)
    [first] = await arrive(backend, T0, x)
    [second] = await arrive(backend, T0 + 5, y)
    assert first.expires_at < second.expires_at
    events = await backend.tick(first.expires_at + 0.5)
    assert events == [OfferLapsed(first, agent_set_away=True), OfferRevoked(second)]
    assert await backend.waiting("support") == [x, y]
    assert await backend.open_offers("a1") == []
    assert await holding(backend, "a1") == ()
    assert await backend.accept(second.offer_id, "a1", first.expires_at + 1) is None


async def test_an_accept_between_lapsed_offers_resets_the_missed_count(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig(max_missed_offers=2))
    assert await arrive(backend, T0, *(entry(f"x{n}", T0 - 10 + n) for n in range(4))) == []
    [offer] = await available(backend, profile("a1", capacity={"chat": 1}), T0)
    now, event = await lapse(backend, offer)
    assert event.agent_set_away is False
    offer = await only_offer(backend, now)
    assert await backend.accept(offer.offer_id, "a1", now) == offer
    assert await backend.release(offer.interaction_id, now) == "a1"
    offer = await only_offer(backend, now)
    now, event = await lapse(backend, offer)
    assert event.agent_set_away is False  # the first in a row again
    snapshot = await backend.agent("a1")
    assert snapshot is not None
    assert snapshot.state is AgentState.AVAILABLE
    offer = await only_offer(backend, now)
    now, event = await lapse(backend, offer)
    assert event.agent_set_away is True


# -- 6. strategies -------------------------------------------------------------------------


def strategy_config(strategy: Strategy, skills: tuple[str, ...] = ()) -> EngineConfig:
    return policy_config(QueuePolicy("support", strategy=strategy, skills=skills))


async def test_longest_idle_offers_to_the_agent_idle_longest(backend_factory: Make) -> None:
    backend = backend_factory(strategy_config(Strategy.LONGEST_IDLE))
    for agent_id, since in [("a1", T0 - 50), ("a2", T0 - 40), ("a3", T0 - 30)]:
        assert await available(backend, profile(agent_id), since) == []
    # a1 takes one and finishes: now idle since T0 - 20, so a2 is the one idle longest.
    [offer] = await arrive(backend, T0 - 25, entry("warm-up", T0 - 25))
    assert offer.agent_id == "a1"
    assert await backend.accept(offer.offer_id, "a1", T0 - 25) == offer
    assert await backend.release("warm-up", T0 - 20) == "a1"
    [offer] = await arrive(backend, T0, entry("x", T0))
    assert offer.agent_id == "a2"


async def test_most_skilled_offers_to_the_highest_sum_of_levels_over_the_policys_skills(backend_factory: Make) -> None:
    backend = backend_factory(strategy_config(Strategy.MOST_SKILLED, skills=("billing", "tech")))
    agents = [
        ("all-round", {"billing": 3, "tech": 3}),  # 6, idle longest
        ("billing-only", {"billing": 8}),  # 8
        ("other-skills", {"billing": 1, "sales": 10, "vip": 10}),  # 1 over the policy's skills
        ("specialist", {"billing": 9, "tech": 1}),  # 10, idle shortest
    ]
    for n, (agent_id, skills) in enumerate(agents):
        assert await available(backend, profile(agent_id, skills=skills), T0 - 50 + n) == []
    [offer] = await arrive(backend, T0, entry("x", T0))
    assert offer.agent_id == "specialist"


async def test_least_occupied_offers_to_the_least_loaded_agent(backend_factory: Make) -> None:
    backend = backend_factory(strategy_config(Strategy.LEAST_OCCUPIED))
    loads = {"a1": ["chat", "chat"], "a2": ["chat"], "a3": ["chat", "chat", "sms", "sms"]}
    # a2's restored work is the newest, so it is not the agent idle longest.
    for n, agent_id in enumerate(["a1", "a3", "a2"]):
        for k, channel in enumerate(loads[agent_id]):
            await backend.restore_assigned(entry(f"{agent_id}-{k}", T0 - 300 + 100 * n, channel=channel), agent_id)
    for n, agent_id in enumerate(["a1", "a3", "a2"]):
        assert await available(backend, profile(agent_id), T0 - 50 + n) == []
    [offer] = await arrive(backend, T0, entry("x", T0))
    assert offer.agent_id == "a2"


async def test_round_robin_rotates_over_the_agents(backend_factory: Make) -> None:
    backend = backend_factory(strategy_config(Strategy.ROUND_ROBIN))
    for n, agent_id in enumerate(["a1", "a2", "a3"]):
        assert await available(backend, profile(agent_id), T0 - 50 + n) == []
    got = []
    for n in range(6):
        [offer] = await arrive(backend, T0 + n, entry(f"x{n}", T0 + n))
        assert await backend.accept(offer.offer_id, offer.agent_id, T0 + n) == offer
        got.append(offer.agent_id)
    # Every agent once per round, in the same order each round (all still hold their chats,
    # so "longest idle" would have given a1 three in a row).
    assert sorted(got[:3]) == ["a1", "a2", "a3"]
    assert got[3:] == got[:3]


# -- 7. preferred agent and transfer -------------------------------------------------------


async def test_an_entry_with_a_preferred_agent_is_offered_only_to_that_agent_while_the_window_lasts(
    backend_factory: Make,
) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("other"), T0 - 60) == []
    assert await arrive(backend, T0, entry("x", T0, preferred_agent="last", preferred_until=T0 + 120)) == []
    assert await backend.tick(T0 + 60) == []
    assert await drain(backend, T0 + 60) == []
    [offer] = await available(backend, profile("last"), T0 + 61)
    assert (offer.interaction_id, offer.agent_id) == ("x", "last")


async def test_an_entry_held_for_an_agent_who_cannot_take_its_channel_hides_none_held_on_another(
    backend_factory: Make,
) -> None:
    backend = backend_factory(EngineConfig())
    last = profile("last", capacity={"sms": 1, "chat": 1})
    assert await available(backend, last, T0 - 60) == []
    [busy] = await arrive(backend, T0 - 30, entry("busy", T0 - 30, channel="sms"))
    assert await backend.accept(busy.offer_id, "last", T0 - 30) == busy
    assert await backend.set_agent(last, AgentState.AWAY, T0 - 20) == []
    held = entry("sms", T0, channel="sms", priority=1, preferred_agent="last", preferred_until=T0 + 120)
    chat = entry("chat", T0 + 1, channel="chat", preferred_agent="last", preferred_until=T0 + 120)
    assert await arrive(backend, T0 + 1, held, chat) == []
    # Back, with her SMS at capacity: the SMS held for her waits, the chat does not.
    [offer] = await available(backend, last, T0 + 2)
    assert (offer.interaction_id, offer.agent_id) == ("chat", "last")


async def test_when_the_preferred_window_ends_tick_reports_it_and_anyone_eligible_may_take_it(
    backend_factory: Make,
) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("other"), T0 - 60) == []
    assert await arrive(backend, T0, entry("x", T0, preferred_agent="last", preferred_until=T0 + 120)) == []
    assert await backend.tick(T0 + 119.5) == []
    events = await backend.tick(T0 + 120.5)
    assert [type(e) for e in events] == [PreferenceExpired]
    assert isinstance(events[0], PreferenceExpired)
    assert events[0].entry.interaction_id == "x"
    offer = await only_offer(backend, T0 + 120.5)
    assert (offer.interaction_id, offer.agent_id) == ("x", "other")


async def test_transfer_frees_the_agent_and_queues_the_interaction_in_another_queue(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("helper", "support", capacity={"chat": 1}), T0 - 60) == []
    assert await available(backend, profile("biller", "billing"), T0 - 50) == []
    [offer] = await arrive(backend, T0, entry("x", T0))
    assert offer.agent_id == "helper"
    assert await backend.accept(offer.offer_id, "helper", T0) == offer
    assert await arrive(backend, T0 + 5, entry("y", T0 + 5)) == []
    moved = replace(offer.entry, queue="billing")
    assert await backend.transfer(moved, T0 + 10) is True
    assert await holding(backend, "helper") == ()
    assert await backend.waiting("billing") == [moved]
    offers = await drain(backend, T0 + 10)
    assert sorted((o.interaction_id, o.agent_id) for o in offers) == [("x", "biller"), ("y", "helper")]


async def test_transfer_to_a_named_agent_reserves_the_interaction_for_that_agent(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("helper"), T0 - 60) == []
    assert await available(backend, profile("colleague"), T0 - 50) == []
    [offer] = await arrive(backend, T0, entry("x", T0))
    assert offer.agent_id == "helper"
    assert await backend.accept(offer.offer_id, "helper", T0) == offer
    moved = replace(offer.entry, preferred_agent="expert", preferred_until=T0 + 300)
    assert await backend.transfer(moved, T0 + 10) is True
    assert await holding(backend, "helper") == ()
    assert await drain(backend, T0 + 10) == []
    [offer] = await available(backend, profile("expert"), T0 + 20)
    assert (offer.interaction_id, offer.agent_id) == ("x", "expert")


async def test_transfer_of_an_interaction_that_is_not_assigned_returns_false(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("a1", capacity={"chat": 1}), T0 - 60) == []
    [offered] = await arrive(backend, T0, entry("x", T0))
    assert await arrive(backend, T0, entry("y", T0 + 1)) == []
    assert await backend.transfer(replace(offered.entry, queue="billing"), T0 + 5) is False
    assert await backend.transfer(entry("y", T0 + 1, queue="billing"), T0 + 5) is False
    assert await backend.transfer(entry("unknown", T0, queue="billing"), T0 + 5) is False
    assert await backend.waiting("billing") == []
    assert await waiting_ids(backend) == ["y"]
    assert await backend.open_offers("a1") == [offered]


# -- 8. offers -----------------------------------------------------------------------------


async def test_an_interaction_has_at_most_one_open_offer(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    for n, agent_id in enumerate(["a1", "a2", "a3"]):
        assert await available(backend, profile(agent_id), T0 - 50 + n) == []
    offers = await arrive(backend, T0, entry("x", T0))
    assert len(offers) == 1
    assert await drain(backend, T0) == []
    assert [o for a in ["a1", "a2", "a3"] for o in await backend.open_offers(a)] == offers


async def test_accept_assigns_and_a_second_accept_or_another_agents_accept_gets_none(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("a1"), T0 - 60) == []
    assert await available(backend, profile("a2"), T0 - 50) == []
    [offer] = await arrive(backend, T0, entry("x", T0))
    owner, other = offer.agent_id, ({"a1", "a2"} - {offer.agent_id}).pop()
    assert await backend.accept(offer.offer_id, other, T0 + 1) is None
    assert await backend.accept(offer.offer_id, owner, T0 + 1) == offer
    assert await backend.accept(offer.offer_id, owner, T0 + 2) is None
    assert await backend.accept(offer.offer_id, other, T0 + 2) is None
    assert await backend.reject(offer.offer_id, owner, T0 + 2) is None
    assert await backend.open_offers(owner) == []
    assert await holding(backend, owner) == ("x",)
    assert await holding(backend, other) == ()
    assert await backend.waiting("support") == []
    assert await drain(backend, T0 + 2) == []


async def test_reject_returns_the_entry_to_its_place_and_the_agent_stays_available(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("a1", capacity={"chat": 1}), T0 - 60) == []
    x, y = entry("x", T0 - 30), entry("y", T0 - 20)
    [offer] = await arrive(backend, T0 - 30, x)
    assert await arrive(backend, T0 - 20, y) == []
    assert await backend.reject(offer.offer_id, "a1", T0) == offer
    assert await backend.waiting("support") == [x, y]
    assert await backend.open_offers("a1") == []
    snapshot = await backend.agent("a1")
    assert snapshot is not None
    assert (snapshot.state, snapshot.holding) == (AgentState.AVAILABLE, ())
    assert await backend.accept(offer.offer_id, "a1", T0) is None
    assert await backend.reject(offer.offer_id, "a1", T0) is None


async def test_a_rejected_entry_is_offered_to_another_ready_agent_first(backend_factory: Make) -> None:
    backend = backend_factory(strategy_config(Strategy.MOST_SKILLED, skills=("tech",)))
    assert await available(backend, profile("novice", skills={"tech": 1}), T0 - 60) == []
    assert await available(backend, profile("expert", skills={"tech": 9}), T0 - 50) == []
    [offer] = await arrive(backend, T0, entry("x", T0))
    assert offer.agent_id == "expert"
    assert await backend.reject(offer.offer_id, "expert", T0 + 1) == offer
    again = await only_offer(backend, T0 + 1)
    assert (again.interaction_id, again.agent_id) == ("x", "novice")


async def test_an_offer_lapses_once_tick_passes_its_expiry_and_the_entry_returns_to_its_place(
    backend_factory: Make,
) -> None:
    backend = backend_factory(EngineConfig(default_offer_timeout=30.0, max_missed_offers=5))
    assert await available(backend, profile("a1", capacity={"chat": 1}), T0 - 60) == []
    x, y = entry("x", T0 - 30), entry("y", T0 - 20)
    [offer] = await arrive(backend, T0 - 30, x)
    assert offer.expires_at == T0
    assert await arrive(backend, T0 - 20, y) == []
    assert await backend.tick(T0 - 0.5) == []
    assert await backend.tick(T0 + 0.5) == [OfferLapsed(offer, agent_set_away=False)]
    assert await backend.waiting("support") == [x, y]
    assert await backend.open_offers("a1") == []
    assert await backend.accept(offer.offer_id, "a1", T0 + 0.5) is None


async def test_an_accept_at_or_after_the_offers_expiry_is_refused_even_before_the_tick_lapses_it(
    backend_factory: Make,
) -> None:
    backend = backend_factory(EngineConfig(default_offer_timeout=30.0, max_missed_offers=5))
    assert await available(backend, profile("a1", capacity={"chat": 1}), T0 - 60) == []
    x = entry("x", T0 - 30)
    [offer] = await arrive(backend, T0 - 30, x)
    assert offer.expires_at == T0
    assert await backend.accept(offer.offer_id, "a1", T0) is None
    assert await backend.accept(offer.offer_id, "a1", T0 + 0.5) is None
    assert await drain(backend, T0 + 0.5) == []
    # As if the tick had run first: the offer lapses, counted as missed, and x waits again.
    assert await backend.tick(T0 + 0.5) == [OfferLapsed(offer, agent_set_away=False)]
    assert await backend.waiting("support") == [x]
    snapshot = await backend.agent("a1")
    assert snapshot is not None
    assert (snapshot.holding, snapshot.missed_in_a_row) == ((), 1)


async def test_offer_timeouts_are_per_channel(backend_factory: Make) -> None:
    config = EngineConfig(offer_timeouts={"chat": 45.0, "voice": 15.0}, default_offer_timeout=20.0, max_missed_offers=5)
    backend = backend_factory(config)
    assert await available(backend, profile("talker", capacity={"voice": 1}), T0 - 60) == []
    assert await available(backend, profile("writer", capacity={"chat": 1, "sms": 1}), T0 - 60) == []
    offers = await arrive(
        backend, T0, entry("v", channel="voice"), entry("c", channel="chat"), entry("s", channel="sms")
    )
    assert {o.interaction_id: o.expires_at for o in offers} == {"v": T0 + 15, "c": T0 + 45, "s": T0 + 20}
    events = await backend.tick(T0 + 30)
    assert sorted(e.offer.interaction_id for e in events if isinstance(e, OfferLapsed)) == ["s", "v"]


# -- 9. SLA and escalation -----------------------------------------------------------------


async def test_an_sla_breach_is_reported_once(backend_factory: Make) -> None:
    backend = backend_factory(policy_config(QueuePolicy("support", channels=("chat",))))
    x = entry("x", T0, deadline=T0 + 20)
    assert await arrive(backend, T0, x) == []
    assert await backend.tick(T0 + 19.5) == []
    assert await backend.tick(T0 + 20.5) == [SlaBreached(replace(x, breached=True))]
    assert await backend.waiting("support") == [replace(x, breached=True)]
    assert await backend.tick(T0 + 60) == []
    assert await backend.tick(T0 + 600) == []


async def test_an_escalation_step_raises_the_priority_after_its_wait(backend_factory: Make) -> None:
    backend = backend_factory(policy_config(QueuePolicy("support", escalation=(EscalationStep(30, raise_priority=5),))))
    old, vip = entry("old", T0), entry("vip", T0 + 10, priority=3)
    assert await arrive(backend, T0, old) == []
    assert await arrive(backend, T0 + 10, vip) == []
    assert await waiting_ids(backend) == ["vip", "old"]
    assert await backend.tick(T0 + 29.5) == []
    raised = replace(old, priority=5, escalations_done=1)
    assert await backend.tick(T0 + 30.5) == [Escalated(before=old, after=raised)]
    assert await backend.waiting("support") == [raised, vip]
    assert await backend.tick(T0 + 39.5) == []


async def test_an_escalation_step_relaxes_skills_so_an_entry_nobody_could_take_becomes_takeable(
    backend_factory: Make,
) -> None:
    backend = backend_factory(policy_config(QueuePolicy("support", escalation=(EscalationStep(60, relax_skills=2),))))
    assert await available(backend, profile("a1", skills={"tech": 3}), T0 - 60) == []
    x = entry("x", T0, skills={"tech": 5})
    assert await arrive(backend, T0, x) == []
    assert await backend.tick(T0 + 59.5) == []
    assert await drain(backend, T0 + 59.5) == []
    events = await backend.tick(T0 + 60.5)
    assert len(events) == 1
    assert isinstance(events[0], Escalated)
    assert events[0].before == x
    assert events[0].after.skills == skills_of({"tech": 3})
    offer = await only_offer(backend, T0 + 60.5)
    assert (offer.interaction_id, offer.agent_id, offer.entry) == ("x", "a1", events[0].after)


async def test_an_escalation_step_overflows_an_entry_to_another_queue(backend_factory: Make) -> None:
    sales = QueuePolicy("sales", escalation=(EscalationStep(60, overflow_to="backup"),))
    backend = backend_factory(policy_config(sales, QueuePolicy("backup")))
    assert await available(backend, profile("a1", "backup"), T0 - 60) == []
    x = entry("x", T0, queue="sales")
    assert await arrive(backend, T0, x) == []
    events = await backend.tick(T0 + 60.5)
    assert len(events) == 1
    assert isinstance(events[0], Escalated)
    assert events[0].before == x
    after = events[0].after
    assert (after.interaction_id, after.queue, after.enqueued_at) == ("x", "backup", T0)
    assert await backend.waiting("sales") == []
    assert await backend.waiting("backup") == [after]
    offer = await only_offer(backend, T0 + 60.5)
    assert (offer.interaction_id, offer.agent_id) == ("x", "a1")


async def test_an_sla_breach_applies_the_next_escalation_step_at_once(backend_factory: Make) -> None:
    backend = backend_factory(
        policy_config(QueuePolicy("support", escalation=(EscalationStep(600, raise_priority=5),)))
    )
    x = entry("x", T0, deadline=T0 + 20)
    assert await arrive(backend, T0, x) == []
    breached = replace(x, breached=True)
    raised = replace(breached, priority=5, escalations_done=1)
    assert await backend.tick(T0 + 20.5) == [SlaBreached(breached), Escalated(before=breached, after=raised)]
    assert await backend.waiting("support") == [raised]
    assert await backend.tick(T0 + 600.5) == []


# -- 10. statistics ------------------------------------------------------------------------


async def test_stats_report_waiting_entries_and_the_longest_wait(backend_factory: Make) -> None:
    backend = backend_factory(policy_config(QueuePolicy("support", channels=("chat", "sms", "email"))))
    waiting = [entry("c1", T0 - 30), entry("c2", T0 - 10), entry("s1", T0 - 25, channel="sms")]
    assert await arrive(backend, T0 - 10, *waiting) == []
    chat = await stat(backend, T0, "support", "chat")
    sms = await stat(backend, T0, "support", "sms")
    email = await stat(backend, T0, "support", "email")
    assert (chat.waiting, chat.longest_wait_seconds) == (2, 30.0)
    assert (sms.waiting, sms.longest_wait_seconds) == (1, 25.0)
    assert (email.waiting, email.longest_wait_seconds) == (0, 0.0)


async def test_stats_count_the_queues_agents_by_state_and_their_occupancy(backend_factory: Make) -> None:
    backend = backend_factory(policy_config(QueuePolicy("support", channels=("chat", "voice"))))
    assert await available(backend, profile("chatter"), T0 - 60) == []
    assert await available(backend, profile("talker", capacity={"voice": 1}), T0 - 50) == []
    assert await backend.set_agent(profile("resting"), AgentState.AWAY, T0 - 40) == []
    assert await backend.set_agent(profile("gone"), AgentState.OFFLINE, T0 - 40) == []
    assert await available(backend, profile("elsewhere", "sales"), T0 - 40) == []
    offers = await arrive(backend, T0, entry("c", T0), entry("v", T0, channel="voice"))
    assert sorted((o.interaction_id, o.agent_id) for o in offers) == [("c", "chatter"), ("v", "talker")]
    for offer in offers:
        assert await backend.accept(offer.offer_id, offer.agent_id, T0) == offer
    figures = await stat(backend, T0, "support", "chat")
    assert figures.agents == {"available": 2, "away": 1, "offline": 1, "wrap_up": 0}
    # chatter holds 1 of 3 chats, talker its one call, resting nothing; offline agents do not count.
    assert figures.occupancy == pytest.approx((1 / 3 + 1.0 + 0.0) / 3)
    # Each agent's own figure is what the queue's averages.
    each = {"chatter": 1 / 3, "talker": 1.0, "resting": 0.0, "elsewhere": 0.0}
    assert await backend.occupancy() == pytest.approx(each)


# -- 11. restore and cancel ----------------------------------------------------------------


async def test_restored_assignments_count_against_capacity(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    for n in range(3):
        await backend.restore_assigned(entry(f"r{n}", T0 - 100), "a1")
    await backend.restore_assigned(entry("call", T0 - 100, channel="voice"), "a2")
    assert await available(backend, profile("a1"), T0 - 10) == []
    assert await available(backend, profile("a2"), T0 - 5) == []
    assert await arrive(backend, T0, entry("c", T0)) == []
    [sms] = await arrive(backend, T0, entry("s", T0, channel="sms"))
    assert sms.agent_id == "a1"
    assert sorted(await holding(backend, "a1")) == ["r0", "r1", "r2", "s"]
    assert await holding(backend, "a2") == ("call",)
    assert await backend.release("r0", T0 + 1) == "a1"
    chat = await only_offer(backend, T0 + 1)
    assert (chat.interaction_id, chat.agent_id) == ("c", "a1")
    assert await backend.enqueue(entry("call", T0), T0 + 1) is Enqueued.DUPLICATE


async def test_cancel_of_a_waiting_entry_removes_it(backend_factory: Make) -> None:
    backend = backend_factory(policy_config(QueuePolicy("support", channels=("chat",))))
    assert await arrive(backend, T0, entry("x", T0 - 20), entry("y", T0 - 10)) == []
    assert await backend.cancel("x", T0) is True
    assert await waiting_ids(backend) == ["y"]
    assert await backend.cancel("x", T0) is False
    assert await backend.cancel("unknown", T0) is False
    assert await drain(backend, T0) == []  # nobody is available yet
    [offer] = await available(backend, profile("a1"), T0 + 1)
    assert offer.interaction_id == "y"


async def test_cancel_of_an_offered_interaction_withdraws_the_offer_and_frees_the_agent(backend_factory: Make) -> None:
    backend = backend_factory(policy_config(QueuePolicy("support", channels=("chat",))))
    assert await available(backend, profile("a1", capacity={"chat": 1}), T0 - 60) == []
    [offer] = await arrive(backend, T0 - 20, entry("x", T0 - 20))
    assert await arrive(backend, T0 - 10, entry("y", T0 - 10)) == []
    assert await backend.cancel("x", T0) is True
    assert await backend.open_offers("a1") == []
    assert await backend.accept(offer.offer_id, "a1", T0) is None
    assert await backend.cancel("x", T0) is False
    again = await only_offer(backend, T0)
    assert (again.interaction_id, again.agent_id) == ("y", "a1")


async def test_cancel_of_an_assigned_interaction_frees_the_agents_capacity(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("a1", capacity={"chat": 1}), T0 - 60) == []
    [offer] = await arrive(backend, T0 - 20, entry("x", T0 - 20))
    assert await backend.accept(offer.offer_id, "a1", T0 - 20) == offer
    assert await arrive(backend, T0 - 10, entry("y", T0 - 10)) == []
    assert await backend.cancel("x", T0) is True
    assert await backend.release("x", T0) is None
    assert await holding(backend, "a1") == ()
    again = await only_offer(backend, T0)
    assert (again.interaction_id, again.agent_id) == ("y", "a1")


# -- bugs found in the in-memory backend ---------------------------------------------------


async def test_the_sla_timer_of_a_transferred_interaction_follows_its_new_deadline(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("a1", "support"), T0 - 60) == []
    [offer] = await arrive(backend, T0, entry("x", T0, deadline=T0 + 100))
    assert await backend.accept(offer.offer_id, "a1", T0 + 1) == offer
    moved = entry("x", T0 + 10, queue="billing", deadline=T0 + 300)
    assert await backend.transfer(moved, T0 + 10) is True
    assert await backend.tick(T0 + 150) == []
    assert await backend.tick(T0 + 300.5) == [SlaBreached(replace(moved, breached=True))]


async def test_an_agent_back_from_missed_away_is_offered_the_waiting_work(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig(max_missed_offers=1))
    agent = profile("a1", capacity={"chat": 1})
    assert await arrive(backend, T0, entry("x", T0 - 2), entry("y", T0 - 1)) == []
    [offer] = await available(backend, agent, T0)
    now, event = await lapse(backend, offer)
    assert event.agent_set_away is True
    assert await drain(backend, now) == []
    offers = await available(backend, agent, now + 60)
    assert [o.interaction_id for o in offers] in (["x"], ["y"])


async def test_a_rejected_entry_is_not_offered_back_ahead_of_a_higher_priority_entry(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("a1", capacity={"chat": 1}), T0 - 60) == []
    [offer] = await arrive(backend, T0 - 10, entry("low", T0 - 10))
    assert await arrive(backend, T0 - 5, entry("high", T0 - 5, priority=5)) == []
    assert await backend.reject(offer.offer_id, "a1", T0) == offer
    again = await only_offer(backend, T0)
    assert (again.interaction_id, again.agent_id) == ("high", "a1")


async def test_an_agent_freed_by_a_transfer_gets_the_oldest_entry_not_the_transferred_one(
    backend_factory: Make,
) -> None:
    backend = backend_factory(EngineConfig())
    assert await available(backend, profile("a1", "support", "billing", capacity={"chat": 1}), T0 - 60) == []
    [offer] = await arrive(backend, T0 - 30, entry("x", T0 - 30))
    assert await backend.accept(offer.offer_id, "a1", T0 - 30) == offer
    assert await arrive(backend, T0 - 20, entry("old", T0 - 20, queue="billing")) == []
    assert await backend.transfer(entry("x", T0, queue="billing"), T0) is True
    again = await only_offer(backend, T0)
    assert (again.interaction_id, again.agent_id) == ("old", "a1")


async def test_entries_made_takeable_by_one_tick_are_offered_by_the_agents_queue_priority(
    backend_factory: Make,
) -> None:
    relax = (EscalationStep(60, relax_skills=5),)
    backend = backend_factory(
        policy_config(QueuePolicy("main", escalation=relax), QueuePolicy("backup", escalation=relax))
    )
    agent = profile(
        "a1", QueueMembership("main", priority=1), QueueMembership("backup", priority=2), capacity={"chat": 1}
    )
    assert await available(backend, agent, T0 - 60) == []
    waiting = [
        entry("old-backup", T0 - 10, queue="backup", skills={"tech": 5}),
        entry("new-main", T0, queue="main", skills={"tech": 5}),
    ]
    assert await arrive(backend, T0, *waiting) == []
    events = await backend.tick(T0 + 61)
    assert [type(e) for e in events] == [Escalated, Escalated]
    offer = await only_offer(backend, T0 + 61)
    assert (offer.interaction_id, offer.agent_id) == ("new-main", "a1")


async def test_least_occupied_sees_an_agents_load_drop(backend_factory: Make) -> None:
    backend = backend_factory(strategy_config(Strategy.LEAST_OCCUPIED))
    assert await available(backend, profile("a1"), T0 - 60) == []
    assert await available(backend, profile("a2"), T0 - 50) == []
    got: dict[str, str] = {}
    for n in range(4):  # a1, a2, a1, a2
        [offer] = await arrive(backend, T0 + n, entry(f"x{n}", T0 + n))
        assert await backend.accept(offer.offer_id, offer.agent_id, T0 + n) == offer
        got[offer.interaction_id] = offer.agent_id
    assert got == {"x0": "a1", "x1": "a2", "x2": "a1", "x3": "a2"}
    assert await backend.release("x3", T0 + 10) == "a2"  # a2 holds 1 chat
    assert await backend.release("x0", T0 + 10) == "a1"
    assert await backend.release("x2", T0 + 10) == "a1"  # a1 holds nothing
    assert await drain(backend, T0 + 10) == []
    [offer] = await arrive(backend, T0 + 20, entry("y", T0 + 20))
    assert offer.agent_id == "a1"


async def test_an_escalation_timer_of_the_old_queue_does_not_fire_after_a_transfer(backend_factory: Make) -> None:
    steps = (EscalationStep(60, raise_priority=1),)
    backend = backend_factory(policy_config(QueuePolicy("support", escalation=steps), QueuePolicy("billing")))
    assert await available(backend, profile("a1", "support"), T0 - 60) == []
    [offer] = await arrive(backend, T0, entry("x", T0))
    assert await backend.accept(offer.offer_id, "a1", T0 + 1) == offer
    moved = entry("x", T0 + 10, queue="billing")
    assert await backend.transfer(moved, T0 + 10) is True
    assert await backend.tick(T0 + 61) == []
    assert await backend.waiting("billing") == [moved]


async def test_an_sla_breach_that_overflows_an_entry_leaves_no_timer_behind(backend_factory: Make) -> None:
    overflow = QueuePolicy("sales", escalation=(EscalationStep(60, overflow_to="backup"),))
    backend = backend_factory(policy_config(overflow, QueuePolicy("backup")))
    assert await arrive(backend, T0, entry("x", T0, queue="sales", deadline=T0 + 20)) == []
    events = await backend.tick(T0 + 20.5)
    assert [type(e) for e in events] == [SlaBreached, Escalated]
    assert await backend.tick(T0 + 60.5) == []
    assert [e.queue for e in await backend.waiting("backup")] == ["backup"]


@pytest.mark.timeout(2)
async def test_cyclic_overflow_does_not_hang_tick(backend_factory: Make) -> None:
    to_b = QueuePolicy("a", escalation=(EscalationStep(60, overflow_to="b"),))
    to_a = QueuePolicy("b", escalation=(EscalationStep(60, overflow_to="a"),))
    backend = backend_factory(policy_config(to_b, to_a))
    assert await arrive(backend, T0, entry("x", T0, queue="a")) == []
    events = await backend.tick(T0 + 61)
    assert 1 <= len(events) <= 2


async def test_an_agent_that_rejected_an_entry_gets_an_equal_waiting_one_instead(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig())
    assert await arrive(backend, T0, entry("x", T0 - 2), entry("y", T0 - 1)) == []
    [offer] = await available(backend, profile("a1", capacity={"chat": 1}), T0)
    assert offer.interaction_id == "x"
    assert await backend.reject(offer.offer_id, "a1", T0 + 1) == offer
    again = await only_offer(backend, T0 + 1)
    assert (again.interaction_id, again.agent_id) == ("y", "a1")


async def test_an_entry_an_agent_let_lapse_does_not_demote_the_entries_queued_behind_it(backend_factory: Make) -> None:
    backend = backend_factory(EngineConfig(max_missed_offers=2))
    waiting = [entry("low", T0 - 3), entry("high-1", T0 - 2, priority=1), entry("high-2", T0 - 1, priority=1)]
    assert await arrive(backend, T0, *waiting) == []
    [offer] = await available(backend, profile("a1", capacity={"chat": 1}), T0)
    assert offer.interaction_id == "high-1"
    now, event = await lapse(backend, offer)
    assert event.agent_set_away is False
    again = await only_offer(backend, now)
    assert (again.interaction_id, again.agent_id) == ("high-2", "a1")


async def test_most_skilled_sees_an_agents_skills_raised(backend_factory: Make) -> None:
    backend = backend_factory(strategy_config(Strategy.MOST_SKILLED, skills=("tech",)))
    assert await available(backend, profile("a1", skills={"tech": 1}), T0 - 60) == []
    assert await available(backend, profile("a2", skills={"tech": 5}), T0 - 50) == []
    assert await available(backend, profile("a1", skills={"tech": 9}), T0 - 40) == []  # trained up
    [offer] = await arrive(backend, T0, entry("x", T0))
    assert offer.agent_id == "a1"


# -- property-based: random operation sequences against a reference model ------------------

QUEUES = ("q1", "q2")
QUEUE_CHANNELS = {"q1": ("chat", "sms", "voice"), "q2": ("chat", "email", "voice")}
CHANNELS = ("chat", "sms", "email", "voice")
SKILL_NAMES = ("billing", "tech")
AGENT_IDS = ("a1", "a2", "a3")
ROUTED = ("waiting", "offered", "assigned")  # statuses an interaction has while routing holds it


@dataclass(frozen=True)
class Mode:
    """Which configurations and operations a random run uses, and whether it checks queue order."""

    name: str
    # Follow the interface's protocol (next_offer until None after every change); without
    # it, "drain" is one more random operation and changes pile up between drains.
    drain_after_every_change: bool
    check_order: bool
    declines: bool  # rejects, and offers that lapse
    queue_priorities: bool  # memberships of priority 2 beside priority 1
    delays: bool
    preferred_agents: bool
    wrap_ups: bool
    transfers: bool
    # Dense for the order check: every agent serves both queues with capacity 1 or so per
    # channel (entries queue up behind busy agents), and lapsing offers rarely set it away.
    dense: bool = False


SAFETY = Mode("safety", False, False, True, True, True, True, True, True)
ORDER_PLAIN = Mode("order_plain", True, True, False, False, False, False, False, False)
ORDER_FULL = Mode("order_full", True, True, True, True, True, True, True, True, dense=True)


def draw_config(data: st.DataObject, mode: Mode) -> EngineConfig:
    queues = {}
    for name in QUEUES:
        # Overflow only q1 -> q2, so escalation never cycles (cycles have their own test).
        step = st.builds(
            EscalationStep,
            after_seconds=st.sampled_from([5.0, 15.0, 40.0]),
            raise_priority=st.integers(0, 2),
            relax_skills=st.integers(0, 2),
            overflow_to=st.sampled_from([None, "q2"]) if name == "q1" else st.none(),
        )
        queues[name] = QueuePolicy(
            name,
            channels=QUEUE_CHANNELS[name],
            strategy=data.draw(st.sampled_from(list(Strategy))),
            skills=SKILL_NAMES,
            escalation=tuple(data.draw(st.lists(step, max_size=2))),
            max_size=data.draw(st.none() | st.integers(1, 6)),
        )
    if mode.declines:
        timeouts = data.draw(st.dictionaries(st.sampled_from(CHANNELS), st.sampled_from([5.0, 10.0, 30.0])))
        default_timeout = data.draw(st.sampled_from([10.0, 20.0]))
    else:
        timeouts, default_timeout = {}, 1e9
    return EngineConfig(
        queues=queues,
        offer_timeouts=timeouts,
        default_offer_timeout=default_timeout,
        max_missed_offers=data.draw(st.integers(2, 3) if mode.dense else st.integers(1, 3)),
    )


def draw_profile(data: st.DataObject, mode: Mode, agent_id: str) -> AgentProfile:
    queues = QUEUES if mode.dense else data.draw(st.lists(st.sampled_from(QUEUES), min_size=1, max_size=2, unique=True))
    memberships = [
        QueueMembership(
            queue,
            priority=data.draw(st.integers(1, 2)) if mode.queue_priorities else 1,
            delay_seconds=data.draw(st.sampled_from([0.0, 0.0, 10.0])) if mode.delays else 0.0,
        )
        for queue in queues
    ]
    skills = data.draw(st.dictionaries(st.sampled_from(SKILL_NAMES), st.integers(1, 3)))
    capacity: dict[str, int] | None
    if mode.dense:
        per_channel = {
            "voice": st.integers(0, 1),
            "chat": st.just(1),
            "sms": st.integers(1, 2),
            "email": st.just(1),
        }
        capacity = data.draw(st.fixed_dictionaries(per_channel))
    else:
        per_channel = {
            "voice": st.integers(0, 1),
            "chat": st.integers(0, 3),
            "sms": st.integers(0, 2),
            "email": st.integers(0, 2),
        }
        capacity = data.draw(st.none() | st.fixed_dictionaries(per_channel))
    return profile(agent_id, *memberships, skills=skills, capacity=capacity)


Arrival = tuple[str, int, int, dict[str, int], float | None, str | None]
# queue, channel (index into the queue's channels), priority, skills, answer target, preferred agent
ARRIVALS: st.SearchStrategy[Arrival] = st.tuples(
    st.sampled_from(QUEUES),
    st.integers(0, 2),
    st.integers(0, 2),
    st.dictionaries(st.sampled_from(SKILL_NAMES), st.integers(1, 3)),
    st.sampled_from([None, 10.0, 30.0]),
    st.sampled_from([None, None, *AGENT_IDS]),
)


def pick(items: Sequence[T], index: int) -> T:
    return items[index % len(items)]


class RoutingMachine(RuleBasedStateMachine):
    """A reference model of what the backend holds, checked against it after every step."""

    factory: ClassVar[BackendFactory]
    mode: ClassVar[Mode]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.now = T0
        self.ids = itertools.count(1)
        self.profiles: dict[str, AgentProfile] = {}
        self.states: dict[str, AgentState] = {}
        self.missed: dict[str, int] = {}
        self.wrap_until: dict[str, float] = {}
        self.wrap_timers: list[tuple[float, str]] = []
        self.status: dict[str, str] = {}  # waiting / offered / assigned / finished / refused
        self.holder: dict[str, str] = {}  # offered or assigned interaction -> agent
        self.channel_of: dict[str, str] = {}
        self.deadline_of: dict[str, float | None] = {}
        self.breached: set[str] = set()
        self.offers: dict[str, Offer] = {}  # the open ones
        self.closed_offers: list[Offer] = []
        self.assigned_entry: dict[str, QueueEntry] = {}
        self.declined: dict[str, set[str]] = {}  # agents that rejected or let lapse a routed interaction

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        try:
            self.run(self.factory.close_all())
        finally:
            self.loop.close()

    # -- setup and operations -------------------------------------------------------------

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        self.config = draw_config(data, self.mode)
        self.backend = self.factory(self.config)
        for agent_id in AGENT_IDS:
            self.profiles[agent_id] = draw_profile(data, self.mode, agent_id)
            self.states[agent_id] = AgentState.OFFLINE
            self.missed[agent_id] = 0
        # A few arrivals up front, so that short runs have something to route.
        for arrival in data.draw(st.lists(ARRIVALS, min_size=2 if self.mode.dense else 0, max_size=5)):
            self.arrive(arrival)
        for agent_id in AGENT_IDS:
            if data.draw(st.integers(0, 3)):
                self._set_state(agent_id, AgentState.AVAILABLE)
        self._after_change()

    @rule(arrival=ARRIVALS)
    def arrive(self, arrival: Arrival) -> None:
        queue, channel_index, priority, skills, answer_within, preferred = arrival
        iid = f"i{next(self.ids):04d}"
        channel = QUEUE_CHANNELS[queue][channel_index]
        if not self.mode.preferred_agents:
            preferred = None
        new = QueueEntry(
            iid,
            queue,
            channel,
            self.now,
            priority=priority,
            skills=skills_of(skills),
            answer_deadline=None if answer_within is None else self.now + answer_within,
            preferred_agent=preferred,
            preferred_until=self.now + 20.0 if preferred else 0.0,
        )
        limit = self.config.policy(queue).max_size
        full = limit is not None and len(self.run(self.backend.waiting(queue))) >= limit
        if full and channel in self.config.refuse_when_full:
            expected = Enqueued.REFUSED
        else:
            expected = Enqueued.OVER_CAPACITY if full else Enqueued.ADDED
        assert self.run(self.backend.enqueue(new, self.now)) is expected
        self.channel_of[iid] = channel
        self.deadline_of[iid] = new.answer_deadline
        self.status[iid] = "refused" if expected is Enqueued.REFUSED else "waiting"
        self._after_change()

    # Rules that change nothing run only where order is not checked, to keep order runs dense.
    @precondition(lambda self: not self.mode.check_order and any(s in ROUTED for s in self.status.values()))
    @rule(index=st.integers(0, 10**6), queue=st.sampled_from(QUEUES))
    def enqueue_again(self, index: int, queue: str) -> None:
        iid = pick([i for i, s in self.status.items() if s in ROUTED], index)
        again = QueueEntry(iid, queue, self.channel_of[iid], self.now - 50, priority=9)
        assert self.run(self.backend.enqueue(again, self.now)) is Enqueued.DUPLICATE

    @precondition(lambda self: not self.mode.drain_after_every_change)
    @rule()
    def drain(self) -> None:
        self._drain()

    @precondition(lambda self: bool(self.offers))
    @rule(index=st.integers(0, 10**6), wrong_agent=st.booleans())
    def accept(self, index: int, wrong_agent: bool) -> None:
        offer = pick(list(self.offers.values()), index)
        if wrong_agent:
            other = next(a for a in AGENT_IDS if a != offer.agent_id)
            assert self.run(self.backend.accept(offer.offer_id, other, self.now)) is None
            return
        got = self.run(self.backend.accept(offer.offer_id, offer.agent_id, self.now))
        assert got is not None
        assert (got.offer_id, got.agent_id, got.interaction_id) == (
            offer.offer_id,
            offer.agent_id,
            offer.interaction_id,
        )
        self._close_offer(offer.offer_id)
        self.status[offer.interaction_id] = "assigned"
        self.assigned_entry[offer.interaction_id] = got.entry
        self.declined.pop(offer.interaction_id, None)
        self.missed[offer.agent_id] = 0
        self._after_change()

    @precondition(lambda self: self.mode.declines and bool(self.offers))
    @rule(index=st.integers(0, 10**6), wrong_agent=st.booleans())
    def reject(self, index: int, wrong_agent: bool) -> None:
        offer = pick(list(self.offers.values()), index)
        if wrong_agent:
            other = next(a for a in AGENT_IDS if a != offer.agent_id)
            assert self.run(self.backend.reject(offer.offer_id, other, self.now)) is None
            return
        got = self.run(self.backend.reject(offer.offer_id, offer.agent_id, self.now))
        assert got is not None
        assert (got.offer_id, got.interaction_id) == (offer.offer_id, offer.interaction_id)
        self._return_offer(offer.offer_id)
        self.declined.setdefault(offer.interaction_id, set()).add(offer.agent_id)
        self.missed[offer.agent_id] = 0
        self._after_change()

    @precondition(lambda self: not self.mode.check_order and bool(self.closed_offers))
    @rule(index=st.integers(0, 10**6), reject=st.booleans())
    def answer_a_closed_offer(self, index: int, reject: bool) -> None:
        offer = pick(self.closed_offers, index)
        answer = self.backend.reject if reject else self.backend.accept
        assert self.run(answer(offer.offer_id, offer.agent_id, self.now)) is None

    @precondition(lambda self: bool(self.status))
    @rule(index=st.integers(0, 10**6), any_interaction=st.integers(0, 3), wrap_up=st.sampled_from([0.0, 0.0, 15.0]))
    def release(self, index: int, any_interaction: int, wrap_up: float) -> None:
        iid = self._pick_interaction(index, "assigned", any_interaction == 0)
        if not self.mode.wrap_ups:
            wrap_up = 0.0
        if self.status[iid] != "assigned":
            assert self.run(self.backend.release(iid, self.now, wrap_up)) is None
            return
        agent_id = self.holder.pop(iid)
        assert self.run(self.backend.release(iid, self.now, wrap_up)) == agent_id
        self.status[iid] = "finished"
        del self.assigned_entry[iid]
        self.declined.pop(iid, None)
        if wrap_up > 0 and self.states[agent_id] is AgentState.AVAILABLE:
            self.states[agent_id] = AgentState.WRAP_UP
            self.wrap_until[agent_id] = self.now + wrap_up
            self.wrap_timers.append((self.now + wrap_up, agent_id))
            # Whether wrap-up withdraws the agent's other open offers is not pinned down by the
            # interface: accept both, but nothing else may change.
            still_open = {o.offer_id for o in self.run(self.backend.open_offers(agent_id))}
            for offer_id in [k for k, o in self.offers.items() if o.agent_id == agent_id]:
                if offer_id not in still_open:
                    self._return_offer(offer_id)
        self._after_change()

    @precondition(lambda self: bool(self.status))
    @rule(index=st.integers(0, 10**6), any_interaction=st.integers(0, 3))
    def cancel(self, index: int, any_interaction: int) -> None:
        iid = self._pick_interaction(index, "waiting", any_interaction == 0)
        routed = self.status[iid] in ROUTED
        assert self.run(self.backend.cancel(iid, self.now)) is routed
        if not routed:
            return
        for offer_id in [k for k, o in self.offers.items() if o.interaction_id == iid]:
            self._close_offer(offer_id)
        self.status[iid] = "finished"
        self.holder.pop(iid, None)
        self.assigned_entry.pop(iid, None)
        self.declined.pop(iid, None)
        self._after_change()

    @precondition(lambda self: self.mode.transfers and "assigned" in self.status.values())
    @rule(index=st.integers(0, 10**6), queue=st.sampled_from(QUEUES), preferred=st.sampled_from([None, *AGENT_IDS]))
    def transfer(self, index: int, queue: str, preferred: str | None) -> None:
        iid = pick([i for i, s in self.status.items() if s == "assigned"], index)
        if not self.mode.preferred_agents:
            preferred = None
        moved = replace(
            self.assigned_entry[iid],
            queue=queue,
            enqueued_at=self.now,
            escalations_done=0,
            preferred_agent=preferred,
            preferred_until=self.now + 20.0 if preferred else 0.0,
        )
        assert self.run(self.backend.transfer(moved, self.now)) is True
        del self.holder[iid], self.assigned_entry[iid]
        self.status[iid] = "waiting"
        self._after_change()

    @precondition(
        lambda self: (
            not self.mode.check_order and self.mode.transfers and any(s != "assigned" for s in self.status.values())
        )
    )
    @rule(index=st.integers(0, 10**6))
    def transfer_unassigned(self, index: int) -> None:
        iid = pick([i for i, s in self.status.items() if s != "assigned"], index)
        assert self.run(self.backend.transfer(QueueEntry(iid, "q2", self.channel_of[iid], self.now), self.now)) is False

    @rule(
        agent_id=st.sampled_from(AGENT_IDS),
        state=st.sampled_from([AgentState.AVAILABLE, AgentState.AVAILABLE, AgentState.AWAY, AgentState.OFFLINE]),
    )
    def set_state(self, agent_id: str, state: AgentState) -> None:
        self._set_state(agent_id, state)
        self._after_change()

    @rule(seconds=st.sampled_from([0.5, 2.0, 5.0, 12.0, 30.0, 70.0]))
    def advance(self, seconds: float) -> None:
        self.now += seconds
        events = self.run(self.backend.tick(self.now))
        self._check_events(events)
        self._after_change()

    # -- the model ----------------------------------------------------------------------------

    def _pick_interaction(self, index: int, status: str, any_interaction: bool) -> str:
        candidates = [i for i, s in self.status.items() if s == status]
        return pick(list(self.status) if any_interaction or not candidates else candidates, index)

    def _set_state(self, agent_id: str, state: AgentState) -> None:
        mine = {k for k, o in self.offers.items() if o.agent_id == agent_id}
        revoked = self.run(self.backend.set_agent(self.profiles[agent_id], state, self.now, reason="test"))
        expected = mine if state is not AgentState.AVAILABLE else set()
        assert sorted(o.offer_id for o in revoked) == sorted(expected)
        for offer_id in expected:
            self._return_offer(offer_id)
        if state is AgentState.AVAILABLE and self.states[agent_id] is not AgentState.AVAILABLE:
            self.missed[agent_id] = 0
        self.states[agent_id] = state

    def _close_offer(self, offer_id: str) -> Offer:
        offer = self.offers.pop(offer_id)
        self.closed_offers.append(offer)
        return offer

    def _return_offer(self, offer_id: str) -> Offer:
        offer = self._close_offer(offer_id)
        self.status[offer.interaction_id] = "waiting"
        del self.holder[offer.interaction_id]
        return offer

    def _after_change(self) -> None:
        if self.mode.drain_after_every_change:
            self._drain()

    def _holding(self, agent_id: str) -> tuple[str, ...]:
        snapshot = self.run(self.backend.agent(agent_id))
        return () if snapshot is None else snapshot.holding

    def _waiting(self) -> list[QueueEntry]:
        return [e for queue in QUEUES for e in self.run(self.backend.waiting(queue))]

    def _can_take(self, agent: AgentProfile, held: Sequence[str], channel: str) -> bool:
        per_channel = Counter(self.channel_of[i] for i in held)
        if per_channel[channel] >= dict(agent.capacity).get(channel, 0):
            return False
        return not held or (channel not in agent.exclusive and not any(c in agent.exclusive for c in per_channel))

    def _eligible(self, agent: AgentProfile, item: QueueEntry) -> bool:
        """May the agent be offered this entry, its capacity aside?"""
        if item.preferred_agent is not None and item.preferred_until > self.now:
            return item.preferred_agent == agent.agent_id
        membership = next((m for m in agent.queues if m.queue == item.queue), None)
        return (
            membership is not None
            and all(dict(agent.skills).get(name, 0) >= level for name, level in item.skills)
            and item.enqueued_at <= self.now - membership.delay_seconds
        )

    def _rank(self, agent: AgentProfile, item: QueueEntry) -> tuple[bool, int, int, float]:
        """Smaller is taken first: an entry the agent declined (rejected or let lapse) after
        anything else it could take, then its queue's membership priority, then the entry's
        priority, then the time it has waited."""
        membership = next(m for m in agent.queues if m.queue == item.queue)
        declined = agent.agent_id in self.declined.get(item.interaction_id, ())
        return (declined, membership.priority, -item.priority, item.enqueued_at)

    def _drain(self) -> None:
        for _ in range(500):
            waiting = self._waiting()
            held = {agent_id: self._holding(agent_id) for agent_id in AGENT_IDS}
            offer_id = f"o{next(self.ids):04d}"
            offer = self.run(self.backend.next_offer(offer_id, self.now))
            if offer is None:
                return
            self._check_offer(offer, offer_id, waiting, held)
            self.offers[offer_id] = offer
            self.status[offer.interaction_id] = "offered"
            self.holder[offer.interaction_id] = offer.agent_id
        raise AssertionError("next_offer never returned None")

    def _check_offer(
        self, offer: Offer, offer_id: str, waiting: list[QueueEntry], held: dict[str, tuple[str, ...]]
    ) -> None:
        item, agent_id = offer.entry, offer.agent_id
        assert offer.offer_id == offer_id
        assert item in waiting, f"{offer} is not of a waiting entry as it stood"
        assert self.status[item.interaction_id] == "waiting"
        assert self.states.get(agent_id) is AgentState.AVAILABLE, f"{offer} made to a {self.states.get(agent_id)} agent"
        assert offer.expires_at == self.now + self.config.offer_timeout(item.channel)
        agent = self.profiles[agent_id]
        assert self._eligible(agent, item), f"{offer}: the agent may not take it ({agent})"
        assert self._can_take(agent, held[agent_id], item.channel), f"{offer}: over capacity, holding {held[agent_id]}"
        if not self.mode.check_order:
            return
        rank = self._rank(agent, item)
        for other in waiting:
            if other == item:
                continue
            if self._eligible(agent, other) and self._can_take(agent, held[agent_id], other.channel):
                assert not self._rank(agent, other) < rank, f"{offer} made while {other} ranks ahead for {agent_id}"

    def _check_events(self, events: list[RoutingEvent]) -> None:
        kinds = (OfferLapsed, OfferRevoked, SlaBreached, Escalated, PreferenceExpired, WrapUpEnded)
        assert all(isinstance(e, kinds) for e in events), events
        # Offers lapse in order of expiry; the one that makes the agent "missed" too many
        # times sets it away, and its other offers are revoked, back in their places.
        expected_lapses, expected_revoked = [], []
        for expires_at, offer_id in sorted((o.expires_at, o.offer_id) for o in self.offers.values()):
            if expires_at > self.now or offer_id not in self.offers:
                continue
            offer = self._return_offer(offer_id)
            agent_id = offer.agent_id
            self.declined.setdefault(offer.interaction_id, set()).add(agent_id)
            self.missed[agent_id] += 1
            away = (
                self.missed[agent_id] >= self.config.max_missed_offers and self.states[agent_id] is AgentState.AVAILABLE
            )
            if away:
                for other in [k for k, o in self.offers.items() if o.agent_id == agent_id]:
                    self._return_offer(other)
                    expected_revoked.append(other)
                self.states[agent_id] = AgentState.AWAY
            expected_lapses.append((offer_id, away))
        lapses = [(e.offer.offer_id, e.agent_set_away) for e in events if isinstance(e, OfferLapsed)]
        assert sorted(lapses) == sorted(expected_lapses)
        assert sorted(e.offer.offer_id for e in events if isinstance(e, OfferRevoked)) == sorted(expected_revoked)
        # Each routed, unanswered interaction past its deadline breaches, once.
        breaches = [e.entry for e in events if isinstance(e, SlaBreached)]
        due = {
            iid
            for iid, status in self.status.items()
            if status in ("waiting", "offered")
            and iid not in self.breached
            and (deadline := self.deadline_of[iid]) is not None
            and deadline <= self.now
        }
        assert sorted(e.interaction_id for e in breaches) == sorted(due)
        assert all(e.breached and e.answer_deadline is not None and e.answer_deadline <= self.now for e in breaches)
        self.breached |= due
        for event in events:
            if isinstance(event, Escalated):
                assert self.status[event.before.interaction_id] == "waiting"
                assert event.after.interaction_id == event.before.interaction_id
                assert event.after.channel == event.before.channel
            elif isinstance(event, PreferenceExpired):
                assert self.status[event.entry.interaction_id] == "waiting"
                assert event.entry.preferred_until <= self.now
        # Wrap-up periods that are over end, unless the agent's state was set meanwhile.
        ended = []
        for until, agent_id in sorted(self.wrap_timers):
            if until > self.now:
                continue
            self.wrap_timers.remove((until, agent_id))
            if self.states[agent_id] is AgentState.WRAP_UP and self.wrap_until.get(agent_id) == until:
                self.states[agent_id] = AgentState.AVAILABLE
                ended.append(agent_id)
        assert sorted(e.agent_id for e in events if isinstance(e, WrapUpEnded)) == sorted(ended)

    @invariant()
    def routing_matches_the_model(self) -> None:
        observed: dict[str, tuple[str, str | None]] = {}
        for queue in QUEUES:
            for item in self.run(self.backend.waiting(queue)):
                assert item.queue == queue
                assert item.interaction_id not in observed, f"{item.interaction_id} waits twice"
                observed[item.interaction_id] = ("waiting", None)
        open_offer_ids = set()
        for agent_id in AGENT_IDS:
            snapshot = self.run(self.backend.agent(agent_id))
            held = () if snapshot is None else snapshot.holding
            assert (AgentState.OFFLINE if snapshot is None else snapshot.state) is self.states[agent_id]
            assert len(set(held)) == len(held)
            offers = self.run(self.backend.open_offers(agent_id))
            offered = {o.interaction_id for o in offers}
            assert len(offered) == len(offers), f"{agent_id} has two offers of one interaction"
            for offer in offers:
                assert offer.agent_id == agent_id and offer.interaction_id in held
                open_offer_ids.add(offer.offer_id)
            for iid in held:
                assert iid not in observed, f"{iid} is held by {agent_id} and also {observed[iid]}"
                observed[iid] = ("offered" if iid in offered else "assigned", agent_id)
            assert_within_capacity(self.profiles[agent_id], held, self.channel_of)
        assert open_offer_ids == set(self.offers)
        expected = {iid: (status, self.holder.get(iid)) for iid, status in self.status.items() if status in ROUTED}
        assert observed == expected


PROPERTY_SETTINGS = settings(
    max_examples=500, deadline=None, stateful_step_count=30, suppress_health_check=[HealthCheck.too_slow]
)


def run_machine(factory: BackendFactory, mode: Mode, **overrides: Any) -> None:
    machine = type(f"RoutingMachine_{mode.name}", (RoutingMachine,), {"factory": factory, "mode": mode})
    run_state_machine_as_test(machine, settings=settings(PROPERTY_SETTINGS, **overrides))


def test_random_operations_never_double_book_overfill_or_lose_interactions(backend_factory: BackendFactory) -> None:
    """Everything at once, with changes piling up between drains: no interaction offered or
    assigned twice, no agent over capacity or beside an exclusive channel, nothing lost or
    duplicated, offers only to available agents that may take them, timers as modelled."""
    run_machine(backend_factory, SAFETY)


def test_random_operations_keep_queue_order_without_declines_or_queue_priorities(
    backend_factory: BackendFactory,
) -> None:
    """Under the protocol, every offer is of the best entry its agent could take, by
    (membership priority, -priority, enqueued_at): no rejects or lapses, one membership priority."""
    run_machine(backend_factory, ORDER_PLAIN)


def test_random_operations_keep_queue_order(backend_factory: BackendFactory) -> None:
    run_machine(
        backend_factory, ORDER_FULL, derandomize=True, database=None, phases=[Phase.generate], stateful_step_count=50
    )
