"""Conformance: an open offer storage holds is restored after a restart, where it was."""

from __future__ import annotations

from routing import AgentProfile, AgentState, EngineConfig, Offer, OfferLapsed, QueueMembership, QueuePolicy
from tests.routing.conftest import BackendFactory
from tests.routing.test_conformance import T0, drain, entry

CONFIG = EngineConfig(queues={"support": QueuePolicy("support", ("chat",))}, default_offer_timeout=30.0)


def alice() -> AgentProfile:
    return AgentProfile("alice", (QueueMembership("support"),))


async def test_a_restored_offer_holds_the_agent_can_be_accepted_and_lapses_at_its_own_expiry(
    backend_factory: BackendFactory,
) -> None:
    backend = backend_factory(CONFIG)
    await backend.set_agent(alice(), AgentState.AVAILABLE, T0)
    offer = Offer("offer-1", "alice", entry("i1"), expires_at=T0 + 5)
    assert await backend.restore_offer(offer)
    assert await backend.open_offers("alice") == [offer]
    # Held: the same interaction is not queued again, nor offered twice.
    assert not await backend.restore_offer(offer)
    assert await drain(backend, T0) == []
    assert await backend.accept("offer-1", "alice", T0 + 1) == offer

    again = backend_factory(CONFIG)
    await again.set_agent(alice(), AgentState.AVAILABLE, T0)
    assert await again.restore_offer(offer)
    bob = AgentProfile("bob", (QueueMembership("support"),))
    await again.set_agent(bob, AgentState.AVAILABLE, T0)
    # Alice holds it: nobody else is offered it meanwhile.
    assert await drain(again, T0 + 1) == []
    [lapsed] = [event for event in await again.tick(T0 + 5) if isinstance(event, OfferLapsed)]
    assert lapsed.offer == offer
    # Back in its place, and offered to someone who has not let it lapse.
    [reoffered] = await drain(again, T0 + 5)
    assert (reoffered.interaction_id, reoffered.agent_id) == ("i1", "bob")


async def test_an_offer_to_an_agent_not_available_is_not_restored(backend_factory: BackendFactory) -> None:
    backend = backend_factory(CONFIG)
    await backend.set_agent(alice(), AgentState.AWAY, T0, "break")
    assert not await backend.restore_offer(Offer("offer-1", "alice", entry("i1"), expires_at=T0 + 5))
    assert await backend.open_offers("alice") == []
