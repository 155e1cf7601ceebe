"""Several instances behind a real HAProxy, run on ``config/haproxy.cfg`` as it is: three
``serve`` processes on one PostgreSQL, each on its own ports (``--port``,
``--smtp-port``). Agents' WebSockets upgrade through it and spread over the instances,
mail goes through in TCP mode, and an instance killed mid-way is taken out by the health
checks on ``/readyz`` while the others go on answering. On one Redis as well, they route
as one: a contact taken in by any instance is offered to an agent whose socket is on any
other, and assigned once."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from interaction_center.settings.model import Settings
from routing.redis import DECISION_LOCK_SECONDS
from storage.models import Agent, Interaction, InteractionEvent
from tests.cluster import INSTANCES, Cluster, cluster, next_of, read, shared_state, sockets_held, until
from tests.support import sms_form
from tests.twilio_stub import TwilioStub
from tests.voice.support import CONFERENCE_SID, call_form, gather_action, path_of, said, voice_settings

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def send_mail(port: int, subject: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "jane@customer.test", "support@example.test", subject
    message.set_content("Where is my order?")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


async def mails_stored(database_url: str) -> int:
    return len(await read(database_url, select(Interaction.id).where(Interaction.channel == "email")))


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
    async with cluster(tmp_path) as c:
        # Three agents' sockets through HAProxy: one on each instance (least connections
        # first), each told its hello.
        sockets = [await c.socket(await c.login(name)) for name in ("alice", "bob", "carol")]
        held = [await sockets_held(c.session, c.port(n)) for n in range(1, INSTANCES + 1)]
        assert held == [1.0, 1.0, 1.0]

        # Mail in through HAProxy's TCP mode, stored once.
        await asyncio.to_thread(send_mail, c.ports["CLUSTER_SMTP_PORT"], "Order 42")

        async def mails(count: int) -> bool:
            return await mails_stored(settings.database.url) >= count

        await until(lambda: mails(1), "the mail is stored")
        assert await mails_stored(settings.database.url) == 1

        # The first instance dies: its agent's socket drops and connects again through
        # HAProxy to another; every request and mail meanwhile is answered by the others.
        await c.stop(1)
        assert sorted(await asyncio.gather(*map(dropped, sockets))) == [False, False, True]
        for _ in range(40):
            assert await c.ready()
            await asyncio.sleep(0.05)
        await asyncio.to_thread(send_mail, c.ports["CLUSTER_SMTP_PORT"], "Order 43")
        again = await c.socket(await c.login("alice"))
        await until(lambda: mails(2), "the second mail is stored")
        assert await mails_stored(settings.database.url) == 2
        for socket in [*sockets, again]:
            await socket.close()


SMS_COUNT = 60


async def intake_counts(session: aiohttp.ClientSession, port: int) -> float:
    """The SMS an instance took in, from its own /metrics."""
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "ic_intake_total" and sample.labels.get("channel") == "sms"
    )


async def events_of(database_url: str, kind: str) -> list[str]:
    """The interaction of every event of that type, in log order."""
    query = select(InteractionEvent.interaction_id).where(InteractionEvent.type == kind)
    return [row[0] for row in await read(database_url, query.order_by(InteractionEvent.seq))]


async def work_offers(c: Cluster, name: str, done: list[str], total: int) -> None:
    """An agent at their desk through HAProxy: available, then every offer their socket
    hears accepted and completed, until ``total`` interactions are done between all."""
    headers = await c.login(name)
    socket = await c.socket(headers)
    await c.available(headers)
    try:
        while len(done) < total:
            try:
                frame: dict[str, Any] = await socket.receive_json(timeout=0.5)
            except TimeoutError:
                continue
            if frame["type"] != "offer":
                continue
            accept = f"{c.url}/api/v1/offers/{frame['offer_id']}/accept"
            async with c.session.post(accept, headers=headers) as response:
                assert response.status == 200, await response.text()
            complete = f"{c.url}/api/v1/interactions/{frame['interaction_id']}/complete"
            async with c.session.post(complete, json={"disposition": "resolved"}, headers=headers) as response:
                assert response.status == 200, await response.text()
            done.append(frame["interaction_id"])
    finally:
        await socket.close()


async def test_three_instances_on_one_redis_route_every_contact_once(
    tmp_path: Path, settings_factory: Callable[..., Settings], redis_url: str
) -> None:
    redis = f'url = "{redis_url}"\nprefix = "test:{uuid.uuid4().hex}:"'
    settings = settings_factory(redis=redis)
    async with cluster(tmp_path) as c:
        done: list[str] = []
        agents = [asyncio.create_task(work_offers(c, name, done, SMS_COUNT)) for name in ("alice", "bob")]

        async def text(number: int) -> None:
            await c.webhook("/twilio/sms", sms_form(sender=f"+1555200{number:04d}", body=f"Question {number}"))

        for start in range(0, SMS_COUNT, 10):
            await asyncio.gather(*(text(n) for n in range(start, start + 10)))
        async with asyncio.timeout(60):
            await asyncio.gather(*agents)

        # Taken in by every instance, routed as one: each contact accepted once and done.
        taken = [await intake_counts(c.session, c.port(n)) for n in range(1, INSTANCES + 1)]
        assert sum(taken) == SMS_COUNT and all(taken), taken
        assert len(done) == len(set(done)) == SMS_COUNT
        accepted = Counter(await events_of(settings.database.url, "accepted"))
        assert set(accepted) == set(done) and set(accepted.values()) == {1}
        assert Counter(await events_of(settings.database.url, "completed")) == accepted


async def instance_of(c: Cluster) -> int:
    """The instance that holds exactly one agent socket (the one just opened, when the
    others hold none)."""
    held = [await sockets_held(c.session, c.port(n)) for n in range(1, INSTANCES + 1)]
    assert sorted(held) == [0.0, 0.0, 1.0], held
    return held.index(1.0) + 1


async def agent_status(database_url: str, username: str) -> tuple[str, str | None]:
    [row] = await read(database_url, select(Agent.status, Agent.status_reason).where(Agent.username == username))
    return str(row.status), row.status_reason


async def test_an_instance_killed_while_offering_hands_its_agents_offers_to_the_others(
    tmp_path: Path, settings_factory: Callable[..., Settings], redis_url: str
) -> None:
    settings = settings_factory(redis=shared_state(redis_url), routing="disconnect_grace_seconds = 3")
    async with cluster(tmp_path) as c:
        alice = await c.login("alice")
        alice_socket = await c.socket(alice)
        alices = await instance_of(c)
        bob = await c.login("bob")
        bob_socket = await c.socket(bob)
        for headers in (alice, bob):
            await c.available(headers)
        await c.webhook("/twilio/sms", sms_form(body="My order never came"))
        # Alice was available first: hers, and her desk's instance dies with it unanswered.
        offer = await next_of(alice_socket, "offer")
        await c.stop(alices)

        # Another instance finds its lease lapsed: Alice, open nowhere now, is away and her
        # offer goes to Bob, long before it would have timed out.
        # Within the lease, plus the decisions lock's time to live should the killed
        # instance have held it (it then lapses rather than being released).
        again = await next_of(bob_socket, "offer", timeout=DECISION_LOCK_SECONDS + 10)
        assert again["interaction_id"] == offer["interaction_id"] and again["offer_id"] != offer["offer_id"]
        assert await agent_status(settings.database.url, "alice") == ("away", "disconnected")

        # Her desk reconnects through HAProxy within the grace: available again.
        alice_socket = await c.socket(alice)

        async def available() -> bool:
            return await agent_status(settings.database.url, "alice") == ("available", None)

        await until(available, "Alice is available again")
        await asyncio.sleep(3.5)
        assert await available()
        for socket in (alice_socket, bob_socket):
            await socket.close()


async def test_an_agent_whose_desk_moves_to_another_instance_stays_signed_in(
    tmp_path: Path, settings_factory: Callable[..., Settings], redis_url: str
) -> None:
    settings = settings_factory(redis=shared_state(redis_url), routing="disconnect_grace_seconds = 1")
    async with cluster(tmp_path) as c:
        alice = await c.login("alice")
        first = await c.session.ws_connect(f"ws://127.0.0.1:{c.port(1)}/api/v1/ws", headers=alice)
        assert (await first.receive_json(timeout=5))["type"] == "hello"
        await c.available(alice)
        second = await c.session.ws_connect(f"ws://127.0.0.1:{c.port(2)}/api/v1/ws", headers=alice)
        assert (await second.receive_json(timeout=5))["type"] == "hello"

        # Her first instance sees her last socket there close: the other still has her desk,
        # so she stays available, past the grace too.
        await first.close()
        await asyncio.sleep(1.5)
        assert await agent_status(settings.database.url, "alice") == ("available", None)

        # Her last socket anywhere closes: away, then offline after the grace.
        await second.close()

        async def offline() -> bool:
            return await agent_status(settings.database.url, "alice") == ("offline", "disconnected")

        await until(offline, "Alice is offline")


async def test_a_chat_between_instances_reaches_both_sides(
    tmp_path: Path, settings_factory: Callable[..., Settings], redis_url: str
) -> None:
    chat = '[channels.chat]\nqueue = "support"\nabandon_after_seconds = 60'
    settings_factory(redis=shared_state(redis_url), channels=chat, support_channels='["sms", "chat"]')
    async with cluster(tmp_path) as c:
        # The visitor's socket on the first instance, Alice's desk on the second.
        visitor = await c.session.ws_connect(f"ws://127.0.0.1:{c.port(1)}/chat/ws")
        alice = await c.login("alice")
        desk = await c.session.ws_connect(f"ws://127.0.0.1:{c.port(2)}/api/v1/ws", headers=alice)
        await next_of(desk, "hello")
        await c.available(alice)
        await visitor.send_json({"type": "start", "name": "Jane"})
        await next_of(visitor, "started")
        await visitor.send_json({"type": "message", "client_id": "c1", "body": "Hello, my bill is wrong"})

        # Taken in on the first, offered on the second, accepted through the third.
        offer = await next_of(desk, "offer")
        accept = f"http://127.0.0.1:{c.port(3)}/api/v1/offers/{offer['offer_id']}/accept"
        async with c.session.post(accept, headers=alice) as response:
            assert response.status == 200
        assert (await next_of(visitor, "assigned"))["interaction_id"] == offer["interaction_id"]

        # Typing and messages both ways between the first instance and the second.
        await visitor.send_json({"type": "typing"})
        assert (await next_of(desk, "customer_typing"))["interaction_id"] == offer["interaction_id"]
        await desk.send_json({"type": "typing", "interaction_id": offer["interaction_id"]})
        await next_of(visitor, "typing")
        await visitor.send_json({"type": "message", "client_id": "c2", "body": "Are you there?"})
        assert (await next_of(desk, "message"))["message"]["body"] == "Are you there?"
        reply = f"http://127.0.0.1:{c.port(2)}/api/v1/interactions/{offer['interaction_id']}/messages"
        async with c.session.post(reply, json={"body": "Let me look"}, headers=alice) as response:
            assert response.status == 201
        assert (await next_of(visitor, "message"))["body"] == "Let me look"
        complete = f"http://127.0.0.1:{c.port(2)}/api/v1/interactions/{offer['interaction_id']}/complete"
        async with c.session.post(complete, json={"disposition": "resolved"}, headers=alice) as response:
            assert response.status == 200
        assert (await next_of(visitor, "ended"))["interaction_id"] == offer["interaction_id"]
        for socket in (visitor, desk):
            await socket.close()


async def test_a_waiting_chat_whose_visitor_is_on_another_instance_outlives_a_restart(
    tmp_path: Path, settings_factory: Callable[..., Settings], redis_url: str
) -> None:
    chat = '[channels.chat]\nqueue = "support"\nabandon_after_seconds = 1'
    settings = settings_factory(redis=shared_state(redis_url), channels=chat, support_channels='["sms", "chat"]')
    async with cluster(tmp_path) as c:
        visitor = await c.session.ws_connect(f"ws://127.0.0.1:{c.port(2)}/chat/ws")
        await visitor.send_json({"type": "start", "name": "Jane"})
        await next_of(visitor, "started")
        await visitor.send_json({"type": "message", "client_id": "c1", "body": "Anyone there?"})
        await next_of(visitor, "ack")
        # The first instance restarts: it finds the chat waiting with no visitor of its own,
        # and gives them the grace to come back; they never left, on the second instance.
        await c.stop(1)
        await c.start(1)
        await asyncio.sleep(2.5)
        query = select(Interaction.state).where(Interaction.channel == "chat")
        assert await read(settings.database.url, query) == [("queued",)]
        await visitor.close()


async def twiml(c: Cluster, base: str, path: str, form: dict[str, str]) -> ET.Element:
    """A voice webhook posted to ``base`` (HAProxy or one instance); its TwiML answer."""
    answer = await c.webhook(path, form, base)
    return ET.fromstring(answer) if answer else ET.Element("none")


async def test_a_call_whose_instance_dies_in_the_menu_goes_on_through_another_to_an_agent(
    tmp_path: Path, settings_factory: Callable[..., Settings], redis_url: str, twilio_stub: TwilioStub
) -> None:
    settings = voice_settings(tmp_path, settings_factory, redis=shared_state(redis_url))
    sid = "CA" + uuid.uuid4().hex

    def form(**fields: str) -> dict[str, str]:
        return call_form(sid, "+15551230001", **fields)

    async with cluster(tmp_path) as c:
        # The first steps of the menu are answered by the first instance...
        first = f"http://127.0.0.1:{c.port(1)}"
        menu = await twiml(c, first, "/twilio/voice", form(CallStatus="ringing"))
        account = await twiml(c, first, path_of(gather_action(menu)), form(Digits="2", FinishedOnKey=""))
        assert "eight digit account number" in said(account)
        # ...which dies. Twilio's next request reaches another through HAProxy, which goes
        # on from the step storage holds.
        await c.stop(1)
        queued = await twiml(c, c.url, path_of(gather_action(account)), form(Digits="12345678", FinishedOnKey=""))
        enqueue = queued.find("Enqueue")
        assert enqueue is not None and enqueue.text is not None, ET.tostring(queued)
        interaction_id = enqueue.text
        waiting = {"QueueSid": "QU" + "0" * 32, "QueuePosition": "1", "QueueTime": "5"}
        music = await twiml(c, c.url, "/twilio/voice/wait", form(**waiting, AvgQueueTime="0", CurrentQueueSize="1"))
        assert "You are next in line." in said(music)

        # An agent on one of the others takes it: the caller is moved into the call's
        # conference and the agent dialled, by Twilio's REST API.
        alice = await c.login("alice")
        desk = await c.socket(alice)
        await c.available(alice)
        offer = await next_of(desk, "offer")
        assert offer["interaction_id"] == interaction_id
        async with c.session.post(f"{c.url}/api/v1/offers/{offer['offer_id']}/accept", headers=alice) as response:
            assert response.status == 200, await response.text()
        [moved] = twilio_stub.sent("POST", f"/Calls/{sid}.json")
        assert f">{interaction_id}</Conference>" in moved.form["Twiml"]
        [dialled] = twilio_stub.sent("POST", f"/Conferences/{interaction_id}/Participants.json")
        assert dialled.form["To"] == "client:alice"
        joined = {"FriendlyName": interaction_id, "ConferenceSid": CONFERENCE_SID}
        await twiml(c, c.url, "/twilio/voice/conference", form(**joined, StatusCallbackEvent="conference-start"))
        await twiml(
            c,
            c.url,
            "/twilio/voice/conference",
            form(**joined, StatusCallbackEvent="participant-join", ParticipantLabel="agent"),
        )
        await twiml(c, c.url, "/twilio/voice/status", form(CallStatus="completed", CallDuration="12"))
        assert (await next_of(desk, "customer_ended"))["interaction_id"] == interaction_id
        await desk.close()

    query = select(InteractionEvent.type).where(InteractionEvent.interaction_id == interaction_id)
    kinds = [row.type for row in await read(settings.database.url, query.order_by(InteractionEvent.seq))]
    # The menu's input on the first instance, the rest on the others, each once.
    assert kinds.count("ivr_input") == 2 and kinds.count("ivr_collected") == 1, kinds
    for once in ("queued", "accepted", "call_bridging", "call_answered", "call_talk_ended"):
        assert kinds.count(once) == 1, kinds
