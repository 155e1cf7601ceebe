"""Web chat over a real WebSocket on loopback: sessions and tokens, queueing, live replies,
history on reconnect, limits, abandonment, and one customer across email, SMS and chat."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse
from sqlalchemy import select

from interaction_center.domain.model import Role
from interaction_center.settings.model import AgentSeed, QueueMembershipSettings, Settings
from interaction_center.web.keys import SERVICES
from storage.models import ChatSession, CustomerIdentity, Interaction
from tests.channels import test_email
from tests.channels.conftest import CHAT
from tests.channels.test_email import Relay, deliver, plain
from tests.support import (
    AppFactory,
    Client,
    counted,
    interaction,
    login,
    next_frame,
    offered,
    post_sms,
    queue_figures,
    set_status,
    sms_form,
)

# The outbound relay the email tests use (the service needs one to take mail with replies on).
relay = test_email.relay


async def start(client: Client, **fields: str) -> tuple[ClientWebSocketResponse, dict[str, Any]]:
    socket = await client.ws_connect("/chat/ws")
    await socket.send_json({"type": "start", **fields})
    return socket, await next_frame(socket, "started")


async def say(socket: ClientWebSocketResponse, body: str, client_id: str | None = None) -> dict[str, Any]:
    client_id = client_id or uuid.uuid4().hex
    await socket.send_json({"type": "message", "client_id": client_id, "body": body})
    ack = await next_frame(socket, "ack")
    assert ack["client_id"] == client_id
    return ack


async def resume(client: Client, token: str) -> tuple[ClientWebSocketResponse, dict[str, Any]]:
    socket = await client.ws_connect("/chat/ws")
    await socket.send_json({"type": "resume", "token": token})
    return socket, await socket.receive_json(timeout=5)


async def accept(client: Client, headers: dict[str, str], interaction_id: str) -> dict[str, Any]:
    """Accept the offer of this interaction (an agent takes up to three chats at once)."""
    async with asyncio.timeout(5):
        while not (offers := [o for o in await offered(client, headers) if o["id"] == interaction_id]):
            await asyncio.sleep(0.05)
    response = await client.post(f"/api/v1/offers/{offers[0]['offer']['id']}/accept", headers=headers)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def state_of(client: Client, interaction_id: str) -> str:
    async with client.app[SERVICES].sessions() as session:
        row = await session.get(Interaction, interaction_id)
        assert row is not None
        return row.state


async def test_a_visitor_is_queued_answered_live_and_sees_the_history_on_reconnect(chat_client: Client) -> None:
    socket, started = await start(chat_client, name="Jane")
    assert len(started["token"]) >= 43 and started["interaction_id"] is None
    ack = await say(socket, "Hello, my bill is wrong")
    queued = await next_frame(socket, "queued")
    assert queued["position"] == 1
    assert queued["expected_wait_seconds"] is None  # no chat SLA in this queue, nothing answered yet
    # A second visitor waits behind the first.
    other, _ = await start(chat_client)
    await say(other, "Me too")
    assert (await next_frame(other, "queued"))["position"] == 2

    alice = await login(chat_client, "alice")
    agent_socket = await chat_client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(agent_socket, "hello")
    await set_status(chat_client, alice, "available")
    accepted = await accept(chat_client, alice, ack["interaction_id"])
    assert accepted["channel"] == "chat"

    # Typing both ways.
    await socket.send_json({"type": "typing"})
    typing = await next_frame(agent_socket, "customer_typing")
    assert typing["interaction_id"] == accepted["id"]
    await agent_socket.send_json({"type": "typing", "interaction_id": accepted["id"]})
    assert (await next_frame(socket, "typing"))["from"] == "agent"

    response = await chat_client.post(
        f"/api/v1/interactions/{accepted['id']}/messages", json={"body": "Let me look"}, headers=alice
    )
    assert response.status == 201, await response.text()
    reply = await response.json()
    assert reply["status"] == "delivered"
    live = await next_frame(socket, "message")
    assert (live["from"], live["body"], live["message_id"]) == ("agent", "Let me look", reply["id"])
    await socket.close()

    # Away, the visitor still gets the reply: stored, and shown on reconnect.
    response = await chat_client.post(
        f"/api/v1/interactions/{accepted['id']}/messages", json={"body": "Found it"}, headers=alice
    )
    assert (await response.json())["status"] == "sent"
    again, resumed = await resume(chat_client, started["token"])
    assert resumed["type"] == "resumed" and resumed["interaction_id"] == accepted["id"]
    assert [(m["from"], m["body"]) for m in resumed["messages"]] == [
        ("customer", "Hello, my bill is wrong"),
        ("agent", "Let me look"),
        ("agent", "Found it"),
    ]

    response = await chat_client.post(
        f"/api/v1/interactions/{accepted['id']}/complete", json={"disposition": "resolved"}, headers=alice
    )
    assert response.status == 200
    assert (await next_frame(again, "ended"))["interaction_id"] == accepted["id"]
    # Only the digest of the token is stored.
    async with chat_client.app[SERVICES].sessions() as session:
        hashes = list(await session.scalars(select(ChatSession.token_hash)))
    assert started["token"] not in hashes and all(len(h) == 64 for h in hashes)
    for ws in (again, other, agent_socket):
        await ws.close()


async def test_the_visitor_hears_which_agent_took_the_chat_by_display_name(chat_client: Client) -> None:
    password = "scully x-files 1993"
    seed = AgentSeed("dana", "Dana Scully", Role.AGENT, (QueueMembershipSettings("support"),), password=password)
    dana_row = await chat_client.app[SERVICES].accounts.add(seed)
    socket, started = await start(chat_client, name="Jane")
    ack = await say(socket, "Hello")
    response = await chat_client.post("/api/v1/auth/login", json={"username": "dana", "password": password})
    dana = {"Authorization": f"Bearer {(await response.json())['token']}"}
    await set_status(chat_client, dana, "available")
    await accept(chat_client, dana, ack["interaction_id"])

    assigned = await next_frame(socket, "assigned")
    assert assigned == {"type": "assigned", "interaction_id": ack["interaction_id"], "agent_name": "Dana Scully"}
    # The visitor learns nothing of the staff's accounts: no username, no id.
    assert "dana" not in str(assigned) and dana_row.id not in str(assigned)
    # A reload shows who has the chat; once it ended, nobody.
    again, resumed = await resume(chat_client, started["token"])
    assert (resumed["state"], resumed["agent_name"]) == ("assigned", "Dana Scully")
    response = await chat_client.post(
        f"/api/v1/interactions/{ack['interaction_id']}/complete", json={"disposition": "resolved"}, headers=dana
    )
    assert response.status == 200
    await next_frame(again, "ended")
    later, resumed = await resume(chat_client, started["token"])
    assert (resumed["state"], resumed["agent_name"]) == ("completed", None)
    for ws in (socket, again, later):
        await ws.close()


async def test_a_chat_reply_is_held_to_the_chat_limit_not_the_sms_one(chat_client: Client) -> None:
    socket, _ = await start(chat_client)
    ack = await say(socket, "Tell me everything")
    alice = await login(chat_client, "alice")
    await set_status(chat_client, alice, "available")
    await accept(chat_client, alice, ack["interaction_id"])
    url = f"/api/v1/interactions/{ack['interaction_id']}/messages"

    response = await chat_client.post(url, json={"body": "y" * 2000}, headers=alice)
    assert response.status == 201, await response.text()
    assert len((await next_frame(socket, "message"))["body"]) == 2000
    response = await chat_client.post(url, json={"body": "y" * 4001}, headers=alice)
    error = (await response.json())["error"]
    assert (response.status, error["code"]) == (400, "message.too_long")
    assert "chat" in error["message"] and "4000" in error["message"]
    record = await interaction(chat_client, alice, ack["interaction_id"])
    assert [len(m["body"]) for m in record["messages"]] == [len("Tell me everything"), 2000]
    await socket.close()


async def test_a_forged_token_is_refused_and_the_socket_closed(chat_client: Client) -> None:
    socket, frame = await resume(chat_client, "not-a-real-token-" + uuid.uuid4().hex)
    assert (frame["type"], frame["code"]) == ("error", "chat.bad_token")
    closed = await socket.receive(timeout=5)
    assert socket.closed and closed.type.name in ("CLOSE", "CLOSED", "CLOSING")
    assert socket.close_code == 4401


async def test_one_client_id_is_one_message_and_sessions_do_not_collide(chat_client: Client) -> None:
    socket, _ = await start(chat_client)
    first = await say(socket, "Hello", client_id="m1")
    again = await say(socket, "Hello", client_id="m1")
    assert first["message_id"] == again["message_id"]
    other, _ = await start(chat_client)
    theirs = await say(other, "Hi", client_id="m1")
    assert theirs["message_id"] != first["message_id"]
    alice = await login(chat_client, "alice")
    await set_status(chat_client, alice, "available")
    ours = await accept(chat_client, alice, first["interaction_id"])
    assert [m["body"] for m in ours["messages"]] == ["Hello"]
    await socket.close()
    await other.close()


async def test_bad_frames_get_error_frames_and_the_session_goes_on(chat_client: Client) -> None:
    socket, _ = await start(chat_client)
    await socket.send_str("{not json")
    assert (await next_frame(socket, "error"))["code"] == "chat.bad_frame"
    await socket.send_json({"type": "dance"})
    assert (await next_frame(socket, "error"))["code"] == "chat.bad_frame"
    await socket.send_json({"type": "message", "client_id": "x", "body": "a" * 5000})
    assert (await next_frame(socket, "error"))["code"] == "chat.too_large"
    await socket.send_str('{"type": "typing", "pad": "' + "a" * 20_000 + '"}')
    assert (await next_frame(socket, "error"))["code"] == "chat.too_large"
    for _ in range(40):
        await socket.send_json({"type": "typing"})
    assert (await next_frame(socket, "error"))["code"] == "chat.rate_limited"
    await asyncio.sleep(1.0)  # the bucket refills
    ack = await say(socket, "Still here")
    assert ack["message_id"]
    await socket.close()


async def test_a_message_before_start_is_refused(chat_client: Client) -> None:
    socket = await chat_client.ws_connect("/chat/ws")
    await socket.send_json({"type": "message", "client_id": "1", "body": "hi"})
    assert (await next_frame(socket, "error"))["code"] == "chat.not_started"
    await socket.send_json({"type": "start", "email": "not an address"})
    assert (await next_frame(socket, "error"))["code"] == "contact.invalid_email"
    await socket.send_json({"type": "start"})
    assert (await next_frame(socket, "started"))["token"]
    await socket.close()


async def test_leaving_while_queued_abandons_after_the_grace_unless_the_visitor_returns(
    app_factory: AppFactory, chat_settings: Callable[..., Settings]
) -> None:
    client = await app_factory(chat_settings(grace=0.5))
    back, started = await start(client)
    kept = (await say(back, "I will come back"))["interaction_id"]
    await back.close()
    again, resumed = await resume(client, started["token"])
    assert resumed["state"] == "queued"
    assert (await next_frame(again, "queued"))["position"] == 1

    gone, _ = await start(client)
    left = (await say(gone, "Never mind"))["interaction_id"]
    behind, _ = await start(client)
    await say(behind, "Waiting too")
    assert (await next_frame(behind, "queued"))["position"] == 3
    await gone.close()
    async with asyncio.timeout(5):
        while await state_of(client, left) != "abandoned":
            await asyncio.sleep(0.05)
    # The visitor behind moves up, and is told.
    assert (await next_frame(behind, "queued"))["position"] == 2
    await asyncio.sleep(0.6)
    assert await state_of(client, kept) == "queued"

    sam = await login(client, "sam")
    await counted(client)
    chat = await queue_figures(client, sam, "support", "chat")
    # Gone within routing.short_abandon_seconds (5): a short abandon, not an abandon.
    assert (chat["abandoned"], chat["short_abandoned"], chat["waiting"]) == (0, 1, 2)
    detail = await interaction(client, sam, left)
    assert detail["events"][-1]["type"] == "abandoned"
    assert detail["events"][-1]["data"]["reason"] == "customer_left"
    await again.close()
    await behind.close()


async def test_after_a_restart_a_waiting_chat_is_abandoned_unless_its_visitor_returns_within_the_grace(
    app_factory: AppFactory, chat_settings: Callable[..., Settings]
) -> None:
    before = await app_factory(chat_settings(grace=60))
    gone, _ = await start(before)
    left = (await say(gone, "Anyone there?"))["interaction_id"]
    back, started = await start(before)
    kept = (await say(back, "I will come back"))["interaction_id"]
    # The restart closes both sockets; the old process's own timers die with it.
    await before.close()
    for socket in (gone, back):
        await socket.close()

    # The grace is counted from the new start: one visitor resumes in time, one never does.
    after = await app_factory(chat_settings(grace=1.0))
    again, resumed = await resume(after, started["token"])
    assert (resumed["interaction_id"], resumed["state"]) == (kept, "queued")
    assert (await next_frame(again, "queued"))["position"] == 2
    async with asyncio.timeout(5):
        while await state_of(after, left) != "abandoned":
            await asyncio.sleep(0.05)
    # The visitor who came back moves up, and is told.
    assert (await next_frame(again, "queued"))["position"] == 1
    await asyncio.sleep(0.3)
    assert await state_of(after, kept) == "queued"
    sam = await login(after, "sam")
    detail = await interaction(after, sam, left)
    assert (detail["events"][-1]["type"], detail["events"][-1]["data"]["reason"]) == ("abandoned", "customer_left")
    await again.close()


async def test_chat_is_off_without_its_section(client: Client) -> None:
    socket = await client.ws_connect("/chat/ws")
    assert (await socket.receive_json(timeout=5))["code"] == "chat.not_configured"
    await socket.close()


async def test_the_chat_page_and_the_widget_loader_are_served_under_a_strict_policy(chat_client: Client) -> None:
    page = await chat_client.get("/chat/")
    assert page.status == 200 and page.content_type == "text/html"
    assert 'src="chat.js"' in await page.text()
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    # No site was allowed: only the service's own pages (at its public address too) may frame the chat.
    public = chat_client.app[SERVICES].settings.public_base_url
    assert policy.endswith(f"frame-ancestors 'self' {public}")
    for name, kind in [("widget.js", "text/javascript"), ("chat.js", "text/javascript"), ("chat.css", "text/css")]:
        served = await chat_client.get(f"/chat/{name}")
        assert (served.status, served.content_type) == (200, kind)
        assert served.headers["X-Content-Type-Options"] == "nosniff"
    # Nothing else of the folder is served.
    assert (await chat_client.get("/chat/chat.html")).status == 404
    moved = await chat_client.get("/chat", allow_redirects=False)
    assert (moved.status, moved.headers["Location"]) == (308, "/chat/")


@pytest.fixture
def omnichannel_settings(settings_factory: Callable[..., Settings], relay: Relay) -> Settings:
    return settings_factory(
        support_channels='["sms", "email", "chat"]',
        channels=CHAT.format(grace=60),
        smtp=f'domains = ["example.com"]\nrelay_host = "127.0.0.1"\nrelay_port = {relay.port}\n'
        'from_address = "support@example.com"',
    )


async def owners_and_identities(client: Client) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Each interaction's customer by channel, and each identity's customer."""
    async with client.app[SERVICES].sessions() as session:
        owners = {row.channel: row.customer_id for row in await session.scalars(select(Interaction))}
        identities = {(i.kind, i.value): i.customer_id for i in await session.scalars(select(CustomerIdentity))}
    return owners, identities


