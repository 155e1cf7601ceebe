"""SMS made complete: delivery reports, MMS media, STOP/START/HELP, long replies."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import ClientResponse
from sqlalchemy import select

from interaction_center.web.keys import SERVICES
from storage import interactions as store
from storage.models import Interaction
from storage.reader import in_session
from tests.support import (
    PUBLIC_BASE,
    Client,
    accept_first,
    interaction,
    login,
    offered,
    post_sms,
    set_status,
    sms_form,
    twilio_signature,
)
from tests.twilio_stub import TwilioStub


async def _post_status(client: Client, form: dict[str, str], signature: str | None = None) -> ClientResponse:
    headers = {
        "X-Twilio-Signature": signature or twilio_signature("/twilio/sms/status", form),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return await client.post("/twilio/sms/status", data=urlencode(form), headers=headers)


async def _replied(client: Client, twilio_stub: TwilioStub, body: str = "On it") -> tuple[dict[str, str], str, str]:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    taken = await accept_first(client, alice)
    response = await client.post(f"/api/v1/interactions/{taken['id']}/messages", json={"body": body}, headers=alice)
    assert response.status == 201, await response.text()
    return alice, taken["id"], (await response.json())["external_id"]


async def test_delivery_reports_update_the_sent_message_and_never_go_back(
    client: Client, twilio_stub: TwilioStub
) -> None:
    alice, interaction_id, sid = await _replied(client, twilio_stub)
    assert twilio_stub.requests[0].form["StatusCallback"] == PUBLIC_BASE + "/twilio/sms/status"
    for status in ("sent", "delivered", "sent"):
        response = await _post_status(client, {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC1"})
        assert response.status == 204
    record = await interaction(client, alice, interaction_id)
    sent = record["messages"][-1]
    assert sent["status"] == "delivered"
    reports = [e["data"]["status"] for e in record["events"] if e["type"] == "message_status"]
    assert reports == ["sent", "delivered"]


async def test_a_failed_delivery_keeps_its_error_code(client: Client, twilio_stub: TwilioStub) -> None:
    alice, interaction_id, sid = await _replied(client, twilio_stub)
    form = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert (await _post_status(client, form)).status == 204
    sent = (await interaction(client, alice, interaction_id))["messages"][-1]
    assert (sent["status"], sent["error"]) == ("undelivered", "sms error 30003")


async def test_delivery_reports_are_verified_and_checked(client: Client, twilio_stub: TwilioStub) -> None:
    alice, interaction_id, sid = await _replied(client, twilio_stub)
    forged = await _post_status(client, {"MessageSid": sid, "MessageStatus": "delivered"}, signature="forged")
    assert forged.status == 403
    bad = await _post_status(client, {"MessageSid": sid, "MessageStatus": "teleported"})
    assert (bad.status, (await bad.json())["error"]["code"]) == (400, "webhook.bad_field")
    missing = await _post_status(client, {"MessageStatus": "delivered"})
    assert missing.status == 400
    unknown = await _post_status(client, {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"})
    assert unknown.status == 204
    sent = (await interaction(client, alice, interaction_id))["messages"][-1]
    assert sent["status"] == "queued"


async def test_mms_media_is_stored_on_the_message(client: Client) -> None:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    form = sms_form(body="see photo") | {
        "NumMedia": "2",
        "MediaUrl0": "https://api.twilio.com/media/ME1",
        "MediaContentType0": "image/jpeg",
        "MediaUrl1": "https://api.twilio.com/media/ME2",
        "MediaContentType1": "application/pdf",
    }
    assert (await post_sms(client, form)).status == 200
    taken = await accept_first(client, alice)
    assert taken["messages"][0]["attributes"]["media"] == [
        {"url": "https://api.twilio.com/media/ME1", "content_type": "image/jpeg"},
        {"url": "https://api.twilio.com/media/ME2", "content_type": "application/pdf"},
    ]


async def test_malformed_media_fields_are_refused(client: Client) -> None:
    for extra in ({"NumMedia": "many"}, {"NumMedia": "11"}, {"NumMedia": "1"}, {"NumMedia": "1", "MediaUrl0": "x"}):
        response = await post_sms(client, sms_form() | extra)
        assert (response.status, (await response.json())["error"]["code"]) == (400, "webhook.bad_field"), extra


async def test_stop_blocks_replies_until_start(client: Client, twilio_stub: TwilioStub) -> None:
    alice, sam = await login(client, "alice"), await login(client, "sam")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(body="hello"))
    taken = await accept_first(client, alice)
    await post_sms(client, sms_form(body=" stop "))
    url = f"/api/v1/interactions/{taken['id']}/messages"
    refused = await client.post(url, json={"body": "Are you there?"}, headers=alice)
    assert (refused.status, (await refused.json())["error"]["code"]) == (409, "sms.opted_out")
    assert twilio_stub.requests == []
    await post_sms(client, sms_form(body="START"))
    allowed = await client.post(url, json={"body": "Welcome back"}, headers=alice)
    assert allowed.status == 201
    record = await interaction(client, sam, taken["id"])
    assert [e["type"] for e in record["events"] if e["type"].startswith("opted")] == ["opted_out", "opted_in"]
    assert [m["attributes"].get("keyword") for m in record["messages"] if m["direction"] == "inbound"] == [
        None,
        "STOP",
        "START",
    ]


async def test_a_long_reply_goes_out_as_one_message(client: Client, twilio_stub: TwilioStub) -> None:
    long = "Thank you for waiting. " * 60
    await _replied(client, twilio_stub, body=long[:1600])
    [request] = twilio_stub.requests
    assert request.form["Body"] == long[:1600]


async def test_a_keyword_that_continues_no_conversation_is_filed_never_offered(client: Client) -> None:
    """STOP, START and HELP are instructions: from a number with no open conversation each
    is kept on the customer's record, closed at once, and no agent is offered it."""
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    for n, word in enumerate(("STOP", " start ", "help")):
        response = await post_sms(client, sms_form(sender=f"+1555123010{n}", body=word))
        assert response.status == 200
    assert await offered(client, alice) == []
    async with client.app[SERVICES].sessions() as session:
        rows = (
            await session.scalars(select(Interaction).where(Interaction.thread_key.like("sms:%:+1555123010%")))
        ).all()
        events = await in_session(session, lambda conn: store.events(conn, [row.id for row in rows]))
    assert sorted(row.state for row in rows) == ["cancelled"] * 3
    filed = [event.data for event in events if event.type == "filed"]
    assert filed == [{"from": "new", "to": "cancelled", "reason": "keyword"}] * 3
    # A conversation after the keyword is a contact like any other.
    await post_sms(client, sms_form(sender="+15551230100", body="Why did you stop texting me?"))
    [offer] = await offered(client, alice)
    assert offer["messages"][0]["body"] == "Why did you stop texting me?"
