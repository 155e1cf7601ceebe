"""Conversations an agent starts: an SMS to a customer becomes an interaction assigned to
the agent, whose answer continues it; a number that replied STOP is refused with its code,
and so is a second conversation while the first is open; bad requests change nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from interaction_center.web.keys import SERVICES
from storage.models import Interaction
from tests.support import Client, agent_id, interaction, login, offered, post_sms, routed, sms_form
from tests.twilio_stub import TwilioStub

CUSTOMER = "+15551230009"


async def _start(client: Client, headers: dict[str, str], **body: Any) -> Any:
    return await client.post("/api/v1/interactions", json={"channel": "sms", "to": CUSTOMER} | body, headers=headers)


async def _interactions(client: Client) -> int:
    async with client.app[SERVICES].sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Interaction)) or 0)


async def test_an_agent_starts_an_sms_conversation_and_the_answer_continues_it(
    client: Client, twilio_stub: TwilioStub
) -> None:
    alice = await login(client, "alice")
    started = await _start(client, alice, to="(555) 123-0009", body="Your order shipped today")
    assert started.status == 201, await started.text()
    body = await started.json()
    assert (body["state"], body["assigned_agent_id"], body["channel"]) == (
        "assigned",
        await agent_id(client, alice),
        "sms",
    )
    [sent] = body["messages"]
    assert (sent["direction"], sent["to"], sent["body"]) == ("outbound", CUSTOMER, "Your order shipped today")
    assert [r.form["To"] for r in twilio_stub.sent("POST", "Messages.json")] == [CUSTOMER]
    assert [e["type"] for e in body["events"]][:1] == ["outbound_started"]

    # Before any answer, the agent may write again.
    follow = await client.post(
        f"/api/v1/interactions/{body['id']}/messages", json={"body": "Tracking: 42"}, headers=alice
    )
    assert follow.status == 201, await follow.text()
    assert [r.form["To"] for r in twilio_stub.sent("POST", "Messages.json")] == [CUSTOMER, CUSTOMER]
    await post_sms(client, sms_form(sender=CUSTOMER, body="Thanks! When will it arrive?"))
    await routed(client)
    record = await interaction(client, alice, body["id"])
    assert [m["direction"] for m in record["messages"]] == ["outbound", "outbound", "inbound"]
    assert await offered(client, alice) == []
    work = await (await client.get("/api/v1/work?state=assigned", headers=alice)).json()
    assert [(w["id"], w["unread"]) for w in work["assigned"]] == [(body["id"], 1)]

    again = await _start(client, alice, body="Another thing")
    assert (again.status, (await again.json())["error"]["code"]) == (409, "outbound.open_thread")


async def test_an_opted_out_number_is_refused_and_nothing_is_made(client: Client, twilio_stub: TwilioStub) -> None:
    alice = await login(client, "alice")
    await post_sms(client, sms_form(sender=CUSTOMER, body="STOP"))
    await routed(client)
    before = await _interactions(client)
    refused = await _start(client, alice, body="A special offer")
    assert (refused.status, (await refused.json())["error"]["code"]) == (409, "sms.opted_out")
    assert await _interactions(client) == before
    assert twilio_stub.sent("POST", "Messages.json") == []


async def test_bad_starts_are_refused(client: Client) -> None:
    alice = await login(client, "alice")
    before = await _interactions(client)
    for body, code in (
        ({"channel": "chat"}, "outbound.channel"),
        ({"to": "not a number"}, "contact.invalid_phone"),
        ({"body": "   "}, "message.empty"),
        ({"body": "x" * 1601}, "message.too_long"),
    ):
        response = await _start(client, alice, **({"body": "hi"} | body))
        assert (response.status, (await response.json())["error"]["code"])[1] == code, body
    assert await _interactions(client) == before


async def test_an_email_with_no_relay_to_send_it_is_a_conflict_not_a_server_error(client: Client) -> None:
    # Found by schemathesis (tests/web/test_schemathesis.py): it was a 502, as if a gateway had failed.
    alice = await login(client, "alice")
    before = await _interactions(client)
    response = await _start(client, alice, channel="email", to="jane@customer.test", subject="Hi", body="Hello")
    assert (response.status, (await response.json())["error"]["code"]) == (409, "channel.not_configured")
    assert await _interactions(client) == before