async def test_one_customer_chats_then_emails_and_texts(
    app_factory: AppFactory, omnichannel_settings: Settings
) -> None:
    """The chat visitor gives an email and a phone nobody holds yet: they become the chat
    customer's, and the mail and the SMS that follow land on that one record."""
    client = await app_factory(omnichannel_settings)
    socket, _ = await start(client, name="Jane", email="jane.doe@customer.test", phone="(555) 123-0001")
    await say(socket, "Hello, a question before I write")
    code, _ = await deliver(client, plain(), sender="Jane.Doe@Customer.test")
    assert code == 250
    response = await post_sms(client, sms_form(sender="+15551230001", body="And by text"))
    assert response.status == 200

    owners, identities = await owners_and_identities(client)
    assert set(owners) == {"chat", "email", "sms"} and len(set(owners.values())) == 1
    assert identities[("email", "jane.doe@customer.test")] == identities[("phone", "+15551230001")] == owners["chat"]
    sam = await login(client, "sam")
    customer = await (await client.get(f"/api/v1/customers/{owners['chat']}", headers=sam)).json()
    assert sorted(i["channel"] for i in customer["interactions"]) == ["chat", "email", "sms"]
    assert sum(1 for i in customer["identities"] if i["kind"] == "chat") == 1
    # Called as they named themselves in the chat form, not by their session.
    assert customer["display_name"] == "Jane"
    await socket.close()


