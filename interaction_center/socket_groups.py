"""Live WebSockets grouped by whom they belong to (an agent, a chat visitor), who may have
several open (tabs, devices): each frame goes to all of them, and a socket that fails is
dropped from its group."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


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
                await socket.send_json(frame)
                delivered = True
            except (ConnectionError, RuntimeError):
                log.info("%s %s: dropping a closed socket", self._kind, owner)
                self.detach(owner, socket)
        return delivered

    async def close(self) -> None:
        for sockets in list(self._sockets.values()):
            for socket in list(sockets):
                await socket.close(code=1001, message=b"server shutting down")
        self._sockets.clear()
