"""The agent's and supervisor's side of a call in progress, through the API: each action's
exact request at the stub Twilio, who may do it, and the demo's refusal."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.voice import twiml
from channels.voice.settings import DEFAULT_HOLD_MUSIC
from channels.voice.twiml import VoiceUrls
from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from storage.models import InteractionEvent, VoiceCall
from tests.support import PUBLIC_BASE, AppFactory, Client, accept_first, login, post_sms, set_status, sms_form
from tests.twilio_stub import TwilioStub
from tests.voice.support import Caller, said, verbs, voice_settings

CONFERENCE_SID = "CF" + "1" * 32


@pytest.fixture
def phone_settings(tmp_path: Path, settings_factory: Callable[..., Settings]) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return voice_settings(tmp_path, settings_factory, **overrides)

    return make


@pytest.fixture
async def phone(app_factory: AppFactory, phone_settings: Callable[..., Settings]) -> Client:
    return await app_factory(phone_settings())


async def _accepted(client: Client, caller: Caller, agent: str = "alice") -> tuple[str, dict[str, str]]:
    """The caller waits in support (menu key 1) and ``agent`` accepts: the interaction's id
    and the agent's headers."""
    queued = await caller.answer(await caller.dial(), "1")
    assert verbs(queued)[-1] == "Enqueue"
    headers = await login(client, agent)
    await set_status(client, headers, "available")
    accepted = await accept_first(client, headers)
    return str(accepted["id"]), headers


async def _conference_started(caller: Caller, interaction_id: str) -> None:
    """Twilio's conference callbacks once the agent has answered: the conference is on."""
    for event, label in (("conference-start", ""), ("participant-join", "agent")):
        fields = {"FriendlyName": interaction_id, "ConferenceSid": CONFERENCE_SID, "StatusCallbackEvent": event}
        await caller.note(
            "/twilio/voice/conference", caller.form(**fields, **({"ParticipantLabel": label} if label else {}))
        )


async def _connected(client: Client, caller: Caller, agent: str = "alice") -> tuple[str, dict[str, str]]:
    interaction_id, headers = await _accepted(client, caller, agent)
    await _conference_started(caller, interaction_id)
    return interaction_id, headers


async def _events(client: Client, interaction_id: str, kind: str) -> list[InteractionEvent]:
    async with client.app[SERVICES].sessions() as session:
        rows = await session.scalars(
            select(InteractionEvent)
            .where(InteractionEvent.interaction_id == interaction_id, InteractionEvent.type == kind)
            .order_by(InteractionEvent.id)
        )
        return list(rows)


async def _call(client: Client, caller: Caller) -> VoiceCall:
    async with client.app[SERVICES].sessions() as session:
        call = await session.get(VoiceCall, caller.call_sid)
        assert call is not None
        return call


async def _refused(response: Any, status: int, code: str) -> str:
    body = await response.json()
    assert response.status == status, body
    assert body["error"]["code"] == code, body
    return str(body["error"]["message"])


async def test_the_agent_holds_the_customer_and_takes_them_back(phone: Client, twilio_stub: TwilioStub) -> None:
    caller = Caller(phone)
    interaction_id, alice = await _connected(phone, caller)
    url = f"/api/v1/interactions/{interaction_id}/call/hold"

    held = await phone.post(url, json={"on": True}, headers=alice)
    assert held.status == 200, await held.text()
    assert await held.json() == {"interaction_id": interaction_id, "on_hold": True}
    [hold] = twilio_stub.sent("POST", f"/Conferences/{CONFERENCE_SID}/Participants/{caller.call_sid}.json")
    assert hold.form == {"Hold": "true", "HoldUrl": DEFAULT_HOLD_MUSIC}

    back = await phone.post(url, json={"on": False}, headers=alice)
    assert (await back.json())["on_hold"] is False
    resume = twilio_stub.sent("POST", f"/Conferences/{CONFERENCE_SID}/Participants/{caller.call_sid}.json")[-1]
    assert resume.form == {"Hold": "false"}
    events = await _events(phone, interaction_id, "call_hold_requested")
    assert [(e.data["on"], e.actor_kind) for e in events] == [(True, "agent"), (False, "agent")]