async def test_a_chat_that_types_a_known_email_joins_that_record_flagged_unverified(
    app_factory: AppFactory, omnichannel_settings: Settings
) -> None:
    """Jane mails, then chats giving that address and her phone, then texts from the phone:
    one record holds all three. Anyone could have typed her address, so the chat carries an
    unverified_identity event: the agent verifies the person before telling them anything
    from the record. A chat whose typed address nobody holds yet is not flagged."""
    client = await app_factory(omnichannel_settings)
    code, _ = await deliver(client, plain(), sender="Jane.Doe@Customer.test")
    assert code == 250
    socket, _ = await start(client, name="Jane", email="jane.doe@customer.test", phone="(555) 123-0001")
    ack = await say(socket, "What is the address on my account?")
    response = await post_sms(client, sms_form(sender="+15551230001", body="And by text"))
    assert response.status == 200
    stranger, _ = await start(client, name="Ann", email="ann@customer.test")
    theirs = await say(stranger, "Hello")

    _, identities = await owners_and_identities(client)
    jane = identities[("email", "jane.doe@customer.test")]
    assert identities[("phone", "+15551230001")] == jane
    sam = await login(client, "sam")
    customer = await (await client.get(f"/api/v1/customers/{jane}", headers=sam)).json()
    assert sorted(i["channel"] for i in customer["interactions"]) == ["chat", "email", "sms"]
    chat = await interaction(client, sam, ack["interaction_id"])
    flagged = [e["data"] for e in chat["events"] if e["type"] == "unverified_identity"]
    assert flagged == [{"kind": "email", "value": "jane.doe@customer.test"}]
    assert chat["messages"][0]["attributes"]["unverified_identities"] == {
        "email": "jane.doe@customer.test",
        "phone": "+15551230001",
    }
    other = await interaction(client, sam, theirs["interaction_id"])
    assert other["customer_id"] != jane
    assert not [e for e in other["events"] if e["type"] == "unverified_identity"]
    for ws in (socket, stranger):
        await ws.close()


