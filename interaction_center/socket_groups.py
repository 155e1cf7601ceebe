"""Live WebSockets grouped by whom they belong to (an agent, a chat visitor), who may have
several open (tabs, devices): each frame goes to all of them, and a socket that fails is
dropped from its group.

Pushes come from intake and routing, which must never wait on one slow reader: a socket
whose peer stops reading is cut off, not waited for. Its owner reconnects and reads the
state over the REST API, as after any dropped connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from socket import SHUT_RDWR
from typing import Any

from aiohttp import WSCloseCode, web

log = logging.getLogger(__name__)

# How long one frame may wait for a peer to take it. A frame waits at all only once the
# peer has left the kernel's buffers and ours full (tens of kilobytes and more): a reader
# that far behind is not coming back soon, and everything else waits while it does.
SEND_SECONDS = 1.0


class SocketGroups:
    def __init__(self, kind: str) -> None:
        """``kind`` names an owner in the log ("agent", "chat")."""
        self._kind = kind
        self._sockets: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)

    def attach(self, owner: str, socket: web.WebSocketResponse) -> None:
        self._sockets[owner].add(socket)

    def detach(self, owner: str, socket: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(owner)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[owner]

    def connected(self, owner: str) -> bool:
        return owner in self._sockets

    def owners(self) -> list[str]:
        return list(self._sockets)

    async def push(self, owner: str, frame: dict[str, Any]) -> bool:
        """True if at least one of the owner's sockets took the frame."""
        delivered = False
        for socket in list(self._sockets.get(owner, ())):
            try:
                async with asyncio.timeout(SEND_SECONDS):
                    await socket.send_json(frame)
                delivered = True
            except TimeoutError:
                log.warning(
                    "%s %s: a socket left a frame waiting %.1f s; cutting it off", self._kind, owner, SEND_SECONDS
                )
                self._cut(owner, socket)
            except (ConnectionError, RuntimeError):
                log.info("%s %s: dropping a closed socket", self._kind, owner)
                self.detach(owner, socket)
        return delivered

    def _cut(self, owner: str, socket: web.WebSocketResponse) -> None:
        self.detach(owner, socket)
        # A closing handshake would wait behind the unread frames like they did: the
        # connection is shut under it instead. Its handler reads the end of the stream and
        # finishes as for any dropped connection; the pending frames fail and are dropped.
        connection = socket.get_extra_info("socket")
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(SHUT_RDWR)

    async def close(self) -> None:
        sockets = [socket for group in self._sockets.values() for socket in group]
        self._sockets.clear()
        await asyncio.gather(
            *(_close_within(socket, WSCloseCode.GOING_AWAY, b"server shutting down") for socket in sockets)
        )


async def _close_within(socket: web.WebSocketResponse, code: int, message: bytes) -> bool:
    """Closed politely if the peer is reading; else aiohttp drops the connection when the
    close is cut short."""
    try:
        async with asyncio.timeout(SEND_SECONDS):
            return await socket.close(code=code, message=message)
    except TimeoutError:
        return False
