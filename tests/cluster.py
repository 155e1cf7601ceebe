"""Three instances of the service behind a real HAProxy, run on ``config/haproxy.cfg`` as
it is: ``serve`` processes on the test's configuration, each on its own ports
(``--port``, ``--smtp-port``), and what the cluster tests do through it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Executable, Row

from storage.database import create_engine
from tests.served import serving
from tests.services import free_ports, haproxy
from tests.support import PASSWORDS, twilio_signature

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = 3


@asynccontextmanager
async def balancer(ports: dict[str, int], tmp_path: Path) -> AsyncIterator[subprocess.Popen[bytes]]:
    """HAProxy on the repository's file, its addresses from the environment, once it
    listens. Its own two ports are chosen here, just before it binds them, and chosen
    again if one was taken meanwhile (HAProxy exits): the instances' outgoing
    connections draw their ports from the same range."""
    for _ in range(3):
        ports["CLUSTER_HTTP_PORT"], ports["CLUSTER_SMTP_PORT"] = free_ports(2)
        env = {**os.environ, **{name: str(port) for name, port in ports.items()}}
        with (tmp_path / "haproxy.log").open("ab") as log:
            process = subprocess.Popen(
                [haproxy(), "-f", str(ROOT / "config" / "haproxy.cfg"), "-db"], env=env, stdout=log, stderr=log
            )
        if await listening(process, ports["CLUSTER_HTTP_PORT"], ports["CLUSTER_SMTP_PORT"]):
            break
    else:
        raise AssertionError("HAProxy could not bind its ports (see haproxy.log)")
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


async def listening(process: subprocess.Popen[bytes], *ports: int) -> bool:
    """Whether ``process`` comes to accept connections on every one of ``ports``, rather
    than exiting (HAProxy listens on its first port before it finds the next one taken)."""
    waiting = list(ports)
    while waiting and process.poll() is None:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", waiting[0])
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        await writer.wait_closed()
        waiting.pop(0)
    return not waiting


async def sockets_held(session: aiohttp.ClientSession, port: int) -> float:
    """The agents' WebSockets an instance holds, from its own /metrics."""
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ic_websocket_connections" and sample.labels.get("kind") == "agent":
                return sample.value
    return 0.0


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


@dataclass
class Cluster:
    ports: dict[str, int]
    instances: list[subprocess.Popen[bytes]]
    session: aiohttp.ClientSession
    ready: Callable[[], Awaitable[bool]]
    _stack: AsyncExitStack
    _tmp_path: Path

    async def start(self, number: int) -> None:
        """Instance ``number`` (1 to 3) started on its ports (again, after it stopped)."""
        http, smtp = self.ports[f"INSTANCE{number}_HTTP_PORT"], self.ports[f"INSTANCE{number}_SMTP_PORT"]
        options = ("--port", str(http), "--smtp-port", str(smtp))
        started = await self._stack.enter_async_context(serving(self._tmp_path, http, *options, log=f"i{number}.log"))
        if len(self.instances) < number:
            self.instances.append(started)
        else:
            self.instances[number - 1] = started

    async def stop(self, number: int, how: signal.Signals = signal.SIGKILL, timeout: float = 10) -> None:
        """Instance ``number`` sent ``how`` and waited for, off the event loop: a stop may
        wait on requests to this process (the Twilio stub), which must go on meanwhile."""
        process = self.instances[number - 1]
        process.send_signal(how)
        await asyncio.to_thread(process.wait, timeout)

    @property
    def url(self) -> str:
        """HAProxy's HTTP address: where every client goes."""
        return f"http://127.0.0.1:{self.ports['CLUSTER_HTTP_PORT']}"

    def port(self, number: int) -> int:
        return self.ports[f"INSTANCE{number}_HTTP_PORT"]

    async def login(self, name: str) -> dict[str, str]:
        async with self.session.post(
            f"{self.url}/api/v1/auth/login", json={"username": name, "password": PASSWORDS[name]}
        ) as response:
            assert response.status == 200, await response.text()
            return {"Authorization": f"Bearer {(await response.json())['token']}"}

    async def available(self, headers: dict[str, str]) -> None:
        """The agent sets themselves available, through HAProxy."""
        body = {"status": "available"}
        async with self.session.put(f"{self.url}/api/v1/agents/me/status", json=body, headers=headers) as response:
            assert response.status == 200, await response.text()

    async def webhook(self, path: str, form: dict[str, str], base: str | None = None, attempts: int = 1) -> str:
        """A Twilio webhook signed as Twilio signs it, posted to ``base`` (HAProxy unless
        one instance is named); its answer. Up to ``attempts`` times while it fails, as
        Twilio retries (a retry is a duplicate the service knows)."""
        headers = {"X-Twilio-Signature": twilio_signature(path, form)}
        for attempt in range(attempts):
            try:
                async with self.session.post((base or self.url) + path, data=form, headers=headers) as response:
                    answer = await response.text()
                    if response.status in (200, 204):
                        return answer
            except aiohttp.ClientError as error:
                answer = str(error)
            if attempt + 1 < attempts:
                await asyncio.sleep(0.2)
        raise AssertionError(f"{path} answered {answer!r} {attempts} times")

    async def socket(self, headers: dict[str, str]) -> aiohttp.ClientWebSocketResponse:
        """An agent's socket through HAProxy, past its hello."""
        socket = await self.session.ws_connect(f"{self.url}/api/v1/ws", headers=headers)
        assert (await socket.receive_json(timeout=5))["type"] == "hello"
        return socket


@asynccontextmanager
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    """Three ``serve`` processes on the test's configuration, behind HAProxy, once it
    answers ``/readyz``."""
    names = [f"INSTANCE{number}_{kind}_PORT" for number in range(1, INSTANCES + 1) for kind in ("HTTP", "SMTP")]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    async with AsyncExitStack() as stack:
        connector = aiohttp.TCPConnector(limit=0)
        session = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
        proxy: subprocess.Popen[bytes] | None = None

        async def ready() -> bool:
            assert proxy is not None and proxy.poll() is None, "HAProxy exited (see haproxy.log)"
            try:
                async with session.get(f"{made.url}/readyz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        made = Cluster(ports, [], session, ready, stack, tmp_path)
        # One after the other: each seeds the roster in the shared database as it starts.
        for number in range(1, INSTANCES + 1):
            await made.start(number)
        proxy = await stack.enter_async_context(balancer(ports, tmp_path))
        await until(ready, "HAProxy answers /readyz")
        yield made


async def next_of(socket: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            frame: dict[str, Any] = await socket.receive_json()
            if frame["type"] == kind:
                return frame


def shared_state(redis_url: str, lease_seconds: float = 1) -> str:
    """The [redis] lines of a cluster of its own on the test's Redis, whose instances are
    found gone ``lease_seconds`` after they stop renewing their leases."""
    return f'url = "{redis_url}"\nprefix = "test:{uuid.uuid4().hex}:"\nlease_seconds = {lease_seconds}'


async def read(database_url: str, query: Executable) -> list[Row[Any]]:
    """The rows of ``query`` on the cluster's database, read as another process would."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return list(await connection.execute(query))
    finally:
        await engine.dispose()