async def test_a_phone_another_customer_holds_is_not_merged(chat_client: Client) -> None:
    response = await post_sms(chat_client, sms_form(sender="+15551230002"))
    assert response.status == 200
    socket, _ = await start(chat_client, email="someone@customer.test", phone="+15551230002")
    ack = await say(socket, "Hi")
    async with chat_client.app[SERVICES].sessions() as session:
        owners = {row.customer_id for row in await session.scalars(select(Interaction))}
    assert len(owners) == 2
    sam = await login(chat_client, "sam")
    detail = await interaction(chat_client, sam, ack["interaction_id"])
    conflict = [e for e in detail["events"] if e["type"] == "identity_conflict"]
    assert [(e["data"]["kind"], e["data"]["value"]) for e in conflict] == [("phone", "+15551230002")]
    await socket.close()


async def test_a_live_chat_is_not_put_on_hold(chat_client: Client) -> None:
    socket, _ = await start(chat_client)
    ack = await say(socket, "Hello")
    alice = await login(chat_client, "alice")
    await set_status(chat_client, alice, "available")
    await accept(chat_client, alice, ack["interaction_id"])

    refused = await chat_client.post(f"/api/v1/interactions/{ack['interaction_id']}/hold", json={}, headers=alice)

    assert (refused.status, (await refused.json())["error"]["code"]) == (409, "interaction.not_parkable")
    assert await state_of(chat_client, ack["interaction_id"]) == "assigned"
    await socket.close()


