"""Whole calls driven as Twilio drives them: signed webhooks with Twilio's parameters,
every TwiML answer parsed, the REST requests the stub Twilio received, the timeline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from storage.models import Agent, Customer, CustomerIdentity, Interaction, InteractionEvent, VoiceCall
from tests.support import AppFactory, Client, accept_first, login, next_frame, offered, set_status
from tests.twilio_stub import TwilioStub
from tests.voice.support import Caller, said, text, verbs, voice_settings

ACCOUNT = "12345678"


@pytest.fixture
def phone_settings(tmp_path: Path, settings_factory: Callable[..., Settings]) -> Callable[..., Settings]:
    def make(support: str = "", voice: str = "", **overrides: Any) -> Settings:
        return voice_settings(tmp_path, settings_factory, support, voice, **overrides)

    return make


@pytest.fixture
async def phone(app_factory: AppFactory, phone_settings: Callable[..., Settings]) -> Client:
    return await app_factory(phone_settings())


async def _customer_with_account(client: Client, account: str) -> str:
    async with client.app[SERVICES].sessions.begin() as session:
        customer = Customer(display_name="Ada Lovelace")
        session.add(customer)
        await session.flush()
        session.add(CustomerIdentity(customer_id=customer.id, kind="account", value=account))
        return customer.id


async def _interaction(client: Client, caller: Caller) -> Interaction:
    async with client.app[SERVICES].sessions() as session:
        call = await session.get(VoiceCall, caller.call_sid)
        assert call is not None
        found = await session.get(Interaction, call.interaction_id)
        assert found is not None
        return found


async def _events(client: Client, interaction_id: str) -> list[InteractionEvent]:
    async with client.app[SERVICES].sessions() as session:
        rows = await session.scalars(
            select(InteractionEvent)
            .where(InteractionEvent.interaction_id == interaction_id)
            .order_by(InteractionEvent.id)
        )
        return list(rows)


async def _queued_in_support(caller: Caller) -> None:
    menu = await caller.dial()
    account = await caller.answer(menu, "2")
    queued = await caller.answer(account, ACCOUNT)
    assert verbs(queued)[-1] == "Enqueue"


async def test_a_caller_chooses_is_identified_waits_and_is_put_through_to_the_agent(
    phone: Client, twilio_stub: TwilioStub
) -> None:
    customer_id = await _customer_with_account(phone, ACCOUNT)
    caller = Caller(phone)

    menu = await caller.dial()
    assert verbs(menu) == ["Say", "Gather", "Redirect"]
    assert "Welcome to Example." in said(menu)
    gather = menu.find("Gather")
    assert gather is not None and gather.attrib["action"].endswith("/twilio/voice/step/1")
    assert gather.attrib["input"] == "dtmf" and "press 2" in said(gather)

    account = await caller.answer(menu, "2")
    assert "eight digit account number" in said(account)
    queued = await caller.answer(account, ACCOUNT)
    enqueue = queued.find("Enqueue")
    assert enqueue is not None
    interaction = await _interaction(phone, caller)
    assert enqueue.text == interaction.id
    assert enqueue.attrib["waitUrl"].endswith("/twilio/voice/wait")
    assert enqueue.attrib["action"].endswith("/twilio/voice/queue-result")
    assert (interaction.state, interaction.queue, interaction.customer_id) == ("queued", "support", customer_id)

    waiting = await caller.wait()
    assert "You are next in line." in said(waiting)
    assert verbs(waiting)[-1] == "Play"
    # Said once: the next poll is music only, until the place changes.
    assert said(await caller.wait()) == ""

    alice = await login(phone, "alice")
    desk = await phone.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(desk, "hello")
    await set_status(phone, alice, "available")
    # What the caller chose is there to read before the call is taken.
    [offer] = await offered(phone, alice)
    chose = [event["data"] for event in offer["events"] if event["type"] == "ivr_collected"]
    assert chose == [{"node": "account", "attribute": "account", "value": ACCOUNT}]
    accepted = await accept_first(phone, alice)
    assert accepted["id"] == interaction.id

    [moved] = twilio_stub.sent("POST", f"/Calls/{caller.call_sid}.json")
    assert f">{interaction.id}</Conference>" in moved.form["Twiml"]
    [dialled] = twilio_stub.sent("POST", f"/Conferences/{interaction.id}/Participants.json")
    assert dialled.form["To"] == "client:alice"
    assert dialled.form["From"] == "+15005550006"

    await caller.note(
        "/twilio/voice/conference",
        caller.form(
            FriendlyName=interaction.id,
            ConferenceSid="CF" + "1" * 32,
            StatusCallbackEvent="participant-join",
            ParticipantLabel="agent",
        ),
    )
    timeline = await phone.get(f"/api/v1/customers/{customer_id}", headers=alice)
    assert timeline.status == 200
    [call] = (await timeline.json())["interactions"]
    kinds = [event["type"] for event in call["events"]]
    for expected in ("ivr_prompt", "ivr_input", "ivr_collected", "ivr_lookup", "queued", "wait_announced"):
        assert expected in kinds, kinds
    assert kinds[-3:] == ["accepted", "call_bridging", "call_answered"]
    collected = next(event for event in call["events"] if event["type"] == "ivr_collected")
    assert collected["data"]["value"] == ACCOUNT

    # The caller hangs up: the talk ends on the timeline, with its length, and the agent's
    # desk hears of it.
    await caller.hang_up()
    assert (await next_frame(desk, "customer_ended"))["interaction_id"] == interaction.id
    await desk.close()
    ended = await (await phone.get(f"/api/v1/interactions/{interaction.id}", headers=alice)).json()
    talk = [event["data"] for event in ended["events"] if event["type"] == "call_talk_ended"]
    assert len(talk) == 1 and talk[0]["talk_seconds"] >= 0


async def test_a_retried_webhook_gets_the_same_answer_and_moves_nothing(phone: Client) -> None:
    caller = Caller(phone)
    menu = await caller.dial()
    first = await caller.answer(menu, "2")
    again = await caller.answer(menu, "2")
    assert text(first) == text(again)
    stored = await caller.stored()
    assert stored is not None and stored.step == 2
    interaction = await _interaction(phone, caller)
    inputs = [e for e in await _events(phone, interaction.id) if e.type == "ivr_input"]
    assert len(inputs) == 1
    # The first webhook retried too: the same call, no second interaction.
    assert text(await caller.dial()) == text(first)


async def test_three_invalid_choices_take_the_fallback(phone: Client) -> None:
    caller = Caller(phone)
    twiml = await caller.dial()
    for attempt in range(2):
        twiml = await caller.answer(twiml, "7")
        assert "Sorry, that is not a choice." in said(twiml), attempt
    goodbye = await caller.answer(twiml, "9")
    assert verbs(goodbye)[-1] == "Hangup" and "Goodbye." in said(goodbye)
    interaction = await _interaction(phone, caller)
    assert interaction.state == "cancelled"
    kinds = [e.type for e in await _events(phone, interaction.id)]
    # Two wrong keys asked again, the third takes the fallback; all three keys are on record.
    assert kinds.count("ivr_input") == 3 and kinds.count("ivr_invalid") == 2 and "ivr_fallback" in kinds


async def test_silence_is_a_timeout_like_a_wrong_key(phone: Client) -> None:
    caller = Caller(phone)
    twiml = await caller.dial()
    again = await caller.answer(twiml)
    assert verbs(again)[-2:] == ["Gather", "Redirect"]
    interaction = await _interaction(phone, caller)
    assert "ivr_timeout" in [e.type for e in await _events(phone, interaction.id)]


@pytest.mark.parametrize(
    "hours",
    [
        # Out of hours: open no day of the week.
        'time_zone = "Europe/London"',
        # A holiday, today in Sydney, every day otherwise open all day.
        'time_zone = "Australia/Sydney"\n'
        + "\n".join(
            f'{day} = "00:00-23:59"'
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
        + '\nholidays = ["{today}"]',
    ],
    ids=["out_of_hours", "holiday"],
)
async def test_a_closed_queue_takes_the_closed_branch(
    app_factory: AppFactory, phone_settings: Callable[..., Settings], hours: str
) -> None:
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Australia/Sydney")).date().isoformat()
    client = await app_factory(phone_settings(support="[queues.support.hours]\n" + hours.replace("{today}", today)))
    caller = Caller(client)
    account = await caller.answer(await caller.dial(), "2")
    closed = await caller.answer(account, ACCOUNT)
    assert "We are closed." in said(closed)
    assert verbs(closed)[-1] == "Record"


async def test_a_caller_who_hangs_up_while_waiting_is_abandoned_with_the_wait_counted(phone: Client) -> None:
    caller = Caller(phone)
    await _queued_in_support(caller)
    await caller.wait()
    await caller.queue_result("hangup", queue_time=42)
    await caller.hang_up()
    interaction = await _interaction(phone, caller)
    assert interaction.state == "abandoned"
    abandoned = [e for e in await _events(phone, interaction.id) if e.type == "abandoned"]
    assert len(abandoned) == 1
    assert abandoned[0].data["queue_seconds"] == 42 and abandoned[0].data["enqueued_at"] is not None


async def test_a_caller_who_hangs_up_in_the_ivr_ends_the_interaction_there(phone: Client) -> None:
    caller = Caller(phone)
    await caller.dial()
    await caller.hang_up()
    interaction = await _interaction(phone, caller)
    assert interaction.state == "cancelled"
    assert "call_ended" in [e.type for e in await _events(phone, interaction.id)]


async def test_the_maximum_wait_leads_to_its_branch(
    app_factory: AppFactory, phone_settings: Callable[..., Settings]
) -> None:
    client = await app_factory(
        phone_settings(support='[queues.support.voice]\nmax_wait_seconds = 1\nmax_wait_branch = "voicemail"\n')
    )
    caller = Caller(client)
    await _queued_in_support(caller)
    await asyncio.sleep(1.1)
    assert verbs(await caller.wait()) == ["Leave"]
    record = await caller.queue_result("leave")
    assert verbs(record)[-1] == "Record"
    interaction = await _interaction(client, caller)
    assert interaction.state == "abandoned"


async def test_max_wait_into_another_queue_gives_a_fresh_place_there(
    app_factory: AppFactory, phone_settings: Callable[..., Settings]
) -> None:
    client = await app_factory(
        phone_settings(
            support='[queues.support.voice]\nmax_wait_seconds = 1\nmax_wait_branch = "queue:sales"\n',
        )
    )
    caller = Caller(client)
    await _queued_in_support(caller)
    await asyncio.sleep(1.1)
    await caller.wait()
    again = await caller.queue_result("leave")
    assert verbs(again) == ["Enqueue"]
    interaction = await _interaction(client, caller)
    assert (interaction.state, interaction.queue) == ("queued", "sales")


@pytest.mark.parametrize(
    ("result", "state", "next_verbs"),
    [
        ("hangup", "abandoned", []),
        ("system-shutdown", "abandoned", []),
        ("error", "queued", ["Enqueue"]),
        ("bridged", "queued", []),
        ("bridging-in-process", "queued", []),
        ("redirected", "queued", []),
        ("redirected-from-bridged", "queued", []),
        ("queue-full", "abandoned", ["Say", "Record"]),
        # A leave the service did not ask for: back to waiting, the place kept.
        ("leave", "queued", ["Enqueue"]),
    ],
)
async def test_every_queue_result_has_its_outcome(
    phone: Client, result: str, state: str, next_verbs: list[str]
) -> None:
    caller = Caller(phone)
    await _queued_in_support(caller)
    twiml = await caller.queue_result(result)
    assert verbs(twiml) == next_verbs
    assert (await _interaction(phone, caller)).state == state


async def _answered_earlier(client: Client, gap_seconds: int) -> None:
    """Two calls answered ``gap_seconds`` apart, minutes ago: the queue's recent answers."""
    now = datetime.now(UTC)
    async with client.app[SERVICES].sessions.begin() as session:
        for n in range(2):
            customer = Customer(display_name="earlier")
            session.add(customer)
            await session.flush()
            interaction = Interaction(
                customer_id=customer.id, channel="voice", state="completed", queue="support", thread_key=f"old{n}"
            )
            session.add(interaction)
            await session.flush()
            session.add(
                VoiceCall(
                    call_sid=f"CAold{n}",
                    interaction_id=interaction.id,
                    caller="+15550000000",
                    dialled="+15005550006",
                    phase="ended",
                    answered_at=now - timedelta(seconds=60 + n * gap_seconds),
                )
            )


