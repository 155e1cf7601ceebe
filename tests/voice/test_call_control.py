"""The agent's and supervisor's side of a call in progress, through the API: each action's
exact request at the stub Twilio, who may do it, and the demo's refusal."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.voice import twiml
from channels.voice.settings import DEFAULT_HOLD_MUSIC
from channels.voice.twiml import VoiceUrls
from interaction_center.domain import wire
from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from storage.models import InteractionEvent, VoiceCall
from tests.support import (
    PUBLIC_BASE,
    AppFactory,
    Client,
    accept_first,
    agent_id,
    login,
    offered,
    post_sms,
    set_status,
    sms_form,
)
from tests.test_wire import AGENT_FRAMES, Heard, conformance_errors, frame_errors
from tests.twilio_stub import TwilioStub
from tests.voice.support import CONFERENCE_SID, Caller, conference_started, said, verbs, voice_settings


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


async def _connected(client: Client, caller: Caller, agent: str = "alice") -> tuple[str, dict[str, str]]:
    interaction_id, headers = await _accepted(client, caller, agent)
    await conference_started(caller, interaction_id)
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
    assert conformance_errors(await held.json(), wire.CallHoldBody) == []
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
    await conference_started(caller, interaction_id)
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
    hangup = await demo.post(f"/api/v1/interactions/{interaction_id}/call/hangup", headers=alice)
    await _refused(hangup, 409, "voice.not_configured")
    bob_id = await agent_id(demo, await login(demo, "bob"))
    consult = await demo.post(
        f"/api/v1/interactions/{interaction_id}/call/consult", json={"agent_id": bob_id}, headers=alice
    )
    await _refused(consult, 409, "voice.not_configured")
    sam = await login(demo, "sam")
    monitor = await demo.post(
        f"/api/v1/interactions/{interaction_id}/call/monitor", json={"mode": "listen"}, headers=sam
    )
    await _refused(monitor, 409, "voice.not_configured")
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


ADMIN = '\n[[agents]]\nusername = "ada"\nrole = "admin"\npassword = "ada-pass"\n'


async def _admin(client: Client) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": "ada", "password": "ada-pass"})
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


@pytest.mark.parametrize(
    ("mode", "fields"),
    [
        ("listen", {"Muted": "true", "Coaching": "false"}),
        ("whisper", {"Muted": "false", "Coaching": "true", "CallSidToCoach": "agent"}),
        ("barge", {"Muted": "false", "Coaching": "false"}),
    ],
)
async def test_a_supervisor_joins_the_call_as_asked(
    phone: Client, twilio_stub: TwilioStub, mode: str, fields: dict[str, str]
) -> None:
    caller = Caller(phone)
    interaction_id, _ = await _connected(phone, caller)
    agent_leg = (await _call(phone, caller)).agent_call_sid
    assert agent_leg is not None
    sam = await login(phone, "sam")
    response = await phone.post(f"/api/v1/interactions/{interaction_id}/call/monitor", json={"mode": mode}, headers=sam)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert conformance_errors(body, wire.CallMonitorBody) == []

    supervisor = twilio_stub.sent("POST", f"/Conferences/{interaction_id}/Participants.json")[-1]
    expected = {key: agent_leg if value == "agent" else value for key, value in fields.items()}
    assert {key: supervisor.form.get(key) for key in ("Muted", "Coaching", "CallSidToCoach")} == {
        "Muted": expected["Muted"],
        "Coaching": expected["Coaching"],
        "CallSidToCoach": expected.get("CallSidToCoach"),
    }
    assert (supervisor.form["To"], supervisor.form["From"], supervisor.form["Label"]) == (
        "client:sam",
        "+15005550006",
        "supervisor",
    )
    assert (supervisor.form["StartConferenceOnEnter"], supervisor.form["Beep"]) == ("false", "false")
    assert body["mode"] == mode and body["interaction_id"] == interaction_id
    assert (await _call(phone, caller)).supervisor_call_sid == body["supervisor_call_sid"]
    [event] = await _events(phone, interaction_id, "call_monitored")
    assert event.data["mode"] == mode and event.actor_kind == "agent"


async def test_the_supervisor_changes_mode_on_the_leg_they_have(phone: Client, twilio_stub: TwilioStub) -> None:
    caller = Caller(phone)
    interaction_id, _ = await _connected(phone, caller)
    agent_leg = (await _call(phone, caller)).agent_call_sid
    sam = await login(phone, "sam")
    url = f"/api/v1/interactions/{interaction_id}/call/monitor"
    leg = (await (await phone.post(url, json={"mode": "listen"}, headers=sam)).json())["supervisor_call_sid"]
    participant = f"/Conferences/{CONFERENCE_SID}/Participants/{leg}.json"

    whisper = await phone.post(url, json={"mode": "whisper"}, headers=sam)
    assert (await whisper.json())["supervisor_call_sid"] == leg
    [coaching] = twilio_stub.sent("POST", participant)
    assert coaching.form == {"Muted": "false", "Coaching": "true", "CallSidToCoach": agent_leg}
    await phone.post(url, json={"mode": "barge"}, headers=sam)
    assert twilio_stub.sent("POST", participant)[-1].form == {"Muted": "false", "Coaching": "false"}
    # Dialled once: the later modes changed the leg sam has.
    assert len(twilio_stub.sent("POST", f"/Conferences/{interaction_id}/Participants.json")) == 2
    events = await _events(phone, interaction_id, "call_monitored")
    assert [e.data["mode"] for e in events] == ["listen", "whisper", "barge"]

    # Sam hangs up: the next request rings them in again.
    ended = f"/twilio/voice/participant?conference={interaction_id}&label=supervisor"
    await caller.note(ended, caller.form(CallSid=leg, CallStatus="completed"))
    assert (await _call(phone, caller)).supervisor_call_sid is None
    assert len(await _events(phone, interaction_id, "call_monitor_ended")) == 1
    again = await phone.post(url, json={"mode": "listen"}, headers=sam)
    assert (await again.json())["supervisor_call_sid"] != leg
    assert len(twilio_stub.sent("POST", f"/Conferences/{interaction_id}/Participants.json")) == 3


async def test_the_work_list_and_the_supervisors_socket_say_who_monitors_a_call(
    phone: Client, twilio_stub: TwilioStub
) -> None:
    caller = Caller(phone)
    interaction_id, alice = await _connected(phone, caller)
    sam = await login(phone, "sam")
    sam_id, alice_id = await agent_id(phone, sam), await agent_id(phone, alice)
    socket = Heard(await phone.ws_connect("/api/v1/ws", headers=sam))
    await socket.next("hello")

    async def monitor() -> Any:
        response = await phone.get(f"/api/v1/agents/{alice_id}/work", headers=sam)
        body = await response.json()
        assert conformance_errors(body, wire.WorkBody) == []
        [held] = body["assigned"]
        # The agent's own list says the same.
        [own] = (await (await phone.get("/api/v1/work", headers=alice)).json())["assigned"]
        assert own["monitor"] == held["monitor"]
        return held["monitor"]

    assert await monitor() is None
    url = f"/api/v1/interactions/{interaction_id}/call/monitor"
    leg = (await (await phone.post(url, json={"mode": "listen"}, headers=sam)).json())["supervisor_call_sid"]
    assert (await socket.next("monitor"))["mode"] == "listen"
    await phone.post(url, json={"mode": "whisper"}, headers=sam)
    whisper = await socket.next("monitor")
    assert whisper == {"type": "monitor", "interaction_id": interaction_id, "mode": "whisper", "log": whisper["log"]}
    assert await monitor() == {"supervisor_id": sam_id, "mode": "whisper"}

    # Sam's leg ends: the work list and sam's socket say so.
    ended = f"/twilio/voice/participant?conference={interaction_id}&label=supervisor"
    await caller.note(ended, caller.form(CallSid=leg, CallStatus="completed"))
    assert (await socket.next("monitor"))["mode"] is None
    assert await monitor() is None
    assert frame_errors([socket], AGENT_FRAMES) == []
    await socket.socket.close()


async def test_a_supervisor_on_a_call_transferred_to_a_queue_hears_their_leg_ended(
    phone: Client, twilio_stub: TwilioStub
) -> None:
    caller = Caller(phone)
    interaction_id, alice = await _connected(phone, caller)
    sam = await login(phone, "sam")
    socket = Heard(await phone.ws_connect("/api/v1/ws", headers=sam))
    await socket.next("hello")
    url = f"/api/v1/interactions/{interaction_id}/call/monitor"
    assert (await phone.post(url, json={"mode": "listen"}, headers=sam)).status == 200
    assert (await socket.next("monitor"))["mode"] == "listen"

    # The caller leaves the conference for the queue, and every leg in it ends.
    response = await phone.post(
        f"/api/v1/interactions/{interaction_id}/transfer", json={"queue": "sales"}, headers=alice
    )
    assert response.status == 200, await response.text()
    assert (await socket.next("monitor"))["mode"] is None
    call = await _call(phone, caller)
    assert (call.supervisor_id, call.supervisor_call_sid, call.supervisor_mode) == (None, None, None)
    await socket.socket.close()


async def test_monitoring_is_for_supervisors_one_at_a_time(
    app_factory: AppFactory, phone_settings: Callable[..., Settings], twilio_stub: TwilioStub
) -> None:
    client = await app_factory(phone_settings(voice=ADMIN))
    caller = Caller(client)
    interaction_id, alice = await _accepted(client, caller)
    url = f"/api/v1/interactions/{interaction_id}/call/monitor"
    sam = await login(client, "sam")
    await _refused(await client.post(url, json={"mode": "listen"}, headers=sam), 409, "call.not_connected")
    await conference_started(caller, interaction_id)
    for agent in (alice, await login(client, "bob")):
        await _refused(await client.post(url, json={"mode": "listen"}, headers=agent), 403, "auth.role")
    await _refused(await client.post(url, json={"mode": "shout"}, headers=sam), 400, "call.bad_mode")
    assert (await client.post(url, json={"mode": "listen"}, headers=sam)).status == 200
    ada = await _admin(client)
    await _refused(await client.post(url, json={"mode": "barge"}, headers=ada), 409, "call.monitored")
    assert len(twilio_stub.sent("POST", f"/Conferences/{interaction_id}/Participants.json")) == 2


async def test_the_agent_hangs_up_the_call(phone: Client, twilio_stub: TwilioStub) -> None:
    caller = Caller(phone)
    interaction_id, alice = await _accepted(phone, caller)
    url = f"/api/v1/interactions/{interaction_id}/call/hangup"
    await _refused(await phone.post(url, headers=alice), 409, "call.not_connected")
    await conference_started(caller, interaction_id)
    for other in ("bob", "sam"):
        await _refused(await phone.post(url, headers=await login(phone, other)), 403, "interaction.not_yours")
    assert twilio_stub.sent("POST", f"/Conferences/{CONFERENCE_SID}.json") == []

    response = await phone.post(url, headers=alice)
    assert response.status == 200, await response.text()
    assert await response.json() == {"ok": True}
    [ended] = twilio_stub.sent("POST", f"/Conferences/{CONFERENCE_SID}.json")
    assert ended.form == {"Status": "completed"}
    [event] = await _events(phone, interaction_id, "call_hangup_requested")
    assert event.data == {"conference_sid": CONFERENCE_SID}
    # Twilio then reports the caller's call over: the talk ends, the agent completes.
    await caller.hang_up()
    assert len(await _events(phone, interaction_id, "call_talk_ended")) == 1
    done = await phone.post(
        f"/api/v1/interactions/{interaction_id}/complete", json={"disposition": "resolved"}, headers=alice
    )
    assert done.status == 200, await done.text()


async def _consulting(client: Client, caller: Caller) -> tuple[str, dict[str, str], dict[str, str], str]:
    """Alice on the call consults bob (available): the interaction, alice's and bob's
    headers and bob's leg."""
    interaction_id, alice = await _connected(client, caller)
    bob = await login(client, "bob")
    await set_status(client, bob, "available")
    url = f"/api/v1/interactions/{interaction_id}/call/consult"
    response = await client.post(url, json={"agent_id": await agent_id(client, bob)}, headers=alice)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert conformance_errors(body, wire.CallConsultBody) == []
    assert body["agent_id"] == await agent_id(client, bob)
    return interaction_id, alice, bob, str(body["consult_call_sid"])


