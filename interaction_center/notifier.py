"""Live pushes to agents' WebSockets. Delivery is best effort: what a push says is also
readable over the REST API, so a dropped socket loses no state."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


class AgentHub:
    def __init__(self) -> None:
        self._sockets: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)
        self._cleanups: set[asyncio.Task[None]] = set()

    def after_disconnect(self, cleanup: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run the clean-up of a closed agent socket as a task of its own: aiohttp cancels
        the handler of a dropped connection, and the clean-up must finish all the same
        (``close`` waits for it before storage goes away)."""
        task = asyncio.create_task(cleanup)
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)
        return task

    def attach(self, agent_id: str, socket: web.WebSocketResponse) -> None:
        self._sockets[agent_id].add(socket)

    def detach(self, agent_id: str, socket: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(agent_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[agent_id]

    def connected(self, agent_id: str) -> bool:
        return agent_id in self._sockets

    async def push(self, agent_id: str, payload: dict[str, Any]) -> None:
        for socket in list(self._sockets.get(agent_id, ())):
            try:
                await socket.send_json(payload)
            except (ConnectionError, RuntimeError):
                log.info("agent %s: dropping a closed socket", agent_id)
                self.detach(agent_id, socket)

    async def close(self) -> None:
        for sockets in list(self._sockets.values()):
            for socket in list(sockets):
                await socket.close(code=1001, message=b"server shutting down")
        self._sockets.clear()
        while self._cleanups:
            for result in await asyncio.gather(*self._cleanups, return_exceptions=True):
                if isinstance(result, Exception):
                    log.warning("clean-up after an agent disconnect failed: %s", result)