async def test_a_callback_keeps_the_place_and_dials_the_agent_then_the_customer(
    app_factory: AppFactory, phone_settings: Callable[..., Settings], twilio_stub: TwilioStub
) -> None:
    client = await app_factory(
        phone_settings(
            support="[queues.support.voice]\nestimate_samples = 2\ncallback_above_seconds = 60\n",
            voice="callback_retry_seconds = 1\ncallback_attempts = 2\n",
        )
    )
    await _answered_earlier(client, gap_seconds=300)
    caller = Caller(client)
    await _queued_in_support(caller)
    offer = await caller.wait()
    gather = offer.find("Gather")
    assert gather is not None and gather.attrib["action"].endswith("/twilio/voice/wait/key")
    assert "about 5 minutes" in said(offer) and "press 1" in said(offer)
    assert verbs(await caller.post("/twilio/voice/wait/key", caller.form(Digits="1"))) == ["Leave"]
    goodbye = await caller.queue_result("leave")
    assert verbs(goodbye) == ["Say", "Hangup"] and "call you back" in said(goodbye)
    await caller.hang_up()
    interaction = await _interaction(client, caller)
    assert interaction.state == "queued"

    # A later caller counts the callback ahead of them.
    later = Caller(client, number="+15551230002")
    await _queued_in_support(later)
    assert "caller number 2" in said(await later.wait())

    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    accepted = await accept_first(client, alice)
    assert accepted["id"] == interaction.id
    assert twilio_stub.sent("POST", f"/Calls/{caller.call_sid}.json") == []
    [agent_leg] = twilio_stub.sent("POST", f"/Conferences/{interaction.id}/Participants.json")
    assert agent_leg.form["To"] == "client:alice"

    stored = await caller.stored()
    assert stored is not None and stored.agent_call_sid is not None
    participant = f"/twilio/voice/participant?conference={interaction.id}&label=agent"
    for _ in range(2):  # the agent's answer reported twice: the customer is dialled once
        await caller.note(participant, caller.form(CallSid=stored.agent_call_sid, CallStatus="in-progress"))
    customer_legs = [r for r in twilio_stub.sent("POST", "/Participants.json") if r.form["To"] == caller.number]
    assert len(customer_legs) == 1 and customer_legs[0].form["Label"] == "customer"

    customer = f"/twilio/voice/participant?conference={interaction.id}&label=customer"
    await caller.note(customer, caller.form(CallSid="CA" + "b" * 32, CallStatus="no-answer"))
    for _ in range(100):
        customer_legs = [r for r in twilio_stub.sent("POST", "/Participants.json") if r.form["To"] == caller.number]
        if len(customer_legs) == 2:
            break
        await asyncio.sleep(0.05)
    assert len(customer_legs) == 2
    # The attempt is recorded once Twilio has answered its dial (with the call's SID): the
    # stub has the request a moment before the event is committed.
    for _ in range(100):
        kinds = [e.type for e in await _events(client, interaction.id)]
        if kinds.count("callback_attempt") == 2:
            break
        await asyncio.sleep(0.05)
    assert kinds.count("callback_attempt") == 2 and "callback_result" in kinds


