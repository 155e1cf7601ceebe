"""The frames instances hand each other through a Redis Stream (dispatch/fanout.py), on the
Redis the tests start: two instances' fan-outs on one prefix."""

from __future__ import annotations

import asyncio
import uuid

from interaction_center.dispatch.fanout import RedisFanout
from interaction_center.domain.wire import LogPositions
from tests.redis_relay import RedisRelay
from tests.support import stop_tasks

CHAT = "chat"


async def test_a_batch_sent_again_after_its_reply_was_lost_reaches_the_other_instance_once_in_order(
    redis_url: str,
) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    relay = RedisRelay(redis_url, b"XADD")
    taken: list[tuple[str, str]] = []

    def heard(positions: LogPositions) -> None:
        pass

    async with relay.serving() as relayed_url:
        sender, receiver = RedisFanout(relayed_url, prefix, "a"), RedisFanout(redis_url, prefix, "b")
        tasks = [
            asyncio.create_task(sender.run({}, heard)),
            asyncio.create_task(receiver.run({CHAT: lambda owner, data: taken.append((owner, data))}, heard)),
        ]
        try:
            relay_chat = sender.relay(CHAT)
            # Until the receiver reads the stream (it starts from where the stream stands).
            async with asyncio.timeout(10):
                while not taken:
                    relay_chat("visitor-1", "hello?")
                    await asyncio.sleep(0.05)
            taken.clear()
            relay.armed = True
            # One batch: Redis adds all three, their reply is lost, and the sender tries again.
            for n in range(1, 4):
                relay_chat("visitor-1", f"frame {n}")
            async with asyncio.timeout(10):
                while len(taken) < 3 or relay.lost == 0:
                    await asyncio.sleep(0.05)
            # Long enough for any copy sent again to arrive.
            await asyncio.sleep(1.5)
        finally:
            await stop_tasks(*tasks)
            await sender.close()
            await receiver.close()
    assert relay.lost == 1
    # (A warm-up frame may still arrive after the clearing.)
    assert [frame for frame in taken if frame[1] != "hello?"] == [("visitor-1", f"frame {n}") for n in range(1, 4)]
