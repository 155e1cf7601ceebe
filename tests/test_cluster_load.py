"""The cluster under load, as the issue's acceptance has it: three instances behind HAProxy
on one PostgreSQL and one Redis take thousands of contacts (SMS webhooks, mail over SMTP,
web chats, phone calls through the IVR menu, all through HAProxy) while fifty agents
spread over the instances accept and complete them; in the middle one instance is killed
(SIGKILL) and another restarted.

Each agent's desk is a socket that reconnects through HAProxy from the last log position
it saw, as the desk does; it accepts every offer it hears and completes it a moment later
(a call after Twilio's callbacks say the agent joined and the caller hung up).
Afterwards the event log is checked: every contact became one interaction, accepted once
and completed once; no agent ever held more of a channel than their capacity, nor
anything beside a call; every SLA breach was recorded once; every offer an agent was
meant to see (all but those revoked while their desk was away) reached their desk."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import smtplib
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from interaction_center.settings.model import Settings
from storage.database import create_engine
from storage.models import Agent, Interaction, InteractionEvent
from tests.cluster import Cluster, cluster, shared_state
from tests.support import sms_form
from tests.voice.support import call_form, gather_action, path_of, voice_settings

pytestmark = [
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
    pytest.mark.timeout(1200),
    pytest.mark.soak,
]

CONTACTS = {"sms": 2000, "email": 1500, "chat": 1000, "voice": 500}
AGENTS = 50
CAPACITY = {"sms": 5, "email": 5, "chat": 3, "voice": 1}
# Offered only to an agent who holds nothing, and while held nothing else is offered.
EXCLUSIVE = "voice"
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
    # Every call's interaction and its (call sid, caller's number), as the callers learn
    # them; shared by all desks.
    calls: dict[str, tuple[str, str]] = field(default_factory=dict)


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
                take(c, desk, offered["offer"]["id"], offered["id"], offered["channel"])
            # Available (again: a desk away while its instance was gone is set away).
            await call(c, "PUT", "/api/v1/agents/me/status", desk, {"status": "available"})
        elif frame["type"] == "position":
            desk.positions = dict(frame["log"])
        else:
            if "log" in frame and desk.positions is not None:
                desk.positions[frame["log"]["stream"]] = frame["log"]["seq"]
            if frame["type"] == "offer":
                take(c, desk, frame["offer_id"], frame["interaction_id"], frame["channel"])


def take(c: Cluster, desk: Desk, offer_id: str, interaction_id: str, channel: str) -> None:
    if offer_id in desk.seen:
        return
    desk.seen.add(offer_id)
    task = asyncio.create_task(work(c, desk, offer_id, interaction_id, channel))
    desk.working.add(task)
    task.add_done_callback(desk.working.discard)


async def work(c: Cluster, desk: Desk, offer_id: str, interaction_id: str, channel: str) -> None:
    """Accept, hold it a moment (talk, on a call), complete. An answer lost with a dying
    instance leaves the outcome to the sweep at the end, which completes whatever the
    agent holds."""
    if await call(c, "POST", f"/api/v1/offers/{offer_id}/accept", desk) != 200:
        return
    if channel == "voice":
        await talk(c, desk, interaction_id)
    else:
        await asyncio.sleep(random.uniform(0.05, 0.3))
    await call(c, "POST", f"/api/v1/interactions/{interaction_id}/complete", desk, {"disposition": "resolved"})


async def talk(c: Cluster, desk: Desk, interaction_id: str) -> None:
    """What Twilio reports once the accept has moved the caller into the call's conference
    and dialled the agent: the conference starts, the agent joins; the caller hangs up a
    moment later."""
    # The offer can come before the caller's answer naming the interaction does.
    for _ in range(100):
        if interaction_id in desk.calls:
            break
        await asyncio.sleep(0.05)
    sid, number = desk.calls[interaction_id]
    joined = {"FriendlyName": interaction_id, "ConferenceSid": "CF" + sid[2:]}
    for event in ({"StatusCallbackEvent": "conference-start"}, {"StatusCallbackEvent": "participant-join"}):
        form = call_form(sid, number, **joined, **event, ParticipantLabel="agent")
        await c.webhook("/twilio/voice/conference", form, attempts=20)
    await asyncio.sleep(random.uniform(0.05, 0.3))
    await c.webhook(
        "/twilio/voice/status", call_form(sid, number, CallStatus="completed", CallDuration="3"), attempts=20
    )


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
    # Twilio retries a webhook that failed; the message id makes a retry a duplicate.
    await c.webhook("/twilio/sms", sms_form(sender=f"+1555300{n:04d}", body=f"Question {n}"), attempts=20)


async def ring(c: Cluster, n: int, calls: dict[str, tuple[str, str]]) -> None:
    """A caller who presses 1 at the menu and waits in the queue. A webhook retried is
    answered as the first was (the call's sid and step make it a duplicate)."""
    sid, number = f"CA{n:032x}", f"+1555400{n:04d}"
    menu = ET.fromstring(await c.webhook("/twilio/voice", call_form(sid, number, CallStatus="ringing"), attempts=20))
    form = call_form(sid, number, Digits="1", FinishedOnKey="")
    queued = ET.fromstring(await c.webhook(path_of(gather_action(menu)), form, attempts=20))
    enqueue = queued.find("Enqueue")
    assert enqueue is not None and enqueue.text, ET.tostring(queued)
    calls[enqueue.text] = (sid, number)


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
    settings = voice_settings(
        tmp_path,
        settings_factory,
        # Leases of 3 s: short enough for the test, long enough not to lapse while an
        # instance is merely busy (two cores, three instances and the load at once).
        redis=shared_state(redis_url, lease_seconds=3),
        smtp='domains = ["example.test"]',
        channels=chat,
        support_channels='["sms", "email", "chat", "voice"]',
        answer_seconds=SLA_SECONDS,
        routing="disconnect_grace_seconds = 60",
        voice=roster(),
    )
    total = sum(CONTACTS.values())
    async with cluster(tmp_path) as c:
        stop = asyncio.Event()
        calls: dict[str, tuple[str, str]] = {}
        desks = [Desk(f"desk{n:02d}", calls=calls) for n in range(AGENTS)]
        # Signing in a few at a time, as a shift starts: each login hashes a password.
        signing_in = asyncio.Semaphore(4)
        running = [asyncio.create_task(run_desk(c, desk, stop, signing_in)) for desk in desks]
        visitors: list[asyncio.Task[None]] = []
        smtp_port = c.ports["CLUSTER_SMTP_PORT"]

        async def contacts(part: int, parts: int) -> None:
            sms = range(CONTACTS["sms"] * part // parts, CONTACTS["sms"] * (part + 1) // parts)
            mails = range(CONTACTS["email"] * part // parts, CONTACTS["email"] * (part + 1) // parts)
            chats = range(CONTACTS["chat"] * part // parts, CONTACTS["chat"] * (part + 1) // parts)
            rings = range(CONTACTS["voice"] * part // parts, CONTACTS["voice"] * (part + 1) // parts)
            visitors.extend(asyncio.create_task(visit(c, n, stop)) for n in chats)
            await asyncio.gather(
                limited(len(sms), lambda i: text(c, sms[i])),
                limited(len(mails), lambda i: asyncio.to_thread(mail, smtp_port, mails[i])),
                limited(len(rings), lambda i: ring(c, rings[i], calls)),
            )

        await contacts(0, 2)
        # In the middle: the first instance dies, the second is restarted.
        await c.stop(1)
        await c.stop(2, signal.SIGTERM, timeout=90)
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
    channel_of = {row.id: row.channel for row in interactions}
    assert Counter(row.channel for row in interactions) == CONTACTS
    assert Counter(row.state for row in interactions) == {"completed": total}
    # Assigned once and completed once.
    accepted = Counter(e.interaction_id for e in events if e.type == "accepted")
    completed = Counter(e.interaction_id for e in events if e.type == "completed")
    twice = {i for i, n in accepted.items() if n > 1}
    assert not twice, [(channel_of[i], [(e.type, e.actor_id) for e in events if e.interaction_id == i]) for i in twice]
    assert len(accepted) == total
    assert completed == accepted
    # Each SLA breach once, and every SMS that waited past its target has one.
    breaches = Counter(e.interaction_id for e in events if e.type == "sla_breached")
    assert set(breaches.values()) <= {1}
    # No agent over capacity, nor holding anything beside a call: what each holds of a
    # channel, offered or assigned, counted through the log.
    holding: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    held_by: dict[str, tuple[str, str]] = {}
    for event in events:
        if event.type == "offered":
            agent, channel = event.data["agent_id"], channel_of[event.interaction_id]
            key = held_by[event.interaction_id] = (agent, channel)
            holds = {other for (who, other), held in holding.items() if who == agent and held}
            assert EXCLUSIVE not in holds and (channel != EXCLUSIVE or not holds), f"{names[agent]} holds {holds}"
            holding[key].add(event.interaction_id)
            assert len(holding[key]) <= CAPACITY[channel], f"{names[agent]} over capacity on {channel}"
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
