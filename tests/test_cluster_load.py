"""The cluster under load, as the issue's acceptance has it: three instances behind HAProxy
on one PostgreSQL and one Redis take thousands of contacts (SMS webhooks, mail over SMTP,
web chats, all through HAProxy) while fifty agents spread over the instances accept and
complete them; in the middle one instance is killed (SIGKILL) and another restarted.

Each agent's desk is a socket that reconnects through HAProxy from the last log position
it saw, as the desk does; it accepts every offer it hears and completes it a moment later.
Afterwards the event log is checked: every contact became one interaction, accepted once
and completed once; no agent ever held more of a channel than their capacity; every SLA
breach was recorded once; every offer an agent was meant to see (all but those revoked
while their desk was away) reached their desk."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import smtplib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy import select

from interaction_center.settings.model import Settings
from storage.database import create_engine
from storage.models import Agent, Interaction, InteractionEvent
from tests.cluster import Cluster, cluster, shared_state
from tests.support import sms_form, twilio_signature

pytestmark = [
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
    pytest.mark.timeout(1200),
    pytest.mark.soak,
]

CONTACTS = {"sms": 2500, "email": 1500, "chat": 1000}
AGENTS = 50
CAPACITY = {"sms": 5, "email": 5, "chat": 3}
SLA_SECONDS = 2
# Contacts sent at once, per channel.
SENDERS = 16


def roster() -> str:
    """Fifty agents of the support queue, each with a password the policy takes."""
    return "\n".join(
        f'[[agents]]\nusername = "desk{n:02d}"\nqueues = ["support"]\npassword = "{password(n)}"' for n in range(AGENTS)
    )


def password(n: int) -> str:
    return f"Quartz-lantern-{n:02d}-orbit-meadow"


@dataclass
class Desk:
    """One agent's desk as the test runs it."""

    name: str
    headers: dict[str, str] = field(default_factory=dict)
    positions: dict[str, int] | None = None
    seen: set[str] = field(default_factory=set)
    working: set[asyncio.Task[None]] = field(default_factory=set)
    reconnects: int = 0


async def run_desk(c: Cluster, desk: Desk, stop: asyncio.Event, signing_in: asyncio.Semaphore) -> None:
    login = {"username": desk.name, "password": password(int(desk.name[4:]))}
    async with signing_in, c.session.post(f"{c.url}/api/v1/auth/login", json=login) as response:
        assert response.status == 200, await response.text()
        desk.headers = {"Authorization": f"Bearer {(await response.json())['token']}"}
    while not stop.is_set():
        place = desk.positions
        query = "" if place is None else f"?interactions={place['interactions']}&agents={place['agents']}"
        try:
            socket = await c.session.ws_connect(f"{c.url}/api/v1/ws{query}", headers=desk.headers)
        except aiohttp.ClientError:
            await asyncio.sleep(0.2)
            continue
        try:
            await listen(c, desk, socket, stop)
        finally:
            await socket.close()
        desk.reconnects += 1


async def texts(socket: aiohttp.ClientWebSocketResponse, stop: asyncio.Event) -> AsyncIterator[str]:
    """The socket's frames until it drops (its instance died) or the test stops."""
    while not stop.is_set():
        try:
            message = await socket.receive(timeout=0.5)
        except TimeoutError:
            continue
        if message.type is not aiohttp.WSMsgType.TEXT:
            return
        yield message.data


async def listen(c: Cluster, desk: Desk, socket: aiohttp.ClientWebSocketResponse, stop: asyncio.Event) -> None:
    async for data in texts(socket, stop):
        frame: dict[str, Any] = json.loads(data)
        if frame["type"] == "hello":
            desk.positions = dict(frame["log"]) if frame["log"] else desk.positions
            for offered in frame["offers"]:
                take(c, desk, offered["offer"]["id"], offered["id"])
            # Available (again: a desk away while its instance was gone is set away).
            await call(c, "PUT", "/api/v1/agents/me/status", desk, {"status": "available"})
        elif frame["type"] == "position":
            desk.positions = dict(frame["log"])
        else:
            if "log" in frame and desk.positions is not None:
                desk.positions[frame["log"]["stream"]] = frame["log"]["seq"]
            if frame["type"] == "offer":
                take(c, desk, frame["offer_id"], frame["interaction_id"])


def take(c: Cluster, desk: Desk, offer_id: str, interaction_id: str) -> None:
    if offer_id in desk.seen:
        return
    desk.seen.add(offer_id)
    task = asyncio.create_task(work(c, desk, offer_id, interaction_id))
    desk.working.add(task)
    task.add_done_callback(desk.working.discard)


