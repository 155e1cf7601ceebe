"""A TCP relay between a client and the test's Redis, to break as networks break: cut
(every connection dropped, new ones refused until restored), or, once armed, losing the
reply to the next request that names a word (Redis did what was asked; the client sees its
connection drop)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit


class RedisRelay:
    def __init__(self, upstream: str, word: bytes = b"") -> None:
        address = urlsplit(upstream)
        self._upstream = (address.hostname or "127.0.0.1", address.port or 6379)
        self._word = word
        self._clients: set[asyncio.StreamWriter] = set()
        self.armed = False
        self.lost = 0
        self.is_cut = False
        self.refused = 0

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """The relay's URL, while it runs."""
        server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        async with server:
            yield f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0"
            self.cut()

    def cut(self) -> None:
        self.is_cut = True
        for writer in self._clients:
            writer.transport.abort()

    def restore(self) -> None:
        self.is_cut = False

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            self.refused += 1
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._clients.add(writer)
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
            self._clients.discard(writer)
            up_writer.close()
            writer.close()
