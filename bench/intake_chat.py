"""Web chat for ``bench.intake``: many concurrent chat WebSockets (start, one message, its
ack), and the RSS of the process that serves them."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import resource
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.intake_service import PHASE_SECONDS, STEP_SECONDS, Window, bounded, rss_kb

CHAT_IN_FLIGHT = 64
# Sessions opened, used and closed before the "before" RSS is read: imports, caches and
# pools warmed up are not charged to the measured sessions.
CHAT_WARMUP = 50
# File descriptors kept free in each process (logs, /proc reads, the database, SMTP...).
FD_RESERVE = 200


def raise_fd_limit() -> int:
    """The soft RLIMIT_NOFILE up to the hard one; child processes inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class ChatRun:
    wanted: int
    opened: int = 0
    acked: int = 0
    open_failures: list[str] = field(default_factory=list)
    rss_before_kb: int = 0
    rss_started_kb: int = 0
    rss_after_kb: int = 0
    open_seconds: float = 0.0
    messages: Window = field(default_factory=lambda: Window(0, 0.0, 0.0))  # those acked

    @property
    def kb_per_session(self) -> float:
        return (self.rss_after_kb - self.rss_before_kb) / self.opened if self.opened else float("nan")


class _Chat:
    """One chat socket with a reader that keeps draining it (so pings get their pongs while
    the socket waits) and hands on the text frames."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._frames: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self._frames.put_nowait(json.loads(message.data))
        finally:
            self._frames.put_nowait(None)

    async def frame(self, types: tuple[str, ...]) -> dict[str, Any]:
        """The next frame of one of ``types`` (the echo server answers with the frame sent)."""
        async with asyncio.timeout(STEP_SECONDS):
            while True:
                frame = await self._frames.get()
                if frame is None:
                    raise ConnectionError(f"socket ended ({self.ws.close_code})")
                if frame.get("type") in types:
                    return frame
                if frame.get("type") == "error":
                    raise RuntimeError(f"error frame: {frame}")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader


_CHAT_ERRORS = (OSError, aiohttp.ClientError, TimeoutError, ConnectionError, RuntimeError)


async def chat_sessions(url: str, pid: int, sessions: int, fd_limit: int) -> ChatRun:
    """Opens ``sessions`` chat sockets (start, started), reads the server's RSS, then has each
    send one message and wait for its ack, reads it again, and closes them all. Both this
    process and the server hold one descriptor per socket: with too few, fewer are opened."""
    run = ChatRun(sessions)
    if sessions > fd_limit - FD_RESERVE:
        sessions = max(0, fd_limit - FD_RESERVE)
        run.open_failures.append(f"capped at {sessions}: RLIMIT_NOFILE {fd_limit} less {FD_RESERVE} kept free")
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=None, connect=STEP_SECONDS, sock_connect=STEP_SECONDS)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def session_once(n: int) -> None:
            chat = _Chat(await client.ws_connect(url))
            try:
                await chat.ws.send_json({"type": "start", "name": f"Warm-up {n}"})
                await chat.frame(("started", "start"))
                await chat.ws.send_json({"type": "message", "client_id": f"warm{n}", "body": "hello"})
                await chat.frame(("ack", "message"))
            finally:
                await chat.close()

        # Warm-up, untimed and closed before the baseline.
        warm = await bounded(CHAT_WARMUP, 8, session_once)
        if warm.done != CHAT_WARMUP:
            raise RuntimeError(f"chat warm-up: {warm.done} of {CHAT_WARMUP} sessions in {warm.seconds:.0f} s")
        await asyncio.sleep(1.0)
        run.rss_before_kb = rss_kb(pid)

        chats: list[_Chat] = []
        stop_opening = False

        async def open_one(n: int) -> None:
            nonlocal stop_opening
            if stop_opening:
                return
            try:
                chat = _Chat(await client.ws_connect(url))
            except _CHAT_ERRORS as exc:
                # Out of file descriptors (here or there), or the server takes no more.
                run.open_failures.append(f"connect: {type(exc).__name__}: {exc}")
                stop_opening = True
                return
            chats.append(chat)
            try:
                await chat.ws.send_json({"type": "start", "name": f"Visitor {n}"})
                await chat.frame(("started", "start"))
            except _CHAT_ERRORS as exc:
                run.open_failures.append(f"start: {type(exc).__name__}: {exc}")
                stop_opening = True

        try:
            run.open_seconds = (await bounded(sessions, CHAT_IN_FLIGHT, open_one)).seconds
            started = [chat for chat in chats if not chat.ws.closed]
            run.opened = len(started)
            run.rss_started_kb = rss_kb(pid)

            async def say(n: int) -> None:
                chat = started[n]
                await chat.ws.send_json({"type": "message", "client_id": f"m{n}", "body": f"Hello, I am visitor {n}."})
                await chat.frame(("ack", "message"))
                run.acked += 1

            async def say_or_note(n: int) -> None:
                try:
                    await say(n)
                except _CHAT_ERRORS as exc:
                    run.open_failures.append(f"message: {type(exc).__name__}: {exc}")

            said = await bounded(len(started), CHAT_IN_FLIGHT, say_or_note)
            run.messages = dataclasses.replace(said, done=run.acked)
            # Acked means committed; give the queue bookkeeping a moment before reading RSS.
            await asyncio.sleep(1.0)
            run.rss_after_kb = rss_kb(pid)
            # Sessions still open at once after every message, the figure RSS is divided by.
            run.opened = sum(1 for chat in started if not chat.ws.closed)
        finally:
            async with asyncio.timeout(PHASE_SECONDS):
                await asyncio.gather(*(chat.close() for chat in chats), return_exceptions=True)
    return run
