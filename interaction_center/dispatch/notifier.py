"""Live pushes to agents' WebSockets. Delivery is best effort: what a push says is also
readable over the REST API, so a dropped socket loses no state."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from channels.live import SocketGroups
from interaction_center.domain.wire import AgentFrame

log = logging.getLogger(__name__)


class AgentHub(SocketGroups[AgentFrame]):
    def __init__(self) -> None:
        super().__init__("agent")
        self._cleanups: set[asyncio.Task[None]] = set()

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