async def test_an_agent_who_does_not_pick_up_leaves_the_caller_their_place(
    phone: Client, twilio_stub: TwilioStub
) -> None:
    caller = Caller(phone)
    await _queued_in_support(caller)
    alice = await login(phone, "alice")
    await set_status(phone, alice, "available")
    await accept_first(phone, alice)
    interaction = await _interaction(phone, caller)
    stored = await caller.stored()
    assert stored is not None and stored.agent_call_sid is not None
    participant = f"/twilio/voice/participant?conference={interaction.id}&label=agent"
    # A leg that is not the agent's changes nothing; the agent's own no-answer does.
    await caller.note(participant, caller.form(CallSid="CA" + "c" * 32, CallStatus="no-answer"))
    assert (await _interaction(phone, caller)).state == "assigned"
    for _ in range(2):  # reported twice: the second changes nothing
        await caller.note(participant, caller.form(CallSid=stored.agent_call_sid, CallStatus="no-answer"))
    back = await _interaction(phone, caller)
    assert back.state == "queued"
    assert back.enqueued_at == interaction.enqueued_at
    me = await (await phone.get("/api/v1/agents/me", headers=alice)).json()
    assert (me["status"], me["status_reason"]) == ("away", "missed_call")
    kinds = [e.type for e in await _events(phone, interaction.id)]
    assert kinds.count("agent_not_answered") == 1 and kinds.count("returned_to_queue") == 1
    redirects = twilio_stub.sent("POST", f"/Calls/{caller.call_sid}.json")
    assert "<Enqueue" in redirects[-1].form["Twiml"]


