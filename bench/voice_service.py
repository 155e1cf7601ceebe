"""The real service for ``bench.voice``: one fresh instance in its own process (SQLite in a
temporary folder) with the phone on ([voice], the flow ``FLOW`` of tests/voice/support.py
answering our number, support taking calls), and what it holds once a run is over."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.processes import free_port, log_summary, start_service, stop, wait_port, wait_ready
from bench.service_config import config_file

ACCOUNT_SID = "AC" + "0" * 32
SUPERVISOR = ("sam", "sam-bench-pw")
# What each service instance wrote to stderr (the log is deleted with its folder).
SERVER_LOGS: list[str] = []

# The voice tests' flow: welcome, a menu (1 sales, 2 an account number), the account
# collected (eight digits), a lookup, the hours check, a queue.
FLOW = (Path(__file__).parent.parent / "tests" / "voice" / "flow.toml").read_text()


@dataclass
class Service:
    base: str
    pid: int
    database: Path


def _config(directory: Path, http_port: int) -> Path:
    (directory / "flows").mkdir()
    (directory / "flows" / "main.toml").write_text(FLOW)
    # No Twilio account: nothing is dialled out (no agent takes a call here anyway). No
    # [queues.support.hours]: always open. The wait policy is the service's default but
    # for max_wait_seconds, the demo's (a caller past it would leave the queue).
    rest = f"""[voice]
flows = "flows"
default_flow = "main"
[queues.support]
channels = ["sms", "voice"]
max_size = 1000000
[queues.support.sla.sms]
answer_seconds = 3600
[queues.support.sla.voice]
answer_seconds = 3600
[queues.support.voice]
max_wait_seconds = 900
[[agents]]
username = "{SUPERVISOR[0]}"
role = "supervisor"
queues = []
password = "{SUPERVISOR[1]}"
"""
    return config_file(directory, directory / "bench.db", http_port, rest)


@contextlib.asynccontextmanager
async def running_service() -> AsyncIterator[Service]:
    with tempfile.TemporaryDirectory(prefix="ic-bench-voice-") as tmp:
        directory = Path(tmp)
        http_port = free_port()
        config = _config(directory, http_port)
        log = directory / "server.log"
        with log.open("wb") as out:
            server = start_service(config, out)
        try:
            base = f"http://127.0.0.1:{http_port}"
            await wait_port(http_port, server)
            await wait_ready(base, "/readyz", seconds=30.0)
            yield Service(base, server.pid, directory / "bench.db")
        finally:
            stop(server)
            SERVER_LOGS.extend(log_summary(log.read_text(errors="replace")))


@dataclass(frozen=True)
class Held:
    """What the service holds of the calls once a run is over."""

    calls: int  # voice_calls rows
    queued_calls: int  # of them, in phase "queued"
    queued_interactions: int  # voice interactions in state "queued"
    waiting: int  # the routing engine's live figure, GET /api/v1/queues


def _count(database: Path) -> tuple[int, int, int]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as db:
        calls, queued = db.execute("SELECT count(*), coalesce(sum(phase = 'queued'), 0) FROM voice_calls").fetchone()
        (interactions,) = db.execute(
            "SELECT count(*) FROM interactions WHERE channel = 'voice' AND state = 'queued'"
        ).fetchone()
    return int(calls), int(queued), int(interactions)


async def held(service: Service) -> Held:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{service.base}/api/v1/auth/login", json={"username": SUPERVISOR[0], "password": SUPERVISOR[1]}
        ) as response:
            token = (await response.json())["token"]
        async with session.get(
            f"{service.base}/api/v1/queues", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            stats = (await response.json())["queues"]
    waiting = sum(s["waiting"] for s in stats if s["queue"] == "support" and s["channel"] == "voice")
    calls, queued, interactions = await asyncio.to_thread(_count, service.database)
    return Held(calls, queued, interactions, waiting)
