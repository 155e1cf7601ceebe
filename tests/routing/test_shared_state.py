"""What a routing state shared by several service instances offers them: a mark that the
state was rebuilt from storage (so a later instance keeps it rather than rebuild it), a
lock under which one instance at a time decides and records, and fired timers' events
kept until recorded, for another instance to take up if the one that fired them dies. The mark on both backends;
the sharing on Redis, where two backends on one prefix are two instances."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from redis.asyncio.lock import Lock

from routing import AgentState, EngineConfig, FiredClaim, SlaBreached
from routing import redis as redis_module
from routing.redis import RedisRoutingBackend, client
from tests.routing.conftest import BackendFactory
from tests.routing.test_conformance import T0, drain, entry, profile


async def test_a_new_state_is_not_restored_until_marked(backend_factory: BackendFactory) -> None:
    backend = backend_factory(EngineConfig())
    assert not await backend.restored()
    await backend.mark_restored()
    assert await backend.restored()


async def test_instances_on_one_redis_prefix_share_the_state_and_its_mark(redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    first = RedisRoutingBackend(redis_url, EngineConfig(), prefix=prefix)
    second = RedisRoutingBackend(redis_url, EngineConfig(), prefix=prefix)
    other = RedisRoutingBackend(redis_url, EngineConfig(), prefix=f"test:{uuid.uuid4().hex}:")
    try:
        await first.mark_restored()
        assert await second.restored()
        assert not await other.restored()
        await first.enqueue(entry("i1"), T0)
        await second.set_agent(profile("a1", capacity={"chat": 1}), AgentState.AVAILABLE, T0)
        (offer,) = await drain(second, T0)
        assert (offer.interaction_id, offer.agent_id) == ("i1", "a1")
        # Taken once: the other instance's accept of the same offer finds it gone.
        assert await first.accept(offer.offer_id, "a1", T0) is not None
        assert await second.accept(offer.offer_id, "a1", T0) is None
        assert await other.waiting("support") == []
    finally:
        for backend in (first, second, other):
            await backend.close()


@pytest.fixture
async def instances(redis_url: str) -> AsyncIterator[tuple[RedisRoutingBackend, RedisRoutingBackend]]:
    """Two instances' backends on one Redis prefix."""
    prefix = f"test:{uuid.uuid4().hex}:"
    first = RedisRoutingBackend(redis_url, EngineConfig(), prefix=prefix)
    second = RedisRoutingBackend(redis_url, EngineConfig(), prefix=prefix)
    yield first, second
    await first.close()
    await second.close()


async def test_one_instance_at_a_time_holds_the_decisions(
    instances: tuple[RedisRoutingBackend, RedisRoutingBackend],
) -> None:
    first, second = instances
    order: list[str] = []

    async def decide(backend: RedisRoutingBackend, name: str, hold: float) -> None:
        async with backend.decisions():
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    holding = asyncio.create_task(decide(first, "first", 0.2))
    await asyncio.sleep(0.05)
    await decide(second, "second", 0)
    await holding
    assert order == ["first in", "first out", "second in", "second out"]


async def test_an_instance_waiting_for_the_decisions_has_its_turn_before_a_busy_one_again(
    instances: tuple[RedisRoutingBackend, RedisRoutingBackend],
) -> None:
    busy, waiting = instances
    order: list[str] = []

    async def decide(backend: RedisRoutingBackend, name: str) -> None:
        async with backend.decisions():
            order.append(name)
            if name == "busy":
                await asyncio.sleep(0.1)

    holding = asyncio.create_task(decide(busy, "busy"))
    await asyncio.sleep(0.02)
    waited = asyncio.create_task(decide(waiting, "waiting"))
    await holding
    # Asked for again the moment it is released, as by a busy instance's next decision.
    await decide(busy, "busy again")
    await waited
    assert order == ["busy", "waiting", "busy again"]


async def test_a_caller_cancelled_while_waiting_for_the_decisions_gives_up_its_turn(
    instances: tuple[RedisRoutingBackend, RedisRoutingBackend], redis_url: str
) -> None:
    busy, waiting = instances
    redis = client(redis_url)
    turn = busy._decisions_next
    try:
        async with busy.decisions():
            asking = asyncio.create_task(waiting.decisions().__aenter__())
            for _ in range(100):
                if await redis.exists(turn):
                    break
                await asyncio.sleep(0.01)
            assert await redis.exists(turn)  # the next turn is the waiter's
            asking.cancel()
            await asyncio.wait({asking})
            # Given up, rather than left for its time to live while the lock is free.
            assert not await redis.exists(turn)
    finally:
        await redis.aclose()


async def test_a_caller_cancelled_as_it_leaves_the_decisions_is_cancelled_and_lets_them_go(
    instances: tuple[RedisRoutingBackend, RedisRoutingBackend], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def slow_to_stop(lock: Lock) -> None:
        # The lock's keeper taking a while to end once cancelled (an extend on its way).
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.2)

    monkeypatch.setattr(redis_module, "_keep", slow_to_stop)
    backend, other = instances

    async def ticking() -> None:
        # As the routing ticker: a decision, then the next, until the service stops it.
        while True:
            async with backend.decisions():
                await asyncio.sleep(0)

    task = asyncio.create_task(ticking())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    async with asyncio.timeout(2), other.decisions():
        pass


async def test_a_ticks_events_are_kept_under_its_claim_until_recorded_and_taken_up_once(
    instances: tuple[RedisRoutingBackend, RedisRoutingBackend],
) -> None:
    dying, other = instances
    late = entry("i1", deadline=T0 + 20)
    await dying.enqueue(late, T0)
    # The deadline passes: the breach fires once, kept under the dying instance's claim.
    fired = await dying.tick(T0 + 21, "claim-1")
    assert fired == [SlaBreached(replace(late, breached=True))]
    assert await other.tick(T0 + 22, "claim-2") == []
    # Not taken up while young; then taken up once, its events as they fired.
    assert await other.unrecorded(T0 + 25, T0 + 21, 10) == []
    assert await other.unrecorded(T0 + 40, T0 + 30, 10) == [FiredClaim("claim-1", T0 + 21, fired)]
    assert await dying.unrecorded(T0 + 41, T0 + 30, 10) == []
    # Kept again, as made when taken up, until recorded.
    assert await dying.unrecorded(T0 + 60, T0 + 50, 10) == [FiredClaim("claim-1", T0 + 21, fired)]
    await other.recorded("claim-1")
    assert await dying.unrecorded(T0 + 90, T0 + 80, 10) == []


async def test_a_tick_without_a_claim_keeps_nothing(
    instances: tuple[RedisRoutingBackend, RedisRoutingBackend],
) -> None:
    backend, other = instances
    await backend.enqueue(entry("i1", deadline=T0 + 20), T0)
    assert len(await backend.tick(T0 + 21)) == 1
    assert await other.unrecorded(T0 + 60, T0 + 50, 10) == []
