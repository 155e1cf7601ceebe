"""Leases and the record of whose sockets each instance holds (dispatch/membership.py), on
the Redis the tests start: two instances' memberships on one prefix."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from redis.asyncio import Redis

from interaction_center.dispatch.membership import AGENT, RedisMembership, member
from tests.redis_relay import RedisRelay
from tests.support import stop_tasks

LEASE = 0.4


class Instance:
    """One instance's membership, running, with what its callbacks were told."""

    def __init__(self, url: str, prefix: str, name: str, holding: list[str], lease: float = LEASE) -> None:
        self.membership = RedisMembership(url, prefix, lease, name)
        self.holding = holding
        self.gone: list[list[str]] = []
        self.rejoined: list[list[str]] = []
        # How long setting a claimed instance's owners gone takes (storage, routing).
        self.gone_takes = 0.0
        self.setting_gone = False

    async def _gone(self, members: list[str]) -> None:
        self.setting_gone = True
        await asyncio.sleep(self.gone_takes)
        self.gone.append(members)
        self.setting_gone = False

    async def _rejoined(self, members: list[str]) -> None:
        self.rejoined.append(members)

    async def run(self) -> None:
        await self.membership.run(self._gone, lambda: self.holding, self._rejoined)


@contextlib.asynccontextmanager
async def running(*instances: Instance) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(instance.run()) for instance in instances]
    try:
        yield
    finally:
        await stop_tasks(*tasks)
        for instance in instances:
            await instance.membership.close()


