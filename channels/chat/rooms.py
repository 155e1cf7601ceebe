"""Web chat's live side: the visitors' open sockets by chat session, and the way out
(``ChatSender``) that puts an agent's reply on them."""

from __future__ import annotations

from channels.live import SocketGroups
from interaction_center.domain.errors import ChannelError
from interaction_center.domain.model import OutboundMessage, SentMessage
from interaction_center.domain.stamps import new_id, utcnow
from interaction_center.domain.wire import VisitorFrame, chat_message_frame

_THREAD_PREFIX = "chat:"


def thread_key(session_id: str) -> str:
    """One chat session is one conversation thread."""
    return _THREAD_PREFIX + session_id


def session_of(key: str) -> str | None:
    return key.removeprefix(_THREAD_PREFIX) if key.startswith(_THREAD_PREFIX) else None


class ChatRooms(SocketGroups[VisitorFrame]):
    """A visitor may have the chat open in several tabs: each gets every frame."""

    def __init__(self) -> None:
        super().__init__("chat")


class ChatSender:
    """Replies go to the visitor's open sockets, on this instance and (handed on) the
    others. A visitor who is away gets nothing now, but the reply is stored, and a
    reconnect shows it in the history: so "delivered" when a socket here took it, "sent"
    otherwise (none was open, or theirs are on other instances, which do not answer)."""

    def __init__(self, rooms: ChatRooms) -> None:
        self._rooms = rooms

    async def send(self, message: OutboundMessage) -> SentMessage:
        session_id = session_of(message.thread_key)
        if session_id is None:
            raise ChannelError(f"interaction {message.interaction_id} is not a chat session", code="chat.no_session")
        message_id = message.message_id or new_id()
        frame = chat_message_frame(message_id, message.interaction_id, message.body, utcnow())
        delivered = self._rooms.push_everywhere(session_id, frame)
        return SentMessage(external_id=f"out:{message_id}", status="delivered" if delivered else "sent")

    async def close(self) -> None:
        """The sockets belong to ``ChatRooms``, closed with the service."""
