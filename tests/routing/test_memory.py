"""What only the in-memory backend does, beside the conformance suite: its cost bounds."""

from __future__ import annotations

from routing import AgentProfile, AgentState, EngineConfig, MemoryRoutingBackend, QueueEntry, QueueMembership

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
    served = []
    while (offer := await backend.next_offer(f"other-{len(served)}", T0)) is not None:
        assert await backend.accept(offer.offer_id, "other", T0) == offer
        assert await backend.release(offer.interaction_id, T0) == "other"
        served.append(offer.interaction_id)
    assert served == ids
