"""The real service for ``bench.workspace``, in its own process on the seeded database,
and the desks that ask it: each agent logs in once (``POST /api/v1/auth/login``) and
sends its requests with its bearer token, one at a time, each timed from sending to its
whole answer read."""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.processes import free_port, log_summary, start_service, stop, wait_port, wait_ready
from bench.service_config import config_file
from bench.workspace_inputs import Sample

# What the service wrote to stderr: counted after each run (the log goes with its folder).
SERVER_LOGS: list[str] = []


@dataclass
class Service:
    base: str
    pid: int


@dataclass
class Timed:
    ms: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    kb: list[float] = field(default_factory=list)  # the size of each answer
    failures: list[str] = field(default_factory=list)


def _config(directory: Path, database: Path, http_port: int, smtp_port: int) -> Path:
    queues = "".join(
        f'[queues.{queue}]\nchannels = ["sms", "email", "chat"]\n'
        f"[queues.{queue}.sla.sms]\nanswer_seconds = 300\n[queues.{queue}.sla.email]\nanswer_seconds = 3600\n"
        f"[queues.{queue}.sla.chat]\nanswer_seconds = 120\n"
        for queue in ("support", "sales")
    )
    return config_file(directory, database, http_port, queues, smtp_port=smtp_port)


@contextlib.asynccontextmanager
async def running_service(database: Path) -> AsyncIterator[Service]:
    with tempfile.TemporaryDirectory(prefix="ic-bench-workspace-") as tmp:
        directory = Path(tmp)
        http_port, smtp_port = free_port(), free_port()
        config = _config(directory, database, http_port, smtp_port)
        log = directory / "server.log"
        with log.open("wb") as out:
            server = start_service(config, out)
        try:
            base = f"http://127.0.0.1:{http_port}"
            await wait_port(http_port, server, seconds=300.0)
            await wait_ready(base, "/readyz", seconds=300.0)
            yield Service(base, server.pid)
        finally:
            stop(server)
            SERVER_LOGS.extend(log_summary(log.read_text(errors="replace")))


async def log_in(base: str, usernames: list[str], password: str) -> dict[str, str]:
    """username -> bearer token."""
    tokens: dict[str, str] = {}
    async with aiohttp.ClientSession() as session:
        for username in usernames:
            async with session.post(
                f"{base}/api/v1/auth/login", json={"username": username, "password": password}
            ) as response:
                body = await response.json()
                if response.status != 200:
                    raise RuntimeError(f"login of {username}: {response.status} {body}")
                tokens[username] = str(body["token"])
    return tokens


def found(operation: str, body: dict[str, Any]) -> int:
    """How many results an answer holds, as the bare side counts them."""
    if operation == "work":
        return len(body["offered"]) + len(body["assigned"]) + len(body["recent"])
    if operation.startswith("timeline"):
        return len(body["interactions"])
    return len(body["customers"])


async def timed(base: str, operation: str, samples: list[Sample], tokens: dict[str, str]) -> Timed:
    """Each sample's request, one after the other on one kept-alive connection."""
    result = Timed()
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        for sample in samples:
            headers = {"Authorization": f"Bearer {tokens[sample.agent]}"}
            started = time.perf_counter()
            async with session.get(base + sample.path, headers=headers) as response:
                raw = await response.read()
            result.ms.append((time.perf_counter() - started) * 1000)
            result.kb.append(len(raw) / 1024)
            if response.status != 200:
                result.failures.append(f"{sample.path}: {response.status} {raw[:200]!r}")
                result.counts.append(-1)
                continue
            result.counts.append(found(operation, json.loads(raw)))
    return result
