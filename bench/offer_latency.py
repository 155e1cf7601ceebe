"""Contact-to-offer latency: from sending a signed SMS webhook to receiving the offer frame
on the agent's WebSocket, at a steady rate, against the real service in its own process
(SQLite, in-memory routing). The ceiling, measured the same way by the same client in the
same run: a bare aiohttp app in its own process too (``bench.intake_bare offer``), whose
form handler pushes one frame to a connected WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator

from bench.processes import bare_server, clean_env, free_port, stop, wait_ready

TOKEN = "bench-auth-token"
PUBLIC = "http://bench.example"
OUR_NUMBER = "+15005550006"


def _config(directory: Path, port: int, agents: int, capacity: int, database_url: str) -> Path:
    roster = "".join(
        f'[[agents]]\nusername = "agent{n}"\nqueues = ["support"]\npassword = "pw{n}"\n'
        f"capacity = {{ sms = {capacity} }}\n"
        for n in range(agents)
    )
    path = directory / "bench.toml"
    path.write_text(
        f"""
[http]
port = {port}
public_base_url = "{PUBLIC}"
[database]
url = "{database_url or f"sqlite:///{directory}/bench.db"}"
[twilio]
auth_token = "{TOKEN}"
phone_number = "{OUR_NUMBER}"
[routing]
offer_timeout_seconds = 3600
[channels.sms]
queue = "support"
[queues.support]
channels = ["sms"]
[queues.support.sla.sms]
answer_seconds = 60
{roster}"""
    )
    return path


@contextlib.asynccontextmanager
async def _service(agents: int, capacity: int, database_url: str) -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory(prefix="ic-bench-") as tmp:
        directory = Path(tmp)
        port = free_port()
        config = _config(directory, port, agents, capacity, database_url)
        env = clean_env()
        command = [sys.executable, "-m", "interaction_center", "--config", str(config)]
        subprocess.run([*command, "db", "upgrade"], check=True, capture_output=True, env=env)
        with (directory / "server.log").open("wb") as log:
            server = subprocess.Popen([*command, "serve"], env=env, stdout=log, stderr=log)
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_ready(base, "/healthz")
            yield base
        finally:
            stop(server)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _drive(
    session: aiohttp.ClientSession, webhook: str, rate: float, count: int, received: dict[str, float]
) -> dict[str, float]:
    """Send ``count`` signed webhooks at ``rate`` per second; returns send times by sender."""
    validator = RequestValidator(TOKEN)
    sent: dict[str, float] = {}
    start = time.perf_counter()

    async def one(n: int) -> None:
        sender = f"+1555{n:07d}"
        form = {"MessageSid": f"SM{n:032x}", "From": sender, "To": OUR_NUMBER, "Body": f"hello {n}"}
        headers = {
            "X-Twilio-Signature": validator.compute_signature(PUBLIC + "/twilio/sms", form),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        sent[sender] = time.perf_counter()
        async with session.post(webhook, data=urlencode(form), headers=headers) as response:
            assert response.status == 200, await response.text()

    tasks = []
    for n in range(count):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    for _ in range(200):
        if len(received) >= count:
            break
        await asyncio.sleep(0.05)
    return sent


async def _listen(socket_: aiohttp.ClientWebSocketResponse, received: dict[str, float]) -> None:
    async for message in socket_:
        if message.type == aiohttp.WSMsgType.TEXT:
            frame = message.json()
            if frame.get("type") == "offer":
                received[frame["preview"]["from"]] = time.perf_counter()


async def service_latency(rate: float, seconds: float, database_url: str = "", agents: int = 50) -> list[float]:
    """Empty ``database_url``: SQLite in a temporary folder."""
    count = int(rate * seconds)
    capacity = count // agents + 1
    async with _service(agents, capacity, database_url) as base, aiohttp.ClientSession() as session:
        received: dict[str, float] = {}
        listeners = []
        for n in range(agents):
            async with session.post(
                f"{base}/api/v1/auth/login", json={"username": f"agent{n}", "password": f"pw{n}"}
            ) as response:
                headers = {"Authorization": f"Bearer {(await response.json())['token']}"}
            socket_ = await session.ws_connect(f"{base}/api/v1/ws", headers=headers)
            listeners.append(asyncio.create_task(_listen(socket_, received)))
            async with session.put(f"{base}/api/v1/agents/me/status", json={"status": "available"}, headers=headers):
                pass
        sent = await _drive(session, f"{base}/twilio/sms", rate, count, received)
        for task in listeners:
            task.cancel()
    return [(received[k] - sent[k]) * 1000 for k in sent if k in received]


async def bare_latency(rate: float, seconds: float) -> list[float]:
    """The same round trip through a bare aiohttp form handler that pushes one frame."""
    async with bare_server("offer") as (port, _), aiohttp.ClientSession() as session:
        received: dict[str, float] = {}
        socket_ = await session.ws_connect(f"http://127.0.0.1:{port}/ws")
        listener = asyncio.create_task(_listen(socket_, received))
        sent = await _drive(session, f"http://127.0.0.1:{port}/twilio/sms", rate, int(rate * seconds), received)
        listener.cancel()
    return [(received[k] - sent[k]) * 1000 for k in sent if k in received]
