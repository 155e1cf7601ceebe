"""The real service for ``bench.intake``: one fresh instance in its own process (SQLite in a
temporary folder) with AGENTS agents at work (``bench.agents``), what it stored once a
run is over, and the timed phases that drive it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.agents import AgentsProcess, Tally, at_work, roster
from bench.processes import free_port, log_summary, start_service, stop, wait_port, wait_ready
from bench.service_config import config_file

SUPERVISOR = ("sam", "sam-bench-pw")
# Every phase is bounded in time as well as in count: with agents at work, generously.
PHASE_SECONDS = 300.0
STEP_SECONDS = 30.0
# Agents online, and each one's slots per channel: enough that every contact is offered
# as it comes, none held back for want of a free agent.
AGENTS = 20
AGENT_CAPACITY = 50
# What each service instance wrote to stderr (the log is deleted with its folder).
SERVER_LOGS: list[str] = []


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Service:
    base: str
    smtp_port: int
    pid: int
    database: Path
    log: Path
    agents: AgentsProcess


def _config(directory: Path, http_port: int, smtp_port: int) -> Path:
    capacity = ", ".join(f"{channel} = {AGENT_CAPACITY}" for channel in ("sms", "email", "chat"))
    agents = "".join(
        f'[[agents]]\nusername = "{username}"\nqueues = ["support"]\npassword = "{password}"\n'
        f"capacity = {{ {capacity} }}\n"
        for username, password in roster(AGENTS)
    )
    rest = f"""[routing]
offer_timeout_seconds = 3600
[channels.sms]
queue = "support"
[channels.email]
queue = "support"
[channels.chat]
queue = "support"
abandon_after_seconds = 3600
[queues.support]
channels = ["sms", "email", "chat"]
max_size = 1000000
[queues.support.sla.sms]
answer_seconds = 3600
[queues.support.sla.email]
answer_seconds = 3600
[queues.support.sla.chat]
answer_seconds = 3600
[[agents]]
username = "{SUPERVISOR[0]}"
role = "supervisor"
queues = []
password = "{SUPERVISOR[1]}"
{agents}"""
    return config_file(
        directory, directory / "bench.db", http_port, rest, smtp_port=smtp_port, smtp="acknowledge = false\n"
    )


@contextlib.asynccontextmanager
async def running_service() -> AsyncIterator[Service]:
    with tempfile.TemporaryDirectory(prefix="ic-bench-intake-") as tmp:
        directory = Path(tmp)
        http_port, smtp_port = free_port(), free_port()
        config = _config(directory, http_port, smtp_port)
        log = directory / "server.log"
        with log.open("wb") as out:
            server = start_service(config, out)
        try:
            base = f"http://127.0.0.1:{http_port}"
            await wait_port(http_port, server)
            await wait_port(smtp_port, server)
            await wait_ready(base, "/readyz", seconds=30.0)
            async with at_work(base, AGENTS) as agents:
                yield Service(base, smtp_port, server.pid, directory / "bench.db", log, agents)
        finally:
            stop(server)
            SERVER_LOGS.extend(log_summary(log.read_text(errors="replace")))


@dataclass
class Stored:
    """What the service holds once a channel's run is over."""

    interactions: int
    messages: int
    completed: int
    waiting: int  # the routing engine's live figure, GET /api/v1/queues
    agents: Tally


def _count(database: Path, channel: str) -> tuple[int, int, int]:
    """(interactions, their messages, interactions completed) of the channel."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)) as db:
        interactions, completed = db.execute(
            "SELECT count(*), coalesce(sum(state = 'completed'), 0) FROM interactions WHERE channel = ?", (channel,)
        ).fetchone()
        (messages,) = db.execute(
            "SELECT count(*) FROM messages m JOIN interactions i ON i.id = m.interaction_id WHERE i.channel = ?",
            (channel,),
        ).fetchone()
    return int(interactions), int(messages), int(completed)


async def stored_after(service: Service, channel: str, sent: int) -> Stored:
    """Once the agents have completed the ``sent`` contacts (or PHASE_SECONDS have passed)."""
    deadline = time.monotonic() + PHASE_SECONDS
    while (await asyncio.to_thread(_count, service.database, channel))[2] < sent and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    agents = await service.agents.finish()
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{service.base}/api/v1/auth/login", json={"username": SUPERVISOR[0], "password": SUPERVISOR[1]}
        ) as response:
            token = (await response.json())["token"]
        async with session.get(
            f"{service.base}/api/v1/queues", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            stats = (await response.json())["queues"]
    waiting = sum(s["waiting"] for s in stats if s["queue"] == "support" and s["channel"] == channel)
    interactions, messages, completed = await asyncio.to_thread(_count, service.database, channel)
    return Stored(interactions, messages, completed, waiting, agents)


@dataclass(frozen=True)
class Window:
    """A timed phase: calls completed, from when to when (time.monotonic, which the agents'
    process reads too)."""

    done: int
    started: float
    ended: float

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def rate(self, agents: Tally | None = None) -> float:
        """Calls per second until the phase's end or, if later, the agents' last completion."""
        until = self.ended if agents is None else max(self.ended, agents.last_completed_at)
        return self.done / (until - self.started)


async def bounded(count: int, in_flight: int, one: Callable[[int], Awaitable[None]]) -> Window:
    """Runs ``one(0..count-1)`` with at most ``in_flight`` at once, for at most PHASE_SECONDS."""
    next_index = 0
    completed = 0

    async def worker() -> None:
        nonlocal next_index, completed
        while next_index < count:
            index = next_index
            next_index += 1
            await one(index)
            completed += 1

    start = time.monotonic()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(PHASE_SECONDS):
            await asyncio.gather(*(worker() for _ in range(in_flight)))
    return Window(completed, start, time.monotonic())
