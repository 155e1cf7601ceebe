"""Live WebSockets grouped by whom they belong to (an agent, a chat visitor), who may have
several open (tabs, devices): each frame goes to all of them, and a socket that fails is
dropped from its group.

Pushes come from intake and routing, which must never wait on a socket: a push hands the
frame to each socket and returns. A socket that has not taken a frame within its allowance
(its peer stopped reading) is cut off; its owner reconnects and catches up, as after any
dropped connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from functools import partial
from socket import SHUT_RDWR
from typing import Generic, TypeVar

from aiohttp import WSCloseCode, web

from interaction_center.domain.json_text import dumps

log = logging.getLogger(__name__)

# How long a frame may take to go out: a frame waits at all only once the peer has left
# the kernel's buffers and aiohttp's (hundreds of kilobytes) unread, and then a second more,
# plus the time a big frame (a long mail's body) takes at the slowest link still served.
SEND_SECONDS = 1.0
SLOWEST_READER_BYTES_PER_SECOND = 64 * 1024


def live_socket(max_msg_size: int) -> web.WebSocketResponse:
    """A live socket as the groups need it: pinged so a vanished peer is noticed, and not
    compressed, as aiohttp compresses a big frame in a task of its own and a small frame
    pushed after it could then go out first."""
    return web.WebSocketResponse(heartbeat=30.0, max_msg_size=max_msg_size, compress=False)


# The frames a group's sockets take: each group is typed with its audience's frames
# (domain/wire.py), so an agent's frame cannot be pushed to a chat visitor.
Frame = TypeVar("Frame", bound=Mapping[str, object])


class SocketGroups(Generic[Frame]):
    def __init__(self, kind: str) -> None:
        """``kind`` names an owner in the log ("agent", "chat")."""
        self._kind = kind
        self._sockets: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self._sending: set[asyncio.Task[None]] = set()
        # Per socket, the bytes handed to it and not yet taken: a frame waits for those
        # ahead of it too, and its allowance counts them.
        self._backlog: dict[web.WebSocketResponse, int] = {}
        # Held sockets (attached, not yet released): the frames pushed to them meanwhile.
        self._held: dict[web.WebSocketResponse, list[str]] = {}
        # Set by the wiring when other instances hold sockets too: hands (owner, frame as
        # JSON) to them, for ``push_everywhere``.
        self.relay: Callable[[str, str], None] | None = None
        # Set by ``close``: a socket whose handler attaches it later (it was still being
        # authenticated) is closed at once rather than left open past the shutdown.
        self._closed = False

    def attach(self, owner: str, socket: web.WebSocketResponse, *, held: bool = False) -> None:
        """``held``: what is pushed to the owner waits for ``release`` on this socket, so
        what it alone is owed first (``push_to``) goes ahead of it."""
        if self._closed:
            self._sending.add(asyncio.ensure_future(_close(socket, WSCloseCode.GOING_AWAY, b"server shutting down")))
            return
        self._sockets[owner].add(socket)
        if held:
            self._held[socket] = []

    def release(self, owner: str, socket: web.WebSocketResponse) -> None:
        """A held socket gets what was pushed meanwhile, in order, and pushes from now on."""
        for data in self._held.pop(socket, []):
            if not socket.closed:
                self._send(owner, socket, data)

    def detach(self, owner: str, socket: web.WebSocketResponse) -> None:
        self._held.pop(socket, None)
        sockets = self._sockets.get(owner)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[owner]

    def connected(self, owner: str) -> bool:
        return owner in self._sockets

    def owners(self) -> list[str]:
        return list(self._sockets)

    def count(self) -> int:
        """Sockets open now."""
        return sum(len(group) for group in self._sockets.values())

    def push(self, owner: str, frame: Frame) -> bool:
        """Send the frame to each of the owner's open sockets here, without waiting for
        them; False when none is open. Frames to one socket go out in the order pushed."""
        sockets = self._open(owner)
        if sockets:
            self._deliver(owner, sockets, dumps(frame))
        return bool(sockets)

    def push_everywhere(self, owner: str, frame: Frame) -> bool:
        """``push``, and the same frame to the owner's sockets on other instances (a
        visitor's tab, an agent's desk, may be on any): for the frames that one instance
        makes and no other would. True when a socket here took it."""
        data = dumps(frame)
        if self.relay is not None:
            self.relay(owner, data)
        sockets = self._open(owner)
        self._deliver(owner, sockets, data)
        return bool(sockets)

    def relayed(self, owner: str, data: str) -> None:
        """A frame another instance pushed everywhere, for the owner's sockets here."""
        self._deliver(owner, self._open(owner), data)

    def _open(self, owner: str) -> list[web.WebSocketResponse]:
        return [socket for socket in self._sockets.get(owner, ()) if not socket.closed]

    def _deliver(self, owner: str, sockets: list[web.WebSocketResponse], data: str) -> None:
        for socket in sockets:
            waiting = self._held.get(socket)
            if waiting is None:
                self._send(owner, socket, data)
            else:
                waiting.append(data)

    def push_to(self, owner: str, socket: web.WebSocketResponse, frame: Frame) -> None:
        """Send the frame to one of the owner's sockets (what it alone is owed), held or
        not, in order with what is pushed to all of them."""
        if not socket.closed:
            self._send(owner, socket, dumps(frame))

    def _send(self, owner: str, socket: web.WebSocketResponse, data: str) -> None:
        backlog = self._backlog[socket] = self._backlog.get(socket, 0) + len(data)
        sending = asyncio.ensure_future(socket.send_str(data))
        self._sending.add(sending)
        # Never cancelled: aiohttp's wait for a socket to drain is one future that every
        # sender on the socket shares, and cancelling it would cancel them all.
        allowance = SEND_SECONDS + backlog / SLOWEST_READER_BYTES_PER_SECOND
        overdue = asyncio.get_running_loop().call_later(allowance, self._overdue, owner, socket, sending)
        sending.add_done_callback(partial(self._sent, owner, socket, overdue, len(data)))

    def _sent(
        self,
        owner: str,
        socket: web.WebSocketResponse,
        overdue: asyncio.TimerHandle,
        size: int,
        sending: asyncio.Task[None],
    ) -> None:
        overdue.cancel()
        self._sending.discard(sending)
        left = self._backlog.pop(socket, 0) - size
        if left > 0:
            self._backlog[socket] = left
        if sending.cancelled() or sending.exception() is None:
            return
        log.info("%s %s: dropping a closed socket (%s)", self._kind, owner, sending.exception())
        self.detach(owner, socket)

    def _overdue(self, owner: str, socket: web.WebSocketResponse, sending: asyncio.Task[None]) -> None:
        if sending.done():
            return
        log.warning("%s %s: a socket has not taken a frame in time; cutting it off", self._kind, owner)
        self.detach(owner, socket)
        _shut(socket)

    async def close(self) -> None:
        self._closed = True
        sockets = [socket for group in self._sockets.values() for socket in group]
        self._sockets.clear()
        for socket in sockets:
            if self._backlog.get(socket):
                # Behind on its frames: a closing frame would only queue after them.
                _shut(socket)
        polite = [socket for socket in sockets if not self._backlog.get(socket)]
        await asyncio.gather(*(_close(socket, WSCloseCode.GOING_AWAY, b"server shutting down") for socket in polite))
        await asyncio.gather(*self._sending, return_exceptions=True)

    async def close_owner(
        self,
        owner: str,
        code: int,
        message: bytes,
        chosen: Callable[[web.WebSocketResponse], bool] = lambda socket: True,
    ) -> None:
        """The owner's sockets (those ``chosen``) closed with ``code`` (their session
        ended), each after the frames already handed to it (the last of them may say why),
        or shut if it does not take them in time."""
        sockets = [socket for socket in self._sockets.get(owner, ()) if chosen(socket)]
        for socket in sockets:
            self.detach(owner, socket)
        await asyncio.gather(*(_close(socket, code, message) for socket in sockets))


async def _close(socket: web.WebSocketResponse, code: int, message: bytes) -> None:
    """Closed politely; shut if even that stalls, as a close cut short leaves aiohttp
    waiting to flush what the peer does not read."""
    try:
        async with asyncio.timeout(SEND_SECONDS):
            await socket.close(code=code, message=message)
    except TimeoutError:
        _shut(socket)


def _shut(socket: web.WebSocketResponse) -> None:
    """The connection shut under the socket: a closing handshake would wait behind the
    unread frames. Its handler reads the end of the stream and finishes as for any dropped
    connection, and the frames still waiting fail."""
    connection = socket.get_extra_info("socket")
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.shutdown(SHUT_RDWR)
