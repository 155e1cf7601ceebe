"""Web chat's live side: the visitors' open sockets by chat session, and the way out
(``ChatSender``) that puts an agent's reply on them."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from typing import Any

from aiohttp import web

from interaction_center.errors import ChannelError
from interaction_center.model import OutboundMessage, SentMessage
from storage.models import utcnow

log = logging.getLogger(__name__)

_THREAD_PREFIX = "chat:"


def thread_key(session_id: str) -> str:
    """One chat session is one conversation thread."""
    return _THREAD_PREFIX + session_id


def session_of(key: str) -> str | None:
    return key.removeprefix(_THREAD_PREFIX) if key.startswith(_THREAD_PREFIX) else None


class ChatRooms:
    """A visitor may have the chat open in several tabs: each gets every frame."""

    def __init__(self) -> None:
        self._sockets: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)

    def attach(self, session_id: str, socket: web.WebSocketResponse) -> None:
        self._sockets[session_id].add(socket)

    def detach(self, session_id: str, socket: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(session_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[session_id]

    def connected(self, session_id: str) -> bool:
        return session_id in self._sockets

    def sessions(self) -> list[str]:
        return list(self._sockets)

    async def push(self, session_id: str, frame: dict[str, Any]) -> bool:
        """True if at least one of the visitor's sockets took the frame."""
        delivered = False
        for socket in list(self._sockets.get(session_id, ())):
            try:
                await socket.send_json(frame)
                delivered = True
            except (ConnectionError, RuntimeError):
                log.info("chat %s: dropping a closed socket", session_id)
                self.detach(session_id, socket)
        return delivered

    async def close(self) -> None:
        for sockets in list(self._sockets.values()):
            for socket in list(sockets):
                await socket.close(code=1001, message=b"server shutting down")
        self._sockets.clear()


class ChatSender:
    """Replies go to the visitor's open sockets. A visitor who is away gets nothing now,
    but the reply is stored, and a reconnect shows it in the history: so "sent" when
    nobody was connected, "delivered" when a socket took it."""

    def __init__(self, rooms: ChatRooms) -> None:
        self._rooms = rooms

    async def send(self, message: OutboundMessage) -> SentMessage:
        session_id = session_of(message.thread_key)
        if session_id is None:
            raise ChannelError(f"interaction {message.interaction_id} is not a chat session", code="chat.no_session")
        message_id = message.message_id or str(uuid.uuid4())
        frame = {
            "type": "message",
            "from": "agent",
            "message_id": message_id,
            "interaction_id": message.interaction_id,
            "body": message.body,
            "at": utcnow().isoformat(),
        }
        delivered = await self._rooms.push(session_id, frame)
        return SentMessage(external_id=f"out:{message_id}", status="delivered" if delivered else "sent")

    async def close(self) -> None:
        """The sockets belong to ``ChatRooms``, closed with the service."""