async def test_a_voicemail_becomes_a_routed_interaction_with_its_recording(
    app_factory: AppFactory, phone_settings: Callable[..., Settings]
) -> None:
    client = await app_factory(phone_settings(support='[queues.support.hours]\ntime_zone = "UTC"\n'))
    caller = Caller(client)
    account = await caller.answer(await caller.dial(), "2")
    record = await caller.answer(account, ACCOUNT)
    assert verbs(record)[-1] == "Record"
    fields = {
        "RecordingSid": "RE" + "d" * 32,
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + "d" * 32,
        "RecordingDuration": "37",
        "RecordingStatus": "completed",
    }
    await caller.note("/twilio/voice/recording", caller.form(**fields))
    await caller.note(
        "/twilio/voice/transcription",
        caller.form(
            RecordingSid=fields["RecordingSid"],
            TranscriptionText="Please call me back",
            TranscriptionStatus="completed",
        ),
    )
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    voicemail = await accept_first(client, alice)
    [message] = voicemail["messages"]
    assert message["body"] == "Voicemail (0:37)"
    assert message["attributes"]["voicemail"]["recording_url"] == fields["RecordingUrl"]
    assert message["attributes"]["transcription"] == "Please call me back"


async def test_bad_requests_are_refused_and_unknown_calls_get_an_apology(phone: Client) -> None:
    caller = Caller(phone)
    form = caller.form()
    response = await phone.post("/twilio/voice", data=form, headers={"X-Twilio-Signature": "bad"})
    assert response.status == 403
    missing = {key: value for key, value in form.items() if key != "CallSid"}
    await caller.post("/twilio/voice", missing, status=400)
    assert await caller.stored() is None

    for path in ("/twilio/voice/step/1", "/twilio/voice/wait", "/twilio/voice/queue-result"):
        fields = {"QueueResult": "hangup", "QueueTime": "1"} if path.endswith("result") else {}
        twiml = await caller.post(path, caller.form(**fields))
        assert verbs(twiml) == ["Say", "Hangup"] and "sorry" in said(twiml).lower()
    assert await caller.stored() is None

    await caller.dial()
    unknown_step = await caller.post("/twilio/voice/step/9", caller.form(Digits="1"))
    assert verbs(unknown_step) == ["Say", "Hangup"]
    stored = await caller.stored()
    assert stored is not None and stored.step == 1