async def _consult_leg(caller: Caller, interaction_id: str, leg: str, status: str) -> None:
    path = f"/twilio/voice/participant?conference={interaction_id}&label=consult"
    await caller.note(path, caller.form(CallSid=leg, CallStatus=status))


async def test_a_warm_transfer_hands_the_call_to_the_agent_consulted(phone: Client, twilio_stub: TwilioStub) -> None:
    caller = Caller(phone)
    interaction_id, alice, bob, leg = await _consulting(phone, caller)
    alice_leg = (await _call(phone, caller)).agent_call_sid
    customer = f"/Conferences/{CONFERENCE_SID}/Participants/{caller.call_sid}.json"
    [hold] = twilio_stub.sent("POST", customer)
    assert hold.form == {"Hold": "true", "HoldUrl": DEFAULT_HOLD_MUSIC}
    consult = twilio_stub.sent("POST", f"/Conferences/{interaction_id}/Participants.json")[-1]
    assert (consult.form["To"], consult.form["Label"], consult.form["From"]) == (
        "client:bob",
        "consult",
        "+15005550006",
    )

    handover = f"/api/v1/interactions/{interaction_id}/call/handover"
    await _refused(await phone.post(handover, headers=alice), 409, "call.consult_not_answered")
    await _consult_leg(caller, interaction_id, leg, "in-progress")
    response = await phone.post(handover, headers=alice)
    assert response.status == 200, await response.text()
    assert conformance_errors(await response.json(), wire.InteractionBody) == []
    assert (await response.json())["state"] in ("queued", "offered")
    [removed] = twilio_stub.sent("DELETE", f"/Conferences/{CONFERENCE_SID}/Participants/{alice_leg}.json")
    assert removed.form == {}
    assert twilio_stub.sent("POST", customer)[-1].form == {"Hold": "false"}
    [handed] = await _events(phone, interaction_id, "call_handed_over")
    assert handed.data["to_agent"] == await agent_id(phone, bob)

    # Reserved for bob, who takes the call as it is: nobody dialled, nobody moved.
    assert (await accept_first(phone, bob))["id"] == interaction_id
    call = await _call(phone, caller)
    assert (call.phase, call.agent_call_sid, call.consult_call_sid) == ("bridged", leg, None)
    assert len(twilio_stub.sent("POST", "/Participants.json")) == 2
    assert len(twilio_stub.sent("POST", f"/Calls/{caller.call_sid}.json")) == 1
    assert len(await _events(phone, interaction_id, "call_taken_over")) == 1
    # The call is bob's now: he holds the customer, alice may not.
    hold_url = f"/api/v1/interactions/{interaction_id}/call/hold"
    await _refused(await phone.post(hold_url, json={"on": True}, headers=alice), 403, "interaction.not_yours")
    assert (await phone.post(hold_url, json={"on": True}, headers=bob)).status == 200


