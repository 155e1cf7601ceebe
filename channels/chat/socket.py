"""Web chat in: the visitor's WebSocket (``GET /chat/ws``).

Frames are JSON objects with a ``type``. Anything wrong with one frame (too large, too
many, not JSON, unknown) gets an error frame and the session goes on; only a token that
opens no session closes the socket."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import WSMsgType, web

from channels.chat.service import MAX_COMMENT_CHARS, MAX_MESSAGE_CHARS, SCORES, ChatService, Visitor
from channels.live import live_socket
from interaction_center.domain.errors import Forbidden, InteractionCenterError, InvalidInput, Unauthorized
from interaction_center.domain.stamps import utcnow
from interaction_center.domain.untrusted import parse_json
from interaction_center.domain.wire import ack_frame, error_frame, rated_frame, resumed_frame, started_frame

log = logging.getLogger(__name__)

# Our limit, answered with chat.too_large; aiohttp's own (which closes the socket, 1009)
# sits well above it so that a large frame costs an error frame, not the session.
MAX_FRAME_CHARS = 8 * 1024
MAX_CLIENT_ID_CHARS = 100
_SOCKET_LIMIT_BYTES = 256 * 1024
# A burst of this many frames, refilled at this rate: enough for fast typists, not floods.
RATE_BURST = 20
RATE_PER_SECOND = 5.0
_BAD_TOKEN_CLOSE = 4401


class RateLimit:
    """A token bucket per socket."""

    def __init__(self, burst: int = RATE_BURST, per_second: float = RATE_PER_SECOND) -> None:
        self._burst = burst
        self._rate = per_second
        self._tokens = float(burst)
        self._at = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def full(self) -> bool:
        """Refilled to its burst: as good as a new bucket."""
        return self._tokens + (time.monotonic() - self._at) * self._rate >= self._burst


class RateLimits:
    """A bucket per key (a chat session's uploads), kept only while it is not full again:
    sessions come and go by the thousand, and a full bucket is as good as a new one."""

    def __init__(self, burst: int, per_second: float) -> None:
        self._burst = burst
        self._rate = per_second
        # The least recently used first: the first ones are the first to be full again.
        self._buckets: dict[str, RateLimit] = {}

    def allow(self, key: str) -> bool:
        bucket = self._buckets.pop(key, None) or RateLimit(self._burst, self._rate)
        self._buckets[key] = bucket
        allowed = bucket.allow()
        while (oldest := next(iter(self._buckets.values()))) is not bucket and oldest.full():
            del self._buckets[next(iter(self._buckets))]
        return allowed

    def __len__(self) -> int:
        return len(self._buckets)


def _parse(raw: str) -> dict[str, Any]:
    data = parse_json(raw, code="chat.bad_frame")
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise InvalidInput('a frame is a JSON object with a "type"', code="chat.bad_frame")
    return data


def _text(data: dict[str, Any], name: str, *, required: bool, limit: int) -> str:
    value = data.get(name, "" if not required else None)
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f'"{name}" must be a non-empty string', code="chat.bad_frame")
    if len(value) > limit:
        raise InvalidInput(f'"{name}" is longer than {limit} characters', code="chat.too_large")
    return value


class ChatSocket:
    def __init__(self, desk: ChatService) -> None:
        self._desk = desk

    def register(self, app: web.Application) -> None:
        app.router.add_get("/chat/ws", self.socket)

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        origin = request.headers.get("Origin")
        # A browser names the page that opens a socket, and any site's page may open one:
        # only ours (the widget's frame) and the allowed sites' are taken. Without the
        # header it is no browser's page (a script, `simulate chat`).
        if origin is not None and origin not in (f"{request.scheme}://{request.host}", *self._desk.allowed_origins):
            raise Forbidden(f"pages of {origin} may not open the chat", code="chat.origin_refused")
        socket = live_socket(max_msg_size=_SOCKET_LIMIT_BYTES)
        await socket.prepare(request)
        if not self._desk.enabled:
            await socket.send_json(error_frame("chat.not_configured", "web chat is not enabled here"))
            await socket.close()
            return socket
        session = _Session(self._desk, socket)
        try:
            await session.run()
        finally:
            if session.visitor is not None:
                self._desk.left(session.visitor, socket)
        return socket


class _Session:
    """One visitor socket: the start or resume handshake, then their frames."""

    def __init__(self, desk: ChatService, socket: web.WebSocketResponse) -> None:
        self._desk = desk
        self._socket = socket
        self._limit = RateLimit()
        self.visitor: Visitor | None = None

    async def run(self) -> None:
        async for frame in self._socket:
            if frame.type == WSMsgType.ERROR:
                # The connection failed (or is being torn down): nothing more can be sent.
                return
            if frame.type != WSMsgType.TEXT:
                await self._socket.send_json(error_frame("chat.bad_frame", "frames are JSON text"))
            elif not self._limit.allow():
                await self._socket.send_json(error_frame("chat.rate_limited", "too many frames; slow down"))
            elif len(frame.data) > MAX_FRAME_CHARS:
                await self._socket.send_json(
                    error_frame("chat.too_large", f"a frame is at most {MAX_FRAME_CHARS} characters")
                )
            else:
                try:
                    await self._handle(_parse(frame.data))
                except Unauthorized as exc:
                    await self._socket.send_json(error_frame(exc.code, exc.message))
                    await self._socket.close(code=_BAD_TOKEN_CLOSE, message=b"unauthorized")
                except InteractionCenterError as exc:
                    await self._socket.send_json(error_frame(exc.code, exc.message))
                except Exception:
                    log.exception("chat %s: frame failed", self.visitor.session_id if self.visitor else "-")
                    await self._socket.send_json(error_frame("chat.failed", "internal error; it has been logged"))

    async def _handle(self, data: dict[str, Any]) -> None:
        kind = data["type"]
        if kind in ("start", "resume"):
            if self.visitor is not None:
                raise InvalidInput("this socket already has a session", code="chat.bad_frame")
            await (self._start(data) if kind == "start" else self._resume(data))
        elif self.visitor is None:
            raise InvalidInput('start with {"type": "start"} or {"type": "resume", "token"}', code="chat.not_started")
        elif kind == "message":
            await self._message(self.visitor, data)
        elif kind == "typing":
            await self._desk.customer_typing(self.visitor)
        elif kind == "end":
            await self._desk.end(self.visitor)
        elif kind == "rate":
            await self._rate(self.visitor, data)
        else:
            raise InvalidInput(f"unknown frame type {kind!r}", code="chat.bad_frame")

    async def _start(self, data: dict[str, Any]) -> None:
        name = _text(data, "name", required=False, limit=200)
        email = _text(data, "email", required=False, limit=320) or None
        phone = _text(data, "phone", required=False, limit=32) or None
        token, visitor = await self._desk.start(name, email, phone)
        self._attach(visitor)
        await self._socket.send_json(started_frame(token))

    async def _resume(self, data: dict[str, Any]) -> None:
        token = _text(data, "token", required=True, limit=100)
        resumed = await self._desk.resume(token)
        self._attach(resumed.visitor)
        await self._socket.send_json(
            resumed_frame(resumed.interaction_id, resumed.state, resumed.agent_name, resumed.rated, resumed.messages)
        )
        self._desk.tell_place(resumed.visitor.session_id)

    def _attach(self, visitor: Visitor) -> None:
        self.visitor = visitor
        self._desk.connected(visitor, self._socket)

    async def _message(self, visitor: Visitor, data: dict[str, Any]) -> None:
        client_id = _text(data, "client_id", required=True, limit=MAX_CLIENT_ID_CHARS)
        body = _text(data, "body", required=True, limit=MAX_MESSAGE_CHARS)
        # Shielded: a visitor closing the tab mid-write must not cut the commit in half.
        result = await asyncio.shield(self._desk.receive(visitor, client_id, body))
        # Acknowledged only now that the message is committed.
        await self._socket.send_json(ack_frame(client_id, result.message_id, result.interaction_id, utcnow()))
        if result.created:
            self._desk.tell_place(visitor.session_id)

    async def _rate(self, visitor: Visitor, data: dict[str, Any]) -> None:
        score = data.get("score")
        # bool is an int to Python, not a score to anyone.
        if not isinstance(score, int) or isinstance(score, bool) or score not in SCORES:
            raise InvalidInput('"score" must be a whole number from 1 to 5', code="chat.bad_frame")
        comment = _text(data, "comment", required=False, limit=MAX_COMMENT_CHARS).strip() or None
        interaction_id = await self._desk.rate(visitor, score, comment)
        await self._socket.send_json(rated_frame(interaction_id))
