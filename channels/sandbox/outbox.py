"""DEMO ONLY: what the sandbox took instead of sending, the latest few hundred, numbered
in order; ``GET /demo/outbox`` shows them (``simulate sms|email --wait-reply`` reads it).
Kept in this process for one instance; several behind a balancer share one in Redis
(``interaction_center/dispatch/demo_outbox.py``), so any of them shows what any sent."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

KEPT = 500


@dataclass(frozen=True)
class Sent:
    seq: int
    channel: str  # "sms" or "email"
    to: str
    sender: str
    body: str  # an email's whole message, headers and all


def kept_after(sent: Iterable[Sent], seq: int, to: str | None) -> list[Sent]:
    """Of ``sent``, those numbered after ``seq`` and (given ``to``) to that address."""
    return [s for s in sent if s.seq > seq and (to is None or s.to.lower() == to.lower())]


class Outbox:
    def __init__(self) -> None:
        self._sent: deque[Sent] = deque(maxlen=KEPT)
        self._numbers = itertools.count(1)

    async def add(self, channel: str, to: str, sender: str, body: str) -> Sent:
        sent = Sent(next(self._numbers), channel, to, sender, body)
        self._sent.append(sent)
        return sent

    async def after(self, seq: int, to: str | None) -> list[Sent]:
        return kept_after(self._sent, seq, to)

    async def close(self) -> None:
        """Connections released (the shared outbox's)."""

    def register(self, app: web.Application) -> None:
        app.router.add_get("/demo/outbox", self._show)

    async def _show(self, request: web.Request) -> web.Response:
        raw = request.query.get("after", "0")
        after = int(raw) if raw.isdecimal() and len(raw) < 18 else 0
        sent = await self.after(after, request.query.get("to"))
        return web.json_response(
            {
                "demo_only": "nothing here reached anyone: the demo sandbox took it instead",
                "messages": [
                    {"seq": s.seq, "channel": s.channel, "to": s.to, "from": s.sender, "body": s.body} for s in sent
                ],
            }
        )