async def test_a_consultation_is_refused_clearly_and_may_end_without_a_handover(
    phone: Client, twilio_stub: TwilioStub
) -> None:
    caller = Caller(phone)
    interaction_id, alice = await _accepted(phone, caller)
    bob = await login(phone, "bob")
    bob_id = await agent_id(phone, bob)
    url = f"/api/v1/interactions/{interaction_id}/call/consult"
    await _refused(await phone.post(url, json={"agent_id": bob_id}, headers=alice), 409, "call.not_connected")
    await conference_started(caller, interaction_id)
    handover = f"/api/v1/interactions/{interaction_id}/call/handover"
    await _refused(await phone.post(handover, headers=alice), 409, "call.no_consult")
    alice_id = await agent_id(phone, alice)
    await _refused(await phone.post(url, json={"agent_id": alice_id}, headers=alice), 400, "call.consult_self")
    await _refused(await phone.post(url, json={"agent_id": "nobody"}, headers=alice), 404, "agent.not_found")
    await _refused(await phone.post(url, json={"agent_id": bob_id}, headers=bob), 403, "interaction.not_yours")
    assert twilio_stub.sent("POST", "/Participants/") == []

    leg = (await (await phone.post(url, json={"agent_id": bob_id}, headers=alice)).json())["consult_call_sid"]
    await _refused(await phone.post(url, json={"agent_id": bob_id}, headers=alice), 409, "call.consulting")
    # Bob does not answer: the consultation is over, the customer still on hold for alice.
    await _consult_leg(caller, interaction_id, leg, "no-answer")
    call = await _call(phone, caller)
    assert (call.phase, call.consult_call_sid) == ("bridged", None)
    assert len(await _events(phone, interaction_id, "call_consult_ended")) == 1
    await _refused(await phone.post(handover, headers=alice), 409, "call.no_consult")
    assert (
        await phone.post(f"/api/v1/interactions/{interaction_id}/call/hold", json={"on": False}, headers=alice)
    ).status == 200


