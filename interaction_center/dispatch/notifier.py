"""Live pushes to agents' WebSockets. Delivery is best effort: what a push says is also
readable over the REST API, so a dropped socket loses no state."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from channels.live import SocketGroups
from interaction_center.domain.wire import AgentFrame

log = logging.getLogger(__name__)


class AgentHub(SocketGroups[AgentFrame]):
    def __init__(self) -> None:
        super().__init__("agent")
        self._cleanups: set[asyncio.Task[None]] = set()
        # Each socket's login (its token's digest): a login that ends closes its own.
        self._logins: dict[web.WebSocketResponse, str] = {}

    def attach_login(self, owner: str, socket: web.WebSocketResponse, login: str, *, held: bool = False) -> None:
        self.attach(owner, socket, held=held)
        self._logins[socket] = login

    def detach(self, owner: str, socket: web.WebSocketResponse) -> None:
        super().detach(owner, socket)
        self._logins.pop(socket, None)

    async def close_logins(self, owner: str, code: int, message: bytes, *, only: str | None, but: str | None) -> None:
        """The owner's sockets of login ``only``, or of every login but ``but``, closed."""
        await self.close_owner(
            owner,
            code,
            message,
            lambda socket: self._logins.get(socket) == only if only is not None else self._logins.get(socket) != but,
        )

    def after_disconnect(self, cleanup: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run the clean-up of a closed agent socket as a task of its own: aiohttp cancels
        the handler of a dropped connection, and the clean-up must finish all the same
        (``close`` waits for it before storage goes away)."""
        task = asyncio.create_task(cleanup)
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)
        return task

    async def close(self) -> None:
        await super().close()
        while self._cleanups:
            for result in await asyncio.gather(*self._cleanups, return_exceptions=True):
                if isinstance(result, Exception):
                    log.warning("clean-up after an agent disconnect failed: %s", result)