async def test_no_callback_is_offered_while_the_queue_is_closed(
    app_factory: AppFactory, phone_settings: Callable[..., Settings]
) -> None:
    # Closed every day; "1" (sales) queues in support without asking the hours.
    support = '[queues.support.hours]\ntime_zone = "UTC"\n[queues.support.voice]\nestimate_samples = 2\n'
    client = await app_factory(phone_settings(support=support + "callback_above_seconds = 60\n"))
    await _answered_earlier(client, gap_seconds=300)
    caller = Caller(client)
    queued = await caller.answer(await caller.dial(), "1")
    assert verbs(queued)[-1] == "Enqueue"
    waiting = await caller.wait()
    assert "about 5 minutes" in said(waiting)
    assert waiting.find("Gather") is None and "press 1" not in said(waiting)


async def test_a_withheld_number_is_answered_as_a_caller_of_their_own(phone: Client) -> None:
    caller = Caller(phone, number="anonymous")
    menu = await caller.dial()
    assert verbs(menu) == ["Say", "Gather", "Redirect"]
    stored = await caller.stored()
    assert stored is not None and stored.caller == f"anonymous:{caller.call_sid}"


async def test_a_recorded_call_keeps_its_recording_on_the_timeline_and_is_no_voicemail(
    phone: Client, twilio_stub: TwilioStub
) -> None:
    caller = Caller(phone)
    await _queued_in_support(caller)
    interaction = await _interaction(phone, caller)
    fields = {
        "RecordingSid": "RE" + "e" * 32,
        "RecordingUrl": "https://api.twilio.com/recordings/RE" + "e" * 32,
        "RecordingDuration": "95",
        "RecordingStatus": "completed",
        "ConferenceSid": "CF" + "e" * 32,
    }
    await caller.note(f"/twilio/voice/recording?conference={interaction.id}", caller.form(**fields))
    [recorded] = [e for e in await _events(phone, interaction.id) if e.type == "call_recorded"]
    assert recorded.data == {"recording_url": fields["RecordingUrl"], "duration_seconds": 95}
    async with phone.app[SERVICES].sessions() as session:
        voice = await session.scalars(select(Interaction).where(Interaction.channel == "voice"))
        assert [row.id for row in voice] == [interaction.id]


