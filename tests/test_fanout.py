"""The frames instances hand each other through a Redis Stream (dispatch/fanout.py), on the
Redis the tests start: two instances' fan-outs on one prefix."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from interaction_center.dispatch.fanout import RedisFanout
from interaction_center.domain.wire import LogPositions

CHAT = "chat"


class LosingReplies:
    """A TCP relay to Redis that, once armed, loses the reply to the next request naming
    ``word``: Redis has done what was asked, the client sees its connection drop."""

    def __init__(self, upstream: str, word: bytes) -> None:
        address = urlsplit(upstream)
        self._upstream = (address.hostname or "127.0.0.1", address.port or 6379)
        self._word = word
        self.armed = False
        self.lost = 0

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """The relay's URL, while it runs."""
        server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        async with server:
            yield f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0"

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        losing = False

        async def requests() -> None:
            nonlocal losing
            while data := await reader.read(65_536):
                losing = losing or (self.armed and self._word in data)
                up_writer.write(data)
            # The client left: so does the relay's own connection, which ends the replies.
            up_writer.close()

        async def replies() -> None:
            while data := await up_reader.read(65_536):
                if losing:
                    self.armed, self.lost = False, self.lost + 1
                    writer.transport.abort()
                    return
                writer.write(data)

        try:
            await asyncio.gather(requests(), replies())
        except ConnectionError:
            pass
        finally:
            up_writer.close()
            writer.close()


async def test_a_batch_sent_again_after_its_reply_was_lost_reaches_the_other_instance_once_in_order(
    redis_url: str,
) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    relay = LosingReplies(redis_url, b"XADD")
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
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await sender.close()
            await receiver.close()
    assert relay.lost == 1
    assert taken == [("visitor-1", f"frame {n}") for n in range(1, 4)]