async def test_hold_is_refused_clearly(phone: Client, twilio_stub: TwilioStub) -> None:
    caller = Caller(phone)
    interaction_id, alice = await _accepted(phone, caller)
    url = f"/api/v1/interactions/{interaction_id}/call/hold"
    # Accepted, but the agent has not answered: no conference to hold anyone in.
    await _refused(await phone.post(url, json={"on": True}, headers=alice), 409, "call.not_connected")
    await _conference_started(caller, interaction_id)
    await _refused(await phone.post(url, json={"on": "yes"}, headers=alice), 400, "call.bad_hold")
    for other in ("bob", "sam"):
        headers = await login(phone, other)
        await _refused(await phone.post(url, json={"on": True}, headers=headers), 403, "interaction.not_yours")
    assert twilio_stub.sent("POST", "/Participants/") == []

    # Once the conference has ended there is nothing to hold the customer in.
    end = {"FriendlyName": interaction_id, "ConferenceSid": CONFERENCE_SID, "StatusCallbackEvent": "conference-end"}
    await caller.note("/twilio/voice/conference", caller.form(**end))
    await _refused(await phone.post(url, json={"on": True}, headers=alice), 409, "call.not_connected")


async def test_an_sms_is_not_a_call(phone: Client) -> None:
    await post_sms(phone, sms_form())
    alice = await login(phone, "alice")
    await set_status(phone, alice, "available")
    sms = await accept_first(phone, alice)
    response = await phone.post(f"/api/v1/interactions/{sms['id']}/call/hold", json={"on": True}, headers=alice)
    await _refused(response, 409, "call.not_a_call")


async def test_the_demo_says_no_twilio_account_is_configured(
    app_factory: AppFactory, phone_settings: Callable[..., Settings], twilio_stub: TwilioStub
) -> None:
    settings = phone_settings()
    demo = await app_factory(dataclasses.replace(settings, twilio=dataclasses.replace(settings.twilio, account_sid="")))
    caller = Caller(demo)
    interaction_id, alice = await _accepted(demo, caller)
    assert (await _call(demo, caller)).phase == "bridged"
    response = await demo.post(f"/api/v1/interactions/{interaction_id}/call/hold", json={"on": True}, headers=alice)
    assert "no Twilio account is configured" in await _refused(response, 409, "voice.not_configured")
    # A transfer needs no Twilio: the call waits again, to be marked bridged for its next agent.
    transfer = await demo.post(
        f"/api/v1/interactions/{interaction_id}/transfer", json={"queue": "sales"}, headers=alice
    )
    assert transfer.status == 200, await transfer.text()
    assert (await _call(demo, caller)).phase == "queued"
    assert twilio_stub.requests == []


async def test_a_transferred_call_waits_again_in_the_new_queue(phone: Client, twilio_stub: TwilioStub) -> None:
    caller = Caller(phone)
    interaction_id, alice = await _connected(phone, caller)
    response = await phone.post(
        f"/api/v1/interactions/{interaction_id}/transfer", json={"queue": "sales"}, headers=alice
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["state"] in ("queued", "offered")

    moved, back = twilio_stub.sent("POST", f"/Calls/{caller.call_sid}.json")
    assert "<Conference" in moved.form["Twiml"]
    assert back.form == {"Twiml": twiml.enqueued((), VoiceUrls(PUBLIC_BASE), interaction_id)}
    call = await _call(phone, caller)
    assert (call.phase, call.announced_position, call.conference_sid, call.agent_call_sid) == (
        "queued",
        None,
        None,
        None,
    )
    # Their place is said afresh, in the new queue.
    assert "You are next in line." in said(await caller.wait())

    carol = await login(phone, "carol")
    await set_status(phone, carol, "available")
    assert (await accept_first(phone, carol))["id"] == interaction_id
    again = twilio_stub.sent("POST", f"/Calls/{caller.call_sid}.json")[-1]
    assert f">{interaction_id}</Conference>" in again.form["Twiml"]
    dialled = twilio_stub.sent("POST", f"/Conferences/{interaction_id}/Participants.json")
    assert [r.form["To"] for r in dialled] == ["client:alice", "client:carol"]


async def test_a_call_still_ringing_its_agent_is_not_transferred(phone: Client, twilio_stub: TwilioStub) -> None:
    caller = Caller(phone)
    interaction_id, alice = await _accepted(phone, caller)
    response = await phone.post(
        f"/api/v1/interactions/{interaction_id}/transfer", json={"queue": "sales"}, headers=alice
    )
    await _refused(response, 409, "call.not_connected")
    assert len(twilio_stub.sent("POST", f"/Calls/{caller.call_sid}.json")) == 1
    assert (await _call(phone, caller)).phase == "bridged"