async def test_the_socket_takes_pages_of_its_own_and_of_allowed_sites_only(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    channels = CHAT.format(grace=60) + '\nallowed_origins = ["https://shop.example"]'
    client = await app_factory(settings_factory(channels=channels, support_channels='["sms", "chat"]'))
    own = str(client.make_url("/").origin())
    for origin in (own, "https://shop.example"):
        socket = await client.ws_connect("/chat/ws", headers={"Origin": origin})
        await socket.send_json({"type": "start"})
        assert (await next_frame(socket, "started"))["token"]
        await socket.close()
    for origin in ("https://evil.example", "https://shop.example:8443", "null"):
        refused = await client.get(
            "/chat/ws", headers={"Origin": origin, "Connection": "Upgrade", "Upgrade": "websocket"}
        )
        assert refused.status == 403
        assert (await refused.json())["error"]["code"] == "chat.origin_refused"
    policy = (await client.get("/chat/")).headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://shop.example " in policy


async def test_a_visitor_who_ends_a_waiting_chat_abandons_it(chat_client: Client) -> None:
    socket, _ = await start(chat_client)
    ack = await say(socket, "Never mind")
    await next_frame(socket, "queued")
    await socket.send_json({"type": "end"})
    assert (await next_frame(socket, "ended"))["interaction_id"] == ack["interaction_id"]
    assert await state_of(chat_client, ack["interaction_id"]) == "abandoned"
    sam = await login(chat_client, "sam")
    detail = await interaction(chat_client, sam, ack["interaction_id"])
    assert (detail["events"][-1]["type"], detail["events"][-1]["data"]["reason"]) == ("abandoned", "customer_ended")
    # Nothing open is left to end.
    await socket.send_json({"type": "end"})
    assert (await next_frame(socket, "error"))["code"] == "chat.no_chat"
    await socket.close()


async def test_a_visitor_ends_an_answered_chat_the_agent_hears_it_and_the_rating_is_in_the_timeline(
    chat_client: Client,
) -> None:
    socket, started = await start(chat_client, name="Jane")
    await socket.send_json({"type": "rate", "score": 5})
    assert (await next_frame(socket, "error"))["code"] == "chat.no_chat"
    ack = await say(socket, "My bill is wrong")
    alice = await login(chat_client, "alice")
    agent_socket = await chat_client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(agent_socket, "hello")
    await set_status(chat_client, alice, "available")
    await accept(chat_client, alice, ack["interaction_id"])

    await socket.send_json({"type": "end"})
    await next_frame(socket, "ended")
    assert (await next_frame(agent_socket, "customer_ended"))["interaction_id"] == ack["interaction_id"]
    # Still the agent's, to complete with a disposition.
    assert await state_of(chat_client, ack["interaction_id"]) == "assigned"

    for bad in (0, 6, 2.5, True, "5", None):
        await socket.send_json({"type": "rate", "score": bad})
        assert (await next_frame(socket, "error"))["code"] == "chat.bad_frame", bad
    await socket.send_json({"type": "rate", "score": 4, "comment": "x" * 1001})
    assert (await next_frame(socket, "error"))["code"] == "chat.too_large"
    await socket.send_json({"type": "rate", "score": 4, "comment": "  <b>Quick</b>, thanks  "})
    assert (await next_frame(socket, "rated"))["interaction_id"] == ack["interaction_id"]
    await socket.send_json({"type": "rate", "score": 1})
    assert (await next_frame(socket, "error"))["code"] == "chat.already_rated"
    # A page reloaded knows not to ask again.
    again, resumed = await resume(chat_client, started["token"])
    assert (resumed["type"], resumed["rated"]) == ("resumed", True)
    await again.close()

    detail = await interaction(chat_client, alice, ack["interaction_id"])
    events = {event["type"]: event for event in detail["events"]}
    assert events["customer_ended"]["actor"]["kind"] == "customer"
    assert events["rated"]["data"] == {"score": 4, "comment": "<b>Quick</b>, thanks"}
    # And in the customer's timeline, which lists their interactions with their events.
    customer = await chat_client.get(f"/api/v1/customers/{detail['customer_id']}", headers=alice)
    [listed] = (await customer.json())["interactions"]
    assert "rated" in [event["type"] for event in listed["events"]]
    await socket.close()
    await agent_socket.close()


async def test_a_rating_sent_from_two_tabs_at_once_is_kept_once(chat_client: Client) -> None:
    socket, started = await start(chat_client, name="Jane")
    ack = await say(socket, "My bill is wrong")
    await socket.send_json({"type": "end"})
    await next_frame(socket, "ended")
    other, _ = await resume(chat_client, started["token"])

    await asyncio.gather(socket.send_json({"type": "rate", "score": 5}), other.send_json({"type": "rate", "score": 1}))
    answers = sorted([await socket.receive_json(), await other.receive_json()], key=lambda frame: str(frame["type"]))
    assert [(frame["type"], frame.get("code")) for frame in answers] == [
        ("error", "chat.already_rated"),
        ("rated", None),
    ]
    sam = await login(chat_client, "sam")
    detail = await interaction(chat_client, sam, ack["interaction_id"])
    assert [event["type"] for event in detail["events"]].count("rated") == 1
    await socket.close()
    await other.close()
