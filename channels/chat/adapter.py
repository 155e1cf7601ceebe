"""Web chat on the channel contract: the visitor's WebSocket and widget in, the same
sockets out."""

from __future__ import annotations

from aiohttp import web

from channels.chat.files import ChatFiles
from channels.chat.page import ChatPage
from channels.chat.rooms import ChatRooms, ChatSender
from channels.chat.service import ChatService
from channels.chat.socket import ChatSocket
from channels.contract import NO_KEYWORDS, Capacity, Keywords
from interaction_center.domain.model import Channel, OutboundSender


class ChatChannel:
    channel = Channel.CHAT
    capacity = Capacity(slots=3)
    keywords: Keywords = NO_KEYWORDS

    def __init__(self, service: ChatService, rooms: ChatRooms) -> None:
        self._socket = ChatSocket(service)
        self._files = ChatFiles(service)
        self._page = ChatPage(service.allowed_origins)
        self._sender = ChatSender(rooms)

    @property
    def sender(self) -> OutboundSender | None:
        return self._sender

    def register(self, app: web.Application) -> None:
        self._socket.register(app)
        self._files.register(app)
        self._page.register(app)

    async def start(self) -> None:
        """Visitors connect through the web app's routes: nothing of its own to start."""

    async def stop(self) -> None:
        """The visitors' sockets are the chat desk's to close, once it has told them."""
