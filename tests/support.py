"""Helpers the tests share: a configuration on disk, Twilio-signed webhooks, agent logins."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientResponse, ClientWebSocketResponse, WSMsgType, web
from aiohttp.test_utils import TestClient
from multidict import MultiDict
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from channels.sms.webhook import contact_from_form
from interaction_center.dispatch.consumer import LogConsumer
from interaction_center.domain.model import Channel, IdentityKind, InboundContact
from interaction_center.settings.loader import load_settings
from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from storage import events
from storage.models import InteractionEvent

AUTH_TOKEN = "test-auth-token"
ACCOUNT_SID = "AC" + "1" * 32
OUR_NUMBER = "+15005550006"
# What Twilio is configured to call: a public name in front of the loopback test server.
PUBLIC_BASE = "https://ic.example.test"
PASSWORDS = {"alice": "alice-pass", "bob": "bob-pass", "carol": "carol-pass", "sam": "sam-pass", "ada": "ada-pass"}
# An admin, for the tests of admins' calls: settings_factory(top=ADMIN).
ADMIN = f"""
[[agents]]
username = "ada"
role = "admin"
password = "{PASSWORDS["ada"]}"
"""

# A client of the service on loopback, and the fixture that starts one per settings.
Client = TestClient[web.Request, web.Application]
AppFactory = Callable[[Settings], Awaitable[Client]]


def write_settings(
    tmp_path: Path,
    database_url: str,
    twilio_api: str,
    offer_timeout: float = 30.0,
    tick: float = 0.05,
    port: int = 0,
    answer_seconds: int = 120,
    first_response_seconds: int = 600,
    support: str = "",
    routing: str = "",
    smtp: str = "",
    support_channels: str = '["sms"]',
    sales_channels: str = '["sms"]',
    channels: str = "",
    top: str = "",
    twilio: str = "",
    redis: str = "",
) -> Settings:
    """``support``, ``routing``, ``smtp`` and ``redis`` are extra TOML lines for
    [queues.support], [routing], [smtp] (where ``domains`` turns the SMTP server on, on a
    free port) and [redis];
    ``channels`` more [channels.NAME] sections; ``top`` more sections at the end ([voice]);
    ``twilio`` more [twilio] keys."""
    path = tmp_path / "interaction-center.toml"
    path.write_text(
        f"""
skills = ["billing", "spanish"]
[http]
port = {port}
public_base_url = "{PUBLIC_BASE}"
[smtp]
port = 0
{smtp}
[database]
url = "{database_url}"
[redis]
{redis}
[twilio]
account_sid = "{ACCOUNT_SID}"
auth_token = "{AUTH_TOKEN}"
phone_number = "{OUR_NUMBER}"
api_base_url = "{twilio_api}"
{twilio}
[routing]
offer_timeout_seconds = {offer_timeout}
tick_seconds = {tick}
{routing}
[channels.sms]
queue = "support"
{channels}
[queues.support]
channels = {support_channels}
{support}
[queues.support.sla.sms]
answer_seconds = {answer_seconds}
first_response_seconds = {first_response_seconds}
[queues.sales]
channels = {sales_channels}
[[agents]]
username = "alice"
queues = ["support"]
password = "{PASSWORDS["alice"]}"
[[agents]]
username = "bob"
queues = ["support"]
password = "{PASSWORDS["bob"]}"
[[agents]]
username = "carol"
queues = ["sales"]
password = "{PASSWORDS["carol"]}"
[[agents]]
username = "sam"
role = "supervisor"
password = "{PASSWORDS["sam"]}"
{top}
"""
    )
    return load_settings(path, environ={})


def sms_form(sender: str = "+15551230001", body: str = "Hello, I need help", sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": OUR_NUMBER,
        "Body": body,
        "NumSegments": "1",
        "NumMedia": "0",
    }


def sms(sender: str = "+15551230001", body: str = "Hello") -> InboundContact:
    """An inbound SMS as the webhook makes it, for tests that take contacts in directly."""
    return contact_from_form(MultiDict(sms_form(sender=sender, body=body)), "US")


def mail(external_id: str, replies_to: tuple[str, ...] = ()) -> InboundContact:
    return InboundContact(
        channel=Channel.EMAIL,
        external_id=external_id,
        identity_kind=IdentityKind.EMAIL,
        from_address="jane@customer.test",
        to_address="support@example.com",
        body=f"mail {external_id}",
        # Every mail a thread of its own: only replies_to ties a reply to its mail.
        thread_key=f"email:{external_id}",
        replies_to=replies_to,
    )


def twilio_signature(path: str, form: dict[str, str], token: str = AUTH_TOKEN, base: str = PUBLIC_BASE) -> str:
    """Twilio's signature of a webhook to ``path`` under ``base``, the URL the service checks."""
    signature: str = RequestValidator(token).compute_signature(base + path, form)
    return signature