async def test_a_consulted_agent_who_leaves_before_taking_the_call_leaves_the_caller_waiting(
    phone: Client, twilio_stub: TwilioStub
) -> None:
    caller = Caller(phone)
    interaction_id, alice, bob, leg = await _consulting(phone, caller)
    await _consult_leg(caller, interaction_id, leg, "in-progress")
    # Bob goes away first, so the offer waits for him.
    await set_status(phone, bob, "away")
    assert (await phone.post(f"/api/v1/interactions/{interaction_id}/call/handover", headers=alice)).status == 200
    await _consult_leg(caller, interaction_id, leg, "completed")
    back = twilio_stub.sent("POST", f"/Calls/{caller.call_sid}.json")[-1]
    assert back.form == {"Twiml": twiml.enqueued((), VoiceUrls(PUBLIC_BASE), interaction_id)}
    assert (await _call(phone, caller)).phase == "queued"
    # Back, bob accepts: the call is put through to him as any waiting call.
    await set_status(phone, bob, "available")
    assert (await accept_first(phone, bob))["id"] == interaction_id
    moved = twilio_stub.sent("POST", f"/Calls/{caller.call_sid}.json")[-1]
    assert f">{interaction_id}</Conference>" in moved.form["Twiml"]
    dialled = twilio_stub.sent("POST", f"/Conferences/{interaction_id}/Participants.json")[-1]
    assert (dialled.form["To"], dialled.form["Label"]) == ("client:bob", "agent")


