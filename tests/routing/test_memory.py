"""What only the in-memory backend does, beside the conformance suite: its cost bounds."""

from __future__ import annotations

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
from routing.ready import IDLE_POOL_SECONDS

T0 = 1_000_000.0


def chat_agent(agent_id: str) -> AgentProfile:
    return AgentProfile(agent_id, (QueueMembership("support"),), capacity=(("chat", 1),))


async def test_an_agent_looks_past_at_most_16_of_its_declines_in_one_bucket_and_others_see_the_queue_intact() -> None:
    backend = MemoryRoutingBackend(EngineConfig())
    ids = [f"x{n:02d}" for n in range(18)]
    for n, iid in enumerate(ids):
        await backend.enqueue(QueueEntry(iid, "support", "chat", T0 - 100 + n), T0)
    assert await backend.set_agent(chat_agent("picky"), AgentState.AVAILABLE, T0) == []
    offered = []
    for n in range(len(ids)):
        offer = await backend.next_offer(f"picky-{n}", T0)
        assert offer is not None
        assert await backend.next_offer("none", T0) is None
        assert await backend.reject(offer.offer_id, "picky", T0) == offer
        offered.append(offer.interaction_id)
    # Past 16 of its declines the rest of the bucket ranks as declined for it.
    assert offered == [*ids[:17], "x00"]
    assert await backend.set_agent(chat_agent("picky"), AgentState.AWAY, T0) == []
    assert await backend.set_agent(chat_agent("other"), AgentState.AVAILABLE, T0) == []
    served: list[str] = []
    while (offer := await backend.next_offer(f"other-{len(served)}", T0)) is not None:
        assert await backend.accept(offer.offer_id, "other", T0) == offer
        assert await backend.release(offer.interaction_id, T0) == "other"
        served.append(offer.interaction_id)
    assert served == ids


def _pool_items(backend: MemoryRoutingBackend, key: tuple[str, str, tuple[tuple[str, int], ...]]) -> int:
    pool = backend._ready._pools.get(key)
    return 0 if pool is None else sum(len(heap) for heap in pool.heaps.values())


async def test_a_pool_nobody_looks_at_stays_bounded_while_its_agents_change() -> None:
    # Least occupied pushes an agent afresh at every change of its load.
    config = EngineConfig(queues={"support": QueuePolicy("support", ("chat",), Strategy.LEAST_OCCUPIED)})
    backend = MemoryRoutingBackend(config)
    agent = AgentProfile("a", (QueueMembership("support"),), skills=(("french", 3),), capacity=(("chat", 1),))
    assert await backend.set_agent(agent, AgentState.AVAILABLE, T0) == []
    # One entry asks for French once, and is served.
    await backend.enqueue(QueueEntry("fr", "support", "chat", T0, skills=(("french", 1),)), T0)
    offer = await backend.next_offer("o-fr", T0)
    assert offer is not None and await backend.accept(offer.offer_id, "a", T0) == offer
    assert await backend.release("fr", T0) == "a"
    for n in range(2_000):
        await backend.enqueue(QueueEntry(f"x{n}", "support", "chat", T0 + n), T0 + n)
        offer = await backend.next_offer(f"o{n}", T0 + n)
        assert offer is not None and await backend.accept(offer.offer_id, "a", T0 + n) == offer
        assert await backend.release(f"x{n}", T0 + n) == "a"
    assert _pool_items(backend, ("support", "chat", (("french", 1),))) <= 2 * 1 + 16 + 1


async def test_pools_no_entry_asked_for_are_dropped_and_rebuilt_right_when_one_does() -> None:
    backend = MemoryRoutingBackend(EngineConfig())
    french = AgentProfile("a", (QueueMembership("support"),), skills=(("french", 3),), capacity=(("chat", 1),))
    assert await backend.set_agent(french, AgentState.AVAILABLE, T0) == []
    await backend.enqueue(QueueEntry("fr1", "support", "chat", T0, skills=(("french", 1),)), T0)
    offer = await backend.next_offer("o1", T0)
    assert offer is not None and await backend.accept(offer.offer_id, "a", T0) == offer
    # Busy, then away and back long after anyone asked for French: its pool is gone.
    later = T0 + IDLE_POOL_SECONDS + 1
    await backend.enqueue(QueueEntry("plain", "support", "chat", later), later)
    assert await backend.next_offer("o2", later) is None
    assert _pool_items(backend, ("support", "chat", (("french", 1),))) == 0
    assert await backend.release("fr1", later) == "a"
    offer = await backend.next_offer("o3", later)
    assert offer is not None and offer.interaction_id == "plain"
    assert await backend.accept(offer.offer_id, "a", later) == offer
    assert await backend.release("plain", later) == "a"
    # French asked for again: the pool is rebuilt with the agent in it.
    await backend.enqueue(QueueEntry("fr2", "support", "chat", later + 1, skills=(("french", 1),)), later + 1)
    offer = await backend.next_offer("o4", later + 1)
    assert offer is not None and (offer.interaction_id, offer.agent_id) == ("fr2", "a")


async def test_a_new_bucket_or_pool_in_one_queue_remakes_only_that_queues_agents_lists() -> None:
    backend = MemoryRoutingBackend(EngineConfig())
    profiles = [
        AgentProfile(a, (QueueMembership(q),), capacity=(("chat", 2),)) for a, q in (("s", "support"), ("b", "sales"))
    ]
    for profile in profiles:
        assert await backend.set_agent(profile, AgentState.AVAILABLE, T0) == []
        await backend.enqueue(QueueEntry(f"{profile.agent_id}1", profile.queues[0].queue, "chat", T0), T0)
    assert await backend.next_offer("o-s1", T0) is not None and await backend.next_offer("o-b1", T0) is not None

    async def look_again(now: float) -> None:
        """Each agent indexed and looking for work, as after any change to it."""
        for profile in profiles:
            assert await backend.set_agent(profile, AgentState.AVAILABLE, now) == []
        assert await backend.next_offer("o-none", now) is None

    await look_again(T0)
    s, b = backend._agents["s"], backend._agents["b"]
    support_lists, sales_lists = (s.eligible, s.plan), (b.eligible, b.plan)
    assert all(support_lists) and all(sales_lists)
    # Sales has a new bucket (another priority) and a new pool (another skill set).
    await backend.enqueue(QueueEntry("urgent", "sales", "chat", T0 + 1, priority=1), T0 + 1)
    await backend.enqueue(QueueEntry("vip", "sales", "chat", T0 + 1, skills=(("vip", 1),)), T0 + 1)
    offer = await backend.next_offer("o-urgent", T0 + 1)
    assert offer is not None and (offer.interaction_id, offer.agent_id) == ("urgent", "b")
    assert await backend.next_offer("o-vip", T0 + 1) is None  # nobody has the skill
    await look_again(T0 + 2)
    assert s.eligible is support_lists[0] and s.plan is support_lists[1]
    assert b.eligible is not sales_lists[0] and b.plan is not sales_lists[1]
