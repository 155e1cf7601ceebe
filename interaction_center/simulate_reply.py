"""``simulate sms|email --wait-reply``: the customer's side waits for the agent's answer,
which the demo sandbox (``[demo] sandbox = true``) keeps in its outbox instead of sending:
where the outbox stood is read before the contact is sent, then the outbox is asked until
a message to the customer comes after it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from interaction_center.domain.errors import InteractionCenterError

POLL_SECONDS = 0.5


class NoSandbox(InteractionCenterError):
    """The service keeps no outbox: it runs without the demo sandbox."""

    code = "demo.no_sandbox"


async def outbox_position(base: str) -> int:
    """The number of the outbox's latest message (0 when empty)."""
    return max((m["seq"] for m in await _outbox(base, None, 0)), default=0)


async def wait_reply(base: str, to: str, after: int, seconds: float) -> dict[str, Any] | None:
    """The first message to ``to`` after ``after``; None after ``seconds`` without one."""
    until = time.monotonic() + seconds
    while True:
        found = await _outbox(base, to, after)
        if found:
            return found[0]
        if time.monotonic() >= until:
            return None
        await asyncio.sleep(POLL_SECONDS)


async def _outbox(base: str, to: str | None, after: int) -> list[dict[str, Any]]:
    query = {"after": str(after), **({"to": to} if to else {})}
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"{base}/demo/outbox", params=query) as response,
    ):
        if response.status == 404:
            raise NoSandbox(f"the service at {base} runs no demo sandbox ([demo] sandbox = true): no outbox")
        response.raise_for_status()
        return list((await response.json())["messages"])