async def test_a_handover_the_consulted_agent_lets_pass_goes_to_whoever_accepts(
    app_factory: AppFactory, phone_settings: Callable[..., Settings], twilio_stub: TwilioStub
) -> None:
    client = await app_factory(phone_settings(routing="transfer_window_seconds = 0.3"))
    caller = Caller(client)
    interaction_id, alice, bob, leg = await _consulting(client, caller)
    await _consult_leg(caller, interaction_id, leg, "in-progress")
    await set_status(client, bob, "away")
    assert (await client.post(f"/api/v1/interactions/{interaction_id}/call/handover", headers=alice)).status == 200
    # Bob's reservation passes; alice, free again, is offered it and accepts.
    for _ in range(100):
        if await offered(client, alice):
            break
        await asyncio.sleep(0.05)
    assert (await accept_first(client, alice))["id"] == interaction_id
    [removed] = twilio_stub.sent("DELETE", f"/Conferences/{CONFERENCE_SID}/Participants/{leg}.json")
    assert removed.form == {}
    dialled = twilio_stub.sent("POST", f"/Conferences/{interaction_id}/Participants.json")
    assert [(r.form["To"], r.form["Label"]) for r in dialled] == [
        ("client:alice", "agent"),
        ("client:bob", "consult"),
        ("client:alice", "agent"),
    ]
    call = await _call(client, caller)
    assert (call.phase, call.consult_call_sid) == ("bridged", None)
    # The caller stayed in the conference throughout.
    assert len(twilio_stub.sent("POST", f"/Calls/{caller.call_sid}.json")) == 1


async def test_a_call_on_the_work_list_has_nothing_unread(phone: Client, twilio_stub: TwilioStub) -> None:
    """A call is answered by voice: the message that stands for it coming in waits for no
    written reply, and the desk shows nothing unread for it."""
    caller = Caller(phone)
    interaction_id, alice = await _accepted(phone, caller)
    work = await (await phone.get("/api/v1/work", headers=alice)).json()
    assert [(item["id"], item["unread"]) for item in work["assigned"]] == [(interaction_id, 0)]