async def work(c: Cluster, desk: Desk, offer_id: str, interaction_id: str) -> None:
    """Accept, hold it a moment, complete. An answer lost with a dying instance leaves the
    outcome to the sweep at the end, which completes whatever the agent holds."""
    if await call(c, "POST", f"/api/v1/offers/{offer_id}/accept", desk) != 200:
        return
    await asyncio.sleep(random.uniform(0.05, 0.3))
    await call(c, "POST", f"/api/v1/interactions/{interaction_id}/complete", desk, {"disposition": "resolved"})


async def call(c: Cluster, method: str, path: str, desk: Desk, body: dict[str, str] | None = None) -> int:
    try:
        async with c.session.request(method, f"{c.url}{path}", json=body, headers=desk.headers) as response:
            await response.read()
            return response.status
    except aiohttp.ClientError:
        return 0


async def sweep(c: Cluster, desk: Desk) -> None:
    """Complete what the agent still holds (an accept whose answer was lost)."""
    async with c.session.get(f"{c.url}/api/v1/work?state=assigned&limit=100", headers=desk.headers) as response:
        held = (await response.json())["assigned"]
    for item in held:
        await call(c, "POST", f"/api/v1/interactions/{item['id']}/complete", desk, {"disposition": "resolved"})


async def text(c: Cluster, n: int) -> None:
    form = sms_form(sender=f"+1555300{n:04d}", body=f"Question {n}")
    headers = {
        "X-Twilio-Signature": twilio_signature("/twilio/sms", form),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    for _ in range(20):
        try:
            async with c.session.post(f"{c.url}/twilio/sms", data=urlencode(form), headers=headers) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        # Twilio retries a webhook that failed; the message id makes a retry a duplicate.
        await asyncio.sleep(0.2)
    raise AssertionError(f"SMS {n} never taken in")


def mail(port: int, n: int) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"c{n}@customer.test", "support@example.test", f"Order {n}"
    message["Message-ID"] = f"<load-{n}@customer.test>"
    message.set_content(f"Where is order {n}?")
    for _ in range(20):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.send_message(message)
            return
        except (OSError, smtplib.SMTPException):
            # A sending server tries again later; the Message-ID makes a second copy a duplicate.
            pass
    raise AssertionError(f"mail {n} never taken in")


async def visit(c: Cluster, n: int, stop: asyncio.Event) -> None:
    """A chat visitor who writes once and stays until the end, resuming their chat on
    another instance when theirs dies."""
    token: str | None = None
    while not stop.is_set():
        try:
            socket = await c.session.ws_connect(f"{c.url}/chat/ws")
        except aiohttp.ClientError:
            await asyncio.sleep(0.2)
            continue
        try:
            if token is None:
                await socket.send_json({"type": "start", "name": f"Visitor {n}"})
                started = await socket.receive_json(timeout=10)
                token = started["token"]
                await socket.send_json({"type": "message", "client_id": "c1", "body": f"Chat {n}"})
            else:
                await socket.send_json({"type": "resume", "token": token})
            async for _ in texts(socket, stop):
                pass
        except (aiohttp.ClientError, TimeoutError):
            pass
        finally:
            await socket.close()


async def limited(count: int, one: Callable[[int], Any]) -> None:
    gate = asyncio.Semaphore(SENDERS)

    async def send(n: int) -> None:
        async with gate:
            await one(n)

    await asyncio.gather(*(send(n) for n in range(count)))


async def stored(database_url: str) -> tuple[list[Any], list[Any]]:
    """Every interaction (channel, state) and every event (seq, interaction, type, actor,
    data, at), in log order."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = select(Interaction.id, Interaction.channel, Interaction.state)
            interactions = (await connection.execute(rows)).all()
            events = (
                await connection.execute(
                    select(
                        InteractionEvent.interaction_id,
                        InteractionEvent.type,
                        InteractionEvent.actor_id,
                        InteractionEvent.data,
                    ).order_by(InteractionEvent.seq)
                )
            ).all()
            return list(interactions), list(events)
    finally:
        await engine.dispose()


async def agent_ids(database_url: str) -> dict[str, str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return {row.id: row.username for row in await connection.execute(select(Agent.id, Agent.username))}
    finally:
        await engine.dispose()


async def test_five_thousand_contacts_through_three_instances_one_killed_one_restarted(
    tmp_path: Path, settings_factory: Callable[..., Settings], redis_url: str
) -> None:
    chat = '[channels.chat]\nqueue = "support"\nabandon_after_seconds = 120'
    settings = settings_factory(
        # Leases of 3 s: short enough for the test, long enough not to lapse while an
        # instance is merely busy (two cores, three instances and the load at once).
        redis=shared_state(redis_url, lease_seconds=3),
        smtp='domains = ["example.test"]',
        channels=chat,
        support_channels='["sms", "email", "chat"]',
        answer_seconds=SLA_SECONDS,
        routing="disconnect_grace_seconds = 60",
        top=roster(),
    )
    total = sum(CONTACTS.values())
    async with cluster(tmp_path) as c:
        stop = asyncio.Event()
        desks = [Desk(f"desk{n:02d}") for n in range(AGENTS)]
        # Signing in a few at a time, as a shift starts: each login hashes a password.
        signing_in = asyncio.Semaphore(4)
        running = [asyncio.create_task(run_desk(c, desk, stop, signing_in)) for desk in desks]
        visitors: list[asyncio.Task[None]] = []
        smtp_port = c.ports["CLUSTER_SMTP_PORT"]

        async def contacts(part: int, parts: int) -> None:
            sms = range(CONTACTS["sms"] * part // parts, CONTACTS["sms"] * (part + 1) // parts)
            mails = range(CONTACTS["email"] * part // parts, CONTACTS["email"] * (part + 1) // parts)
            chats = range(CONTACTS["chat"] * part // parts, CONTACTS["chat"] * (part + 1) // parts)
            visitors.extend(asyncio.create_task(visit(c, n, stop)) for n in chats)
            await asyncio.gather(
                limited(len(sms), lambda i: text(c, sms[i])),
                limited(len(mails), lambda i: asyncio.to_thread(mail, smtp_port, mails[i])),
            )

        await contacts(0, 2)
        # In the middle: the first instance dies, the second is restarted.
        c.instances[0].send_signal(signal.SIGKILL)
        c.instances[0].wait(timeout=10)
        c.instances[1].send_signal(signal.SIGTERM)
        c.instances[1].wait(timeout=90)
        await c.start(2)
        await contacts(1, 2)

        async def all_done() -> bool:
            interactions, _ = await stored(settings.database.url)
            return len(interactions) == total and all(row.state == "completed" for row in interactions)

        for _ in range(120):
            if await all_done():
                break
            await asyncio.sleep(2)
            if _ % 15 == 14:
                for desk in desks:
                    await sweep(c, desk)
        stop.set()
        await asyncio.gather(*running, *visitors)
        for desk in desks:
            await asyncio.gather(*desk.working)

    interactions, events = await stored(settings.database.url)
    names = await agent_ids(settings.database.url)
    # Nothing lost: each contact one interaction, completed.
    assert Counter(row.channel for row in interactions) == CONTACTS
    assert Counter(row.state for row in interactions) == {"completed": total}
    # Assigned once and completed once.
    accepted = Counter(e.interaction_id for e in events if e.type == "accepted")
    completed = Counter(e.interaction_id for e in events if e.type == "completed")
    assert set(accepted.values()) == {1} and len(accepted) == total
    assert completed == accepted
    # Each SLA breach once, and every SMS that waited past its target has one.
    breaches = Counter(e.interaction_id for e in events if e.type == "sla_breached")
    assert set(breaches.values()) <= {1}
    # No agent over capacity: what each holds of a channel, offered or assigned, counted
    # through the log.
    channel_of = {row.id: row.channel for row in interactions}
    holding: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    held_by: dict[str, tuple[str, str]] = {}
    for event in events:
        if event.type == "offered":
            key = held_by[event.interaction_id] = (event.data["agent_id"], channel_of[event.interaction_id])
            holding[key].add(event.interaction_id)
            assert len(holding[key]) <= CAPACITY[key[1]], f"{names[key[0]]} over capacity on {key[1]}"
        elif event.type in _RELEASING and event.interaction_id in held_by:
            holding[held_by.pop(event.interaction_id)].discard(event.interaction_id)
    # Every offer meant for an agent reached their desk, but those revoked while it was away.
    revoked = {e.data["offer_id"] for e in events if e.type == "offer_revoked"}
    for desk in desks:
        meant = {
            e.data["offer_id"]
            for e in events
            if e.type == "offered" and names[e.data["agent_id"]] == desk.name and e.data["offer_id"] not in revoked
        }
        assert meant <= desk.seen, f"{desk.name} missed {len(meant - desk.seen)} offers"


# What ends an agent's hold on an interaction they were offered or held.
_RELEASING = frozenset({"offer_timed_out", "offer_revoked", "offer_rejected", "completed", "abandoned"})
