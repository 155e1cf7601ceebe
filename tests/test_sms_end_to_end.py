"""One SMS through every layer, on SQLite and on PostgreSQL, with real clients on loopback."""

from __future__ import annotations

from datetime import datetime

from tests.support import (
    ACCOUNT_SID,
    OUR_NUMBER,
    PUBLIC_BASE,
    Client,
    login,
    next_frame,
    post_sms,
    set_status,
    sms_form,
)
from tests.twilio_stub import TwilioStub


async def test_sms_is_offered_answered_and_recorded_on_the_customer(client: Client, twilio_stub: TwilioStub) -> None:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    hello = await next_frame(socket, "hello")
    assert hello["offers"] == []

    response = await post_sms(client, sms_form(sender="(555) 123-0001", body="My bill is wrong"))
    assert response.status == 200
    assert "<Response" in await response.text()

    offer = await next_frame(socket, "offer")
    assert offer["channel"] == "sms" and offer["queue"] == "support"
    accepted = await client.post(f"/api/v1/offers/{offer['offer_id']}/accept", headers=alice)
    assert accepted.status == 200, await accepted.text()
    interaction = await accepted.json()
    assert interaction["state"] == "assigned"
    assert [m["body"] for m in interaction["messages"]] == ["My bill is wrong"]

    reply = await client.post(
        f"/api/v1/interactions/{interaction['id']}/messages", json={"body": "Sorry! Fixing it now."}, headers=alice
    )
    assert reply.status == 201, await reply.text()
    assert (await reply.json())["status"] == "queued"
    [sent] = twilio_stub.requests
    assert sent.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent.form == {
        "To": "+15551230001",
        "From": OUR_NUMBER,
        "Body": "Sorry! Fixing it now.",
        "StatusCallback": f"{PUBLIC_BASE}/twilio/sms/status",
    }

    done = await client.post(
        f"/api/v1/interactions/{interaction['id']}/complete", json={"disposition": "resolved"}, headers=alice
    )
    assert done.status == 200, await done.text()
    assert (await done.json())["state"] == "completed"

    sam = await login(client, "sam")
    customer = await (await client.get(f"/api/v1/customers/{interaction['customer_id']}", headers=sam)).json()
    assert customer["identities"] == [{"kind": "phone", "value": "+15551230001", "opted_out_at": None}]
    [record] = customer["interactions"]
    assert record["id"] == interaction["id"] and record["disposition"] == "resolved"
    events = record["events"]
    assert [e["type"] for e in events] == [
        "created",
        "queued",
        "message_received",
        "offered",
        "accepted",
        "message_sent",
        "wrap_up_started",
        "completed",
    ]
    alice_id = interaction["offer"]["agent_id"] if interaction["offer"] else interaction["assigned_agent_id"]
    assert [e["actor"] for e in events] == [
        {"kind": "customer", "id": customer["id"]},
        {"kind": "system", "id": None},
        {"kind": "customer", "id": customer["id"]},
        {"kind": "system", "id": None},
        {"kind": "agent", "id": alice_id},
        {"kind": "agent", "id": alice_id},
        {"kind": "agent", "id": alice_id},
        {"kind": "agent", "id": alice_id},
    ]
    times = [datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times)
    assert [m["direction"] for m in record["messages"]] == ["inbound", "outbound"]
    await socket.close()


async def test_the_same_webhook_twice_makes_one_interaction_and_one_message(client: Client) -> None:
    form = sms_form()
    first = await post_sms(client, form)
    second = await post_sms(client, form)
    assert first.status == second.status == 200

    sam = await login(client, "sam")
    customer_id = await _only_customer_id(client)
    customer = await (await client.get(f"/api/v1/customers/{customer_id}", headers=sam)).json()
    [interaction] = customer["interactions"]
    assert len(interaction["messages"]) == 1


async def test_a_second_sms_continues_the_open_conversation(client: Client) -> None:
    await post_sms(client, sms_form(body="first"))
    await post_sms(client, sms_form(body="second"))
    await post_sms(client, sms_form(sender="+15551230002", body="someone else"))
    sam = await login(client, "sam")
    queues = await (await client.get("/api/v1/queues", headers=sam)).json()
    assert {(q["queue"], q["channel"]): q["waiting"] for q in queues["queues"]} == {
        ("support", "sms"): 2,
        ("sales", "sms"): 0,
    }


async def _only_customer_id(client: Client) -> str:
    from sqlalchemy import select

    from interaction_center.web.keys import SERVICES
    from storage.models import Customer

    async with client.app[SERVICES].sessions() as session:
        [customer_id] = (await session.scalars(select(Customer.id))).all()
    return str(customer_id)
