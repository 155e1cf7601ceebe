"""DEMO ONLY: what the sandbox took instead of sending, the latest few hundred, numbered
in order; ``GET /demo/outbox`` shows them (``simulate sms|email --wait-reply`` reads it)."""

from __future__ import annotations

import itertools
from collections import deque
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


class Outbox:
    def __init__(self) -> None:
        self._sent: deque[Sent] = deque(maxlen=KEPT)
        self._numbers = itertools.count(1)

    def add(self, channel: str, to: str, sender: str, body: str) -> Sent:
        sent = Sent(next(self._numbers), channel, to, sender, body)
        self._sent.append(sent)
        return sent

    def after(self, seq: int, to: str | None) -> list[Sent]:
        return [s for s in self._sent if s.seq > seq and (to is None or s.to.lower() == to.lower())]

    def register(self, app: web.Application) -> None:
        app.router.add_get("/demo/outbox", self._show)

    async def _show(self, request: web.Request) -> web.Response:
        raw = request.query.get("after", "0")
        after = int(raw) if raw.isdecimal() and len(raw) < 18 else 0
        sent = self.after(after, request.query.get("to"))
        return web.json_response(
            {
                "demo_only": "nothing here reached anyone: the demo sandbox took it instead",
                "messages": [
                    {"seq": s.seq, "channel": s.channel, "to": s.to, "from": s.sender, "body": s.body} for s in sent
                ],
            }
        )
