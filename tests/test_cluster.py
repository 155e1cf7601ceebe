"""Several instances behind a real HAProxy, run on ``config/haproxy.cfg`` as it is: three
``serve`` processes on one PostgreSQL, each on its own ports (``--port``,
``--smtp-port``). Agents' WebSockets upgrade through it and spread over the instances,
mail goes through in TCP mode, and an instance killed mid-way is taken out by the health
checks on ``/readyz`` while the others go on answering.

(Routing across instances needs the Redis routing backend; this checks the plumbing an
operator sets up, which does not depend on it.)"""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from interaction_center.settings.model import Settings
from storage.database import create_engine
from storage.models import Interaction
from tests.served import serving
from tests.services import free_port, haproxy
from tests.support import PASSWORDS

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = 3

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@asynccontextmanager
async def balancer(ports: dict[str, int], tmp_path: Path) -> AsyncIterator[subprocess.Popen[bytes]]:
    """HAProxy on the repository's file, its addresses from the environment."""
    env = {**os.environ, **{name: str(port) for name, port in ports.items()}}
    with (tmp_path / "haproxy.log").open("ab") as log:
        process = subprocess.Popen(
            [haproxy(), "-f", str(ROOT / "config" / "haproxy.cfg"), "-db"], env=env, stdout=log, stderr=log
        )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


async def sockets_held(session: aiohttp.ClientSession, port: int) -> float:
    """The agents' WebSockets an instance holds, from its own /metrics."""
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ic_websocket_connections" and sample.labels.get("kind") == "agent":
                return sample.value
    return 0.0


def send_mail(port: int, subject: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "jane@customer.test", "support@example.test", subject
    message.set_content("Where is my order?")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


async def mails_stored(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(Interaction.id).where(Interaction.channel == "email"))
            return len(rows.all())
    finally:
        await engine.dispose()


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def dropped(socket: aiohttp.ClientWebSocketResponse) -> bool:
    """Whether the socket's connection ended (its instance died) within a few seconds."""
    try:
        message = await socket.receive(timeout=3)
    except TimeoutError:
        return False
    return message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)


async def test_three_instances_behind_haproxy_share_the_work_and_one_killed_is_taken_out(
    tmp_path: Path, settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory(smtp='domains = ["example.test"]', support_channels='["sms", "email"]')
    ports = {"CLUSTER_HTTP_PORT": free_port(), "CLUSTER_SMTP_PORT": free_port()}
    for number in range(1, INSTANCES + 1):
        ports[f"INSTANCE{number}_HTTP_PORT"], ports[f"INSTANCE{number}_SMTP_PORT"] = free_port(), free_port()
    lb = f"http://127.0.0.1:{ports['CLUSTER_HTTP_PORT']}"

    async with AsyncExitStack() as stack:
        instances = []
        # One after the other: each seeds the roster in the shared database as it starts.
        for number in range(1, INSTANCES + 1):
            http, smtp = ports[f"INSTANCE{number}_HTTP_PORT"], ports[f"INSTANCE{number}_SMTP_PORT"]
            options = ("--port", str(http), "--smtp-port", str(smtp))
            instances.append(await stack.enter_async_context(serving(tmp_path, http, *options, log=f"i{number}.log")))
        proxy = await stack.enter_async_context(balancer(ports, tmp_path))
        session = await stack.enter_async_context(aiohttp.ClientSession())

        async def ready() -> bool:
            assert proxy.poll() is None, "HAProxy exited (see haproxy.log)"
            try:
                async with session.get(f"{lb}/readyz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await until(ready, "HAProxy answers /readyz")
        # Three agents' sockets through HAProxy: one on each instance (least connections
        # first), each told its hello.
        sockets = []
        for name in ("alice", "bob", "carol"):
            async with session.post(
                f"{lb}/api/v1/auth/login", json={"username": name, "password": PASSWORDS[name]}
            ) as response:
                assert response.status == 200, await response.text()
                token = (await response.json())["token"]
            socket = await session.ws_connect(f"{lb}/api/v1/ws", headers={"Authorization": f"Bearer {token}"})
            assert (await socket.receive_json(timeout=5))["type"] == "hello"
            sockets.append(socket)
        held = [await sockets_held(session, ports[f"INSTANCE{n}_HTTP_PORT"]) for n in range(1, INSTANCES + 1)]
        assert held == [1.0, 1.0, 1.0]

        # Mail in through HAProxy's TCP mode, stored once.
        await asyncio.to_thread(send_mail, ports["CLUSTER_SMTP_PORT"], "Order 42")

        async def mails(count: int) -> bool:
            return await mails_stored(settings.database.url) >= count

        await until(lambda: mails(1), "the mail is stored")
        assert await mails_stored(settings.database.url) == 1

        # The first instance dies: its agent's socket drops and connects again through
        # HAProxy to another; every request and mail meanwhile is answered by the others.
        instances[0].send_signal(signal.SIGKILL)
        instances[0].wait(timeout=10)
        assert sorted(await asyncio.gather(*map(dropped, sockets))) == [False, False, True]
        for _ in range(40):
            assert await ready()
            await asyncio.sleep(0.05)
        await asyncio.to_thread(send_mail, ports["CLUSTER_SMTP_PORT"], "Order 43")
        async with session.post(
            f"{lb}/api/v1/auth/login", json={"username": "alice", "password": PASSWORDS["alice"]}
        ) as response:
            token = (await response.json())["token"]
        again = await session.ws_connect(f"{lb}/api/v1/ws", headers={"Authorization": f"Bearer {token}"})
        assert (await again.receive_json(timeout=5))["type"] == "hello"
        await until(lambda: mails(2), "the second mail is stored")
        assert await mails_stored(settings.database.url) == 2
        for socket in [*sockets, again]:
            await socket.close()