async def test_a_queue_result_reported_again_gets_the_same_answer_and_keeps_the_callback(
    app_factory: AppFactory, phone_settings: Callable[..., Settings]
) -> None:
    client = await app_factory(
        phone_settings(support="[queues.support.voice]\nestimate_samples = 2\ncallback_above_seconds = 60\n")
    )
    await _answered_earlier(client, gap_seconds=300)
    caller = Caller(client)
    await _queued_in_support(caller)
    await caller.wait()
    await caller.post("/twilio/voice/wait/key", caller.form(Digits="1"))
    first = await caller.queue_result("leave")
    assert text(await caller.queue_result("leave")) == text(first)
    assert (await _interaction(client, caller)).state == "queued"


async def test_a_hang_up_reported_by_status_first_then_by_the_queue_is_abandoned_once(phone: Client) -> None:
    caller = Caller(phone)
    await _queued_in_support(caller)
    await caller.hang_up()
    await caller.hang_up()
    await caller.queue_result("hangup")
    interaction = await _interaction(phone, caller)
    assert interaction.state == "abandoned"
    kinds = [e.type for e in await _events(phone, interaction.id)]
    assert kinds.count("abandoned") == 1 and kinds.count("call_ended") == 1


async def test_an_agent_no_answer_after_the_caller_hung_up_changes_nothing(
    phone: Client, twilio_stub: TwilioStub
) -> None:
    caller = Caller(phone)
    await _queued_in_support(caller)
    alice = await login(phone, "alice")
    await set_status(phone, alice, "available")
    await accept_first(phone, alice)
    stored = await caller.stored()
    assert stored is not None and stored.agent_call_sid is not None
    await caller.hang_up()
    interaction = await _interaction(phone, caller)
    participant = f"/twilio/voice/participant?conference={interaction.id}&label=agent"
    await caller.note(participant, caller.form(CallSid=stored.agent_call_sid, CallStatus="no-answer"))
    after = await caller.stored()
    assert after is not None and after.phase == "ended"
    assert (await _interaction(phone, caller)).state == "assigned"


async def test_the_same_step_twice_at_once_moves_the_caller_once(phone: Client) -> None:
    caller = Caller(phone)
    menu = await caller.dial()
    first, second = await asyncio.gather(caller.answer(menu, "2"), caller.answer(menu, "2"))
    assert text(first) == text(second)
    interaction = await _interaction(phone, caller)
    assert [e.type for e in await _events(phone, interaction.id)].count("ivr_input") == 1


async def test_a_hang_up_racing_the_step_that_queues_leaves_no_caller_waiting_without_a_line(phone: Client) -> None:
    caller = Caller(phone)
    account = await caller.answer(await caller.dial(), "2")
    await asyncio.gather(caller.answer(account, ACCOUNT), caller.hang_up())
    interaction = await _interaction(phone, caller)
    assert interaction.state in ("cancelled", "abandoned")
    stored = await caller.stored()
    assert stored is not None and stored.phase == "ended"


async def test_an_agent_with_a_phone_in_their_profile_is_dialled_there(phone: Client, twilio_stub: TwilioStub) -> None:
    caller = Caller(phone)
    await _queued_in_support(caller)
    alice = await login(phone, "alice")
    async with phone.app[SERVICES].sessions.begin() as session:
        agent = await session.scalar(select(Agent).where(Agent.username == "alice"))
        assert agent is not None
        agent.phone = "+15557654321"
    await set_status(phone, alice, "available")
    interaction = (await accept_first(phone, alice))["id"]
    [dialled] = twilio_stub.sent("POST", f"/Conferences/{interaction}/Participants.json")
    assert dialled.form["To"] == "+15557654321"


async def test_a_returning_caller_is_kept_for_the_agent_who_last_served_them(
    app_factory: AppFactory, phone_settings: Callable[..., Settings]
) -> None:
    client = await app_factory(phone_settings(support="preferred_agent_seconds = 30\n"))
    customer_id = await _customer_with_account(client, ACCOUNT)
    async with client.app[SERVICES].sessions.begin() as session:
        bob = await session.scalar(select(Agent).where(Agent.username == "bob"))
        assert bob is not None
        session.add(
            Interaction(
                customer_id=customer_id,
                channel="sms",
                state="completed",
                queue="support",
                thread_key="earlier",
                assigned_agent_id=bob.id,
                closed_at=datetime.now(UTC) - timedelta(hours=1),
            )
        )
    caller = Caller(client)
    await _queued_in_support(caller)
    interaction = await _interaction(client, caller)
    assert (interaction.customer_id, interaction.preferred_agent_id) == (customer_id, bob.id)
    assert interaction.preferred_until is not None