async def post_sms(client: Client, form: dict[str, str], signature: str | None = None) -> ClientResponse:
    headers = {
        "X-Twilio-Signature": signature if signature is not None else twilio_signature("/twilio/sms", form),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    response = await client.post("/twilio/sms", data=urlencode(form), headers=headers)
    await routed(client)
    return response


async def routed(client: TestClient[Any, Any]) -> None:
    """Wait until routing has read every event committed so far (and made its offers):
    it reads them after the sender's answer, so a test that looks next would race it."""
    services = client.app[SERVICES]
    last_queued = select(func.coalesce(func.max(InteractionEvent.seq), 0)).where(InteractionEvent.type == "queued")
    head = await services.writer.run(lambda conn: int(conn.execute(last_queued).scalar_one()))
    await _read_past(services.feed, head)


async def counted(client: Client) -> None:
    """Wait until the statistics have counted every event committed so far: the day's
    figures are counted from the log a moment after each event."""
    services = client.app[SERVICES]
    head = await services.writer.run(lambda conn: events.head(conn, events.INTERACTIONS))
    await _read_past(services.counting, head)


async def pushed(client: Client) -> None:
    """Wait until the agents' pushes have gone out for every event committed so far."""
    services = client.app[SERVICES]
    head = await services.writer.run(lambda conn: events.head(conn, events.INTERACTIONS))
    await _read_past(services.pushes.reader, head)


async def _read_past(consumer: LogConsumer[Any], head: int) -> None:
    for _ in range(1000):
        if consumer.reached >= head:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"consumer {consumer.name} did not reach event {head}")


async def queue_figures(client: Client, headers: dict[str, str], queue: str, channel: str) -> dict[str, Any]:
    """One queue and channel's row of ``GET /api/v1/queues``."""
    rows = (await (await client.get("/api/v1/queues", headers=headers)).json())["queues"]
    [row] = [r for r in rows if (r["queue"], r["channel"]) == (queue, channel)]
    return dict(row)


async def agent_id(client: Client, headers: dict[str, str]) -> str:
    return str((await (await client.get("/api/v1/agents/me", headers=headers)).json())["id"])


async def login(client: Client, username: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORDS[username]})
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def set_status(client: Client, headers: dict[str, str], status: str) -> None:
    response = await client.put("/api/v1/agents/me/status", json={"status": status}, headers=headers)
    assert response.status == 200, await response.text()


async def next_frame(socket: ClientWebSocketResponse, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next frame of the given type, skipping others (status pushes and the like)."""
    while True:
        frame = await socket.receive_json(timeout=timeout)
        if frame["type"] == kind:
            return dict(frame)


async def closed_with(socket: ClientWebSocketResponse) -> tuple[int, str]:
    """The close code and reason a socket gets, past whatever frames were on their way."""
    while (message := await socket.receive(timeout=5)).type is WSMsgType.TEXT:
        pass
    assert message.type is WSMsgType.CLOSE, message
    return int(message.data), str(message.extra)


async def still_open(socket: ClientWebSocketResponse) -> None:
    await socket.send_str('{"type":"ping"}')
    assert (await next_frame(socket, "pong"))["type"] == "pong"


async def offered(client: Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The caller's open offers (interactions, each with its ``offer``)."""
    await routed(client)
    return list((await (await client.get("/api/v1/offers", headers=headers)).json())["offers"])


async def accept_first(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    [offer] = await offered(client, headers)
    response = await client.post(f"/api/v1/offers/{offer['offer']['id']}/accept", headers=headers)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def interaction(client: Client, headers: dict[str, str], interaction_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/interactions/{interaction_id}", headers=headers)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def stop_tasks(*tasks: asyncio.Task[Any]) -> None:
    """The tasks cancelled and waited for, 10 s at most, as a stopping service waits for its
    own (``TASK_STOP_SECONDS``): redis-py can leave a task cancelled in the middle of a
    command waiting for ever (its read's reply came, and it is never woken), which must not
    hang the test that stops it."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=10)
