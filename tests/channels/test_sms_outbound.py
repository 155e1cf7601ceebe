"""Replies by SMS: what Twilio refuses, or a channel without credentials, is a clear
error to the agent and stays on record."""

from __future__ import annotations

from collections.abc import Callable

from interaction_center.settings.model import Settings
from tests.support import AppFactory, Client, login, post_sms, set_status, sms_form
from tests.twilio_stub import TwilioStub


async def _assigned(client: Client) -> tuple[dict[str, str], str]:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    [offer] = (await (await client.get("/api/v1/offers", headers=alice)).json())["offers"]
    accepted = await client.post(f"/api/v1/offers/{offer['offer']['id']}/accept", headers=alice)
    assert accepted.status == 200
    return alice, str(offer["id"])


async def test_a_reply_twilio_refuses_is_a_502_and_is_recorded_as_failed(
    client: Client, twilio_stub: TwilioStub
) -> None:
    alice, interaction_id = await _assigned(client)
    twilio_stub.fail_with = 400
    response = await client.post(f"/api/v1/interactions/{interaction_id}/messages", json={"body": "hi"}, headers=alice)
    assert response.status == 502
    assert (await response.json())["error"]["code"] == "sms.refused"
    record = await (await client.get(f"/api/v1/interactions/{interaction_id}", headers=alice)).json()
    failed = record["messages"][-1]
    assert (failed["direction"], failed["status"], failed["body"]) == ("outbound", "failed", "hi")
    assert "unsubscribed" in failed["error"]
    assert record["events"][-1]["type"] == "message_failed"
    assert record["state"] == "assigned"


async def test_an_unreachable_twilio_is_a_502(
    app_factory: AppFactory, settings_factory: Callable[..., Settings], twilio_stub: TwilioStub
) -> None:
    settings = settings_factory()
    assert twilio_stub.server is not None
    await twilio_stub.server.close()
    client = await app_factory(settings)
    alice, interaction_id = await _assigned(client)
    response = await client.post(f"/api/v1/interactions/{interaction_id}/messages", json={"body": "hi"}, headers=alice)
    assert response.status == 502
    assert (await response.json())["error"]["code"] == "sms.unreachable"


async def test_without_twilio_credentials_replies_are_refused_clearly(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    import dataclasses

    settings = settings_factory()
    settings = dataclasses.replace(settings, twilio=dataclasses.replace(settings.twilio, account_sid=""))
    client = await app_factory(settings)
    alice, interaction_id = await _assigned(client)
    response = await client.post(f"/api/v1/interactions/{interaction_id}/messages", json={"body": "hi"}, headers=alice)
    # Not a 5xx: nothing upstream failed, the service is not set up to send SMS.
    assert response.status == 409
    assert (await response.json())["error"]["code"] == "channel.not_configured"