async def until(check: object, what: str) -> None:
    assert callable(check)
    for _ in range(100):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def test_a_desk_on_another_live_instance_is_elsewhere_and_a_dead_ones_is_claimed_once(redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    alice = member(AGENT, "alice")
    a, b, c = (
        Instance(redis_url, prefix, "a", [alice]),
        Instance(redis_url, prefix, "b", []),
        Instance(redis_url, prefix, "c", []),
    )
    dying = asyncio.create_task(a.run())
    try:
        async with running(b, c):

            async def seen() -> bool:
                return await b.membership.elsewhere(alice) and not await a.membership.elsewhere(alice)

            await until(seen, "b sees alice's desk on a")
            # a dies: it stops renewing, without a word; one of the others claims it, once.
            dying.cancel()

            async def claimed() -> bool:
                return len(b.gone) + len(c.gone) >= 1

            await until(claimed, "a's lease is claimed")
            await asyncio.sleep(3 * LEASE)
            assert b.gone + c.gone == [[alice]]
            assert not await b.membership.elsewhere(alice)
    finally:
        await stop_tasks(dying)
        await a.membership.close()


async def test_an_instance_setting_a_dead_ones_owners_gone_keeps_renewing_its_own_lease(redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    alice, bob = member(AGENT, "alice"), member(AGENT, "bob")
    a, b = Instance(redis_url, prefix, "a", [alice]), Instance(redis_url, prefix, "b", [bob])
    # Setting a dead instance's agents away takes a while: many agents, the decisions lock it
    # may have held to wait out.
    b.gone_takes = 3 * LEASE
    observer = RedisMembership(redis_url, prefix, LEASE, "observer")  # asks; never joins
    dying = asyncio.create_task(a.run())
    try:
        async with running(b):

            async def joined() -> bool:
                return await observer.elsewhere(alice) and await observer.elsewhere(bob)

            await until(joined, "both joined")
            await stop_tasks(dying)  # a dies; b claims it

            async def setting_gone() -> bool:
                return b.setting_gone

            await until(setting_gone, "b sets a's owners gone")
            while b.setting_gone:
                # b renews meanwhile: its own desks stay its own, nobody may claim it.
                assert await observer.elsewhere(bob)
                await asyncio.sleep(0.05)
            assert b.gone == [[alice]]
    finally:
        await stop_tasks(dying)
        await a.membership.close()
        await observer.close()


async def test_an_instance_claimed_while_alive_joins_again_with_its_desks(redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    alice = member(AGENT, "alice")
    a, b = Instance(redis_url, prefix, "a", [alice]), Instance(redis_url, prefix, "b", [])
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        async with running(a, b):

            async def joined() -> bool:
                return await b.membership.elsewhere(alice)

            await until(joined, "a joined with alice's desk")
            # Claimed as a claim racing a's renewal after a stall would: out of the members,
            # its record gone, its lease (renewed a moment ago) still there.
            await redis.srem(f"{prefix}instances", "a")
            await redis.delete(f"{prefix}sockets:a")

            async def back() -> bool:
                return a.rejoined == [[alice]] and await b.membership.elsewhere(alice)

            await until(back, "a joins again, and says so")
    finally:
        await redis.aclose()


async def test_after_an_outage_longer_than_a_lease_the_live_instances_take_none_of_each_other(redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    alice, bob = member(AGENT, "alice"), member(AGENT, "bob")
    a, b = Instance(redis_url, prefix, "a", [alice]), Instance(redis_url, prefix, "b", [bob])
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        # Renewing half a renewal apart, as instances started at different times do.
        async with running(a):
            await asyncio.sleep(LEASE / 4)
            async with running(b):
                await outlive_an_outage(redis, prefix, a, b)
    finally:
        await redis.aclose()


async def outlive_an_outage(redis: Redis, prefix: str, a: Instance, b: Instance) -> None:
    [alice], [bob] = a.holding, b.holding

    async def joined() -> bool:
        return await a.membership.elsewhere(bob) and await b.membership.elsewhere(alice)

    await until(joined, "both joined")
    # What Redis holds after an outage longer than a lease: every lease lapsed, the
    # instances and their records still there. Whichever renews first must not take the
    # other, which renews its own a moment later, for dead.
    await redis.delete(f"{prefix}lease:a", f"{prefix}lease:b")

    async def back() -> bool:
        return a.rejoined == [[alice]] and b.rejoined == [[bob]]

    await until(back, "both take their leases again")
    await asyncio.sleep(3 * LEASE)
    assert a.gone == b.gone == []
    assert await a.membership.elsewhere(bob) and await b.membership.elsewhere(alice)


async def test_a_renewal_that_fails_is_tried_again_at_once_so_a_short_outage_lapses_no_lease(redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    alice = member(AGENT, "alice")
    # A longer lease than the other tests': a busy test machine's stalls stay well inside it.
    lease = 1.0
    relay = RedisRelay(redis_url)
    async with relay.serving() as relayed:
        a = Instance(relayed, prefix, "a", [alice], lease)
        b = Instance(redis_url, prefix, "b", [], lease)
        async with running(a, b):

            async def joined() -> bool:
                return await b.membership.elsewhere(alice)

            await until(joined, "a joined with alice's desk")
            # a's network drops until a renewal of its has failed and it has tried again.
            relay.cut()

            async def tried_again() -> bool:
                return relay.refused > 0

            await until(tried_again, "a tries to renew again")
            relay.restore()
            await asyncio.sleep(1.5 * lease)
            # Renewed before it lapsed: nobody took a for dead, and a had nothing to rejoin.
            assert a.rejoined == [] and b.gone == []
            assert await b.membership.elsewhere(alice)


async def test_work_one_instance_must_do_runs_on_one_at_a_time_again_after_failing_and_moves_when_it_stops(
    redis_url: str,
) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    a, b = RedisMembership(redis_url, prefix, LEASE, "a"), RedisMembership(redis_url, prefix, LEASE, "b")
    running_on: list[str] = []
    started: list[str] = []

    def work(name: str) -> Callable[[], Coroutine[Any, Any, None]]:
        async def deliver() -> None:
            started.append(name)
            running_on.append(name)
            try:
                if len(started) == 1:
                    raise RuntimeError("the receiver's first start fails")
                await asyncio.sleep(3600)
            finally:
                running_on.remove(name)

        return deliver

    first = asyncio.create_task(a.alone("webhook:crm", work("a")))
    second: asyncio.Task[None] | None = None
    try:

        async def running_again() -> bool:
            return running_on == ["a"] and started == ["a", "a"]

        # Alone, its first start failed: it runs again, here.
        await until(running_again, "the work running again after its failure")
        second = asyncio.create_task(b.alone("webhook:crm", work("b")))
        for _ in range(6):
            await asyncio.sleep(LEASE / 2)
            assert running_on == ["a"]
        # Its instance stops: the other takes it.
        first.cancel()

        async def moved() -> bool:
            return running_on == ["b"]

        await until(moved, "the work moved to the other instance")
    finally:
        await stop_tasks(*(task for task in (first, second) if task is not None))
        await a.close()
        await b.close()
