"""The phone channel's REST calls, against the Twilio stub over HTTP: each method sends the
request Twilio documents, its TwiML says what the channel means, and failures are
``voice.refused`` / ``voice.unreachable``."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from channels.twilio.settings import TwilioSettings
from channels.voice.conference import Callbacks, check_name, join_conference
from channels.voice.rest import SupervisorMode, TwilioVoice
from interaction_center.domain.errors import ChannelError
from tests.twilio_stub import RecordedRequest, TwilioStub

ACCOUNT = "AC" + "a" * 32
TOKEN = "voice-secret"
BASE = "https://ic.example.com"
API = f"/2010-04-01/Accounts/{ACCOUNT}"
NAME = "0190f1a2-7b3c-7d4e-8f50-123456789abc"
CONF = "CF" + "c" * 32
CALLER = "CA" + "1" * 32
AGENT = "CA" + "2" * 32
SUPERVISOR = "CA" + "3" * 32
WAIT = f"{BASE}/twilio/voice/wait"


@pytest.fixture
async def voice(twilio_stub: TwilioStub) -> AsyncIterator[TwilioVoice]:
    settings = TwilioSettings(account_sid=ACCOUNT, auth_token=TOKEN, api_base_url=twilio_stub.url)
    # A trailing slash on the base is dropped, not doubled.
    voice = TwilioVoice(settings, BASE + "/", timeout=5.0)
    yield voice
    await voice.close()


def _only(stub: TwilioStub) -> RecordedRequest:
    [request] = stub.requests
    expected = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert request.authorization == expected
    return request


def _twiml(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "Response"
    return root


def _query(url: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


def _is_sid(value: str, prefix: str) -> bool:
    return value.startswith(prefix) and len(value) == 34


# Moving the caller into its conference


async def test_the_caller_is_moved_into_a_recorded_conference_named_after_the_interaction(
    voice: TwilioVoice, twilio_stub: TwilioStub
) -> None:
    await voice.move_to_conference(CALLER, NAME, record=True, wait_url=WAIT)
    request = _only(twilio_stub)
    assert (request.method, request.path) == ("POST", f"{API}/Calls/{CALLER}.json")
    assert set(request.form) == {"Twiml"}
    [dial] = list(_twiml(request.form["Twiml"]))
    assert dial.tag == "Dial"
    assert dial.attrib == {}
    [conference] = list(dial)
    assert conference.tag == "Conference"
    assert conference.text == NAME
    assert conference.attrib == {
        "participantLabel": "customer",
        "beep": "false",
        "startConferenceOnEnter": "false",
        "endConferenceOnExit": "true",
        "waitUrl": WAIT,
        "waitMethod": "POST",
        "statusCallback": f"{BASE}/twilio/voice/conference",
        "statusCallbackMethod": "POST",
        "statusCallbackEvent": "start end join leave hold",
        "record": "record-from-start",
        "recordingStatusCallback": f"{BASE}/twilio/voice/recording?conference={NAME}",
    }


async def test_an_unrecorded_conference_says_nothing_of_recording(voice: TwilioVoice, twilio_stub: TwilioStub) -> None:
    await voice.move_to_conference(CALLER, NAME, record=False, wait_url=WAIT)
    [dial] = list(_twiml(_only(twilio_stub).form["Twiml"]))
    [conference] = list(dial)
    assert "record" not in conference.attrib
    assert "recordingStatusCallback" not in conference.attrib
    assert conference.attrib["startConferenceOnEnter"] == "false"


@pytest.mark.parametrize("name", ["", "a/b", "a b", "x" * 129, "café", "../Calls"])
async def test_a_name_that_cannot_name_a_conference_is_refused_before_anything_is_sent(
    voice: TwilioVoice, twilio_stub: TwilioStub, name: str
) -> None:
    with pytest.raises(ValueError, match="not a conference name"):
        await voice.move_to_conference(CALLER, name, record=False, wait_url=WAIT)
    with pytest.raises(ValueError, match="not a conference name"):
        await voice.dial_agent(name, "client:alice", caller_id="+15550001111", timeout=20)
    assert twilio_stub.requests == []


@pytest.mark.parametrize("sid", ["", "CA/../x", "CA 1", "CA1.json"])
async def test_a_sid_that_is_not_one_is_refused_before_anything_is_sent(
    voice: TwilioVoice, twilio_stub: TwilioStub, sid: str
) -> None:
    with pytest.raises(ValueError, match="not a Twilio SID"):
        await voice.hang_up(sid)
    with pytest.raises(ValueError, match="not a Twilio SID"):
        await voice.hold(CONF, sid, True)
    with pytest.raises(ValueError, match="not a Twilio SID"):
        await voice.end_conference(sid)
    assert twilio_stub.requests == []


# Dialling agents and supervisors in


async def test_the_agent_is_dialled_into_the_conference_by_its_name_and_starts_it(
    voice: TwilioVoice, twilio_stub: TwilioStub
) -> None:
    call_sid = await voice.dial_agent(NAME, "client:alice", caller_id="+15550001111", timeout=20)
    assert _is_sid(call_sid, "CA")
    request = _only(twilio_stub)
    assert (request.method, request.path) == ("POST", f"{API}/Conferences/{NAME}/Participants.json")
    callback = request.form.pop("StatusCallback")
    assert request.form == {
        "From": "+15550001111",
        "To": "client:alice",
        "Label": "agent",
        "Timeout": "20",
        "Beep": "false",
        "StartConferenceOnEnter": "true",
        "EndConferenceOnExit": "false",
        "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": "completed",
    }
    assert request.fields["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert _query(callback) == (f"{BASE}/twilio/voice/participant", {"conference": [NAME], "label": ["agent"]})


async def test_an_agent_on_a_phone_number_under_a_label_of_its_own(voice: TwilioVoice, twilio_stub: TwilioStub) -> None:
    await voice.dial_agent(NAME, "+15550002222", caller_id="+15550001111", timeout=45, label="transfer-bob")
    request = _only(twilio_stub)
    assert (request.form["To"], request.form["Label"], request.form["Timeout"]) == (
        "+15550002222",
        "transfer-bob",
        "45",
    )
    assert _query(request.form["StatusCallback"])[1] == {"conference": [NAME], "label": ["transfer-bob"]}


async def test_participants_dialled_into_one_name_share_its_conference(
    voice: TwilioVoice, twilio_stub: TwilioStub
) -> None:
    first = await voice.dial_agent(NAME, "client:alice", caller_id="+15550001111", timeout=20)
    second = await voice.add_supervisor(
        NAME, "client:sam", mode="listen", agent_call_sid=first, caller_id="+15550001111"
    )
    assert first != second
    assert list(twilio_stub.conferences) == [NAME]


@pytest.mark.parametrize(
    ("mode", "fields"),
    [
        ("listen", {"Muted": "true", "Coaching": "false"}),
        ("whisper", {"Muted": "false", "Coaching": "true", "CallSidToCoach": AGENT}),
        ("barge", {"Muted": "false", "Coaching": "false"}),
    ],
)
async def test_a_supervisor_joins_silently_in_the_mode_asked(
    voice: TwilioVoice, twilio_stub: TwilioStub, mode: SupervisorMode, fields: dict[str, str]
) -> None:
    call_sid = await voice.add_supervisor(NAME, "client:sam", mode=mode, agent_call_sid=AGENT, caller_id="+15550001111")
    assert _is_sid(call_sid, "CA")
    request = _only(twilio_stub)
    assert (request.method, request.path) == ("POST", f"{API}/Conferences/{NAME}/Participants.json")
    callback = request.form.pop("StatusCallback")
    assert request.form == {
        "From": "+15550001111",
        "To": "client:sam",
        "Label": "supervisor",
        "Timeout": "30",
        "Beep": "false",
        "StartConferenceOnEnter": "false",
        "EndConferenceOnExit": "false",
        "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": "completed",
        **fields,
    }
    assert _query(callback)[1] == {"conference": [NAME], "label": ["supervisor"]}


@pytest.mark.parametrize(
    ("mode", "fields"),
    [
        ("listen", {"Muted": "true", "Coaching": "false"}),
        ("whisper", {"Muted": "false", "Coaching": "true", "CallSidToCoach": AGENT}),
        ("barge", {"Muted": "false", "Coaching": "false"}),
    ],
)
async def test_a_supervisor_switches_mode_by_the_conference_sid(
    voice: TwilioVoice, twilio_stub: TwilioStub, mode: SupervisorMode, fields: dict[str, str]
) -> None:
    await voice.set_supervisor_mode(CONF, SUPERVISOR, mode, AGENT)
    request = _only(twilio_stub)
    assert (request.method, request.path) == ("POST", f"{API}/Conferences/{CONF}/Participants/{SUPERVISOR}.json")
    assert request.form == fields


# Hold, remove, end


async def test_hold_with_music_of_our_own_then_resume(voice: TwilioVoice, twilio_stub: TwilioStub) -> None:
    await voice.hold(CONF, CALLER, True, f"{BASE}/twilio/voice/hold-music")
    await voice.hold(CONF, CALLER, False, f"{BASE}/twilio/voice/hold-music")
    held, resumed = twilio_stub.requests
    path = f"{API}/Conferences/{CONF}/Participants/{CALLER}.json"
    assert (held.method, held.path, held.form) == (
        "POST",
        path,
        {"Hold": "true", "HoldUrl": f"{BASE}/twilio/voice/hold-music"},
    )
    assert (resumed.method, resumed.path, resumed.form) == ("POST", path, {"Hold": "false"})


async def test_hold_without_a_url_leaves_twilio_its_music(voice: TwilioVoice, twilio_stub: TwilioStub) -> None:
    await voice.hold(CONF, CALLER, True)
    assert _only(twilio_stub).form == {"Hold": "true"}


async def test_a_participant_is_removed_by_deleting_it(voice: TwilioVoice, twilio_stub: TwilioStub) -> None:
    await voice.remove(CONF, AGENT)
    request = _only(twilio_stub)
    assert (request.method, request.path, request.form) == (
        "DELETE",
        f"{API}/Conferences/{CONF}/Participants/{AGENT}.json",
        {},
    )


async def test_the_conference_is_ended_by_its_sid(voice: TwilioVoice, twilio_stub: TwilioStub) -> None:
    await voice.end_conference(CONF)
    request = _only(twilio_stub)
    assert (request.method, request.path, request.form) == (
        "POST",
        f"{API}/Conferences/{CONF}.json",
        {"Status": "completed"},
    )


@pytest.mark.parametrize(
    "act",
    [
        pytest.param(lambda v: v.remove(CONF, AGENT), id="remove"),
        pytest.param(lambda v: v.end_conference(CONF), id="end_conference"),
        pytest.param(lambda v: v.hang_up(CALLER), id="hang_up"),
    ],
)
async def test_ending_what_twilio_no_longer_knows_is_done(
    voice: TwilioVoice, twilio_stub: TwilioStub, act: Callable[[TwilioVoice], Awaitable[None]]
) -> None:
    twilio_stub.fail_with = 404
    await act(voice)
    assert len(twilio_stub.requests) == 1


async def test_a_participant_twilio_no_longer_knows_cannot_be_held(voice: TwilioVoice, twilio_stub: TwilioStub) -> None:
    twilio_stub.fail_with = 404
    with pytest.raises(ChannelError) as raised:
        await voice.hold(CONF, CALLER, True)
    assert raised.value.code == "voice.refused"


# Calls


async def test_a_call_is_redirected_to_new_twiml(voice: TwilioVoice, twilio_stub: TwilioStub) -> None:
    twiml = '<?xml version="1.0" encoding="UTF-8"?><Response><Enqueue>support</Enqueue></Response>'
    await voice.redirect(CALLER, twiml)
    request = _only(twilio_stub)
    assert (request.method, request.path, request.form) == ("POST", f"{API}/Calls/{CALLER}.json", {"Twiml": twiml})
    [enqueue] = list(_twiml(request.form["Twiml"]))
    assert (enqueue.tag, enqueue.text) == ("Enqueue", "support")


async def test_a_call_is_hung_up(voice: TwilioVoice, twilio_stub: TwilioStub) -> None:
    await voice.hang_up(CALLER)
    request = _only(twilio_stub)
    assert (request.method, request.path, request.form) == (
        "POST",
        f"{API}/Calls/{CALLER}.json",
        {"Status": "completed"},
    )


async def test_an_outbound_call_runs_its_twiml_and_reports_its_progress(
    voice: TwilioVoice, twilio_stub: TwilioStub
) -> None:
    twiml = join_conference(NAME, wait_url=WAIT, status_callback=Callbacks(BASE).conference, record=False)
    callback = f"{BASE}/twilio/voice/callback?interaction={NAME}"
    sid = await voice.call("client:alice", "+15550001111", twiml=twiml, status_callback=callback, timeout=25)
    assert _is_sid(sid, "CA")
    request = _only(twilio_stub)
    assert (request.method, request.path) == ("POST", f"{API}/Calls.json")
    assert request.form == {
        "To": "client:alice",
        "From": "+15550001111",
        "Twiml": twiml,
        "Timeout": "25",
        "StatusCallback": callback,
        "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": "completed",
    }
    assert request.fields["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    [dial] = list(_twiml(request.form["Twiml"]))
    assert [child.text for child in dial] == [NAME]


# Failures


EVERY_CALL: list[tuple[str, Callable[[TwilioVoice], Awaitable[object]]]] = [
    ("move_to_conference", lambda v: v.move_to_conference(CALLER, NAME, record=False, wait_url=WAIT)),
    ("dial_agent", lambda v: v.dial_agent(NAME, "client:alice", caller_id="+15550001111", timeout=20)),
    ("hold", lambda v: v.hold(CONF, CALLER, True)),
    (
        "add_supervisor",
        lambda v: v.add_supervisor(NAME, "client:sam", mode="whisper", agent_call_sid=AGENT, caller_id="+1555"),
    ),
    ("set_supervisor_mode", lambda v: v.set_supervisor_mode(CONF, SUPERVISOR, "barge", AGENT)),
    ("remove", lambda v: v.remove(CONF, AGENT)),
    ("end_conference", lambda v: v.end_conference(CONF)),
    ("redirect", lambda v: v.redirect(CALLER, "<Response/>")),
    ("hang_up", lambda v: v.hang_up(CALLER)),
    ("call", lambda v: v.call("+15550002222", "+15550001111", twiml="<Response/>", status_callback=BASE, timeout=20)),
]


@pytest.mark.parametrize("act", [pytest.param(act, id=name) for name, act in EVERY_CALL])
async def test_what_twilio_refuses_is_voice_refused_with_its_reason(
    voice: TwilioVoice, twilio_stub: TwilioStub, act: Callable[[TwilioVoice], Awaitable[object]]
) -> None:
    twilio_stub.fail_with = 400
    with pytest.raises(ChannelError) as raised:
        await act(voice)
    assert raised.value.code == "voice.refused"
    assert "Twilio refused to" in raised.value.message
    assert len(twilio_stub.requests) == 1


@pytest.mark.parametrize("act", [pytest.param(act, id=name) for name, act in EVERY_CALL])
async def test_an_unreachable_twilio_is_voice_unreachable(
    voice: TwilioVoice, twilio_stub: TwilioStub, act: Callable[[TwilioVoice], Awaitable[object]]
) -> None:
    assert twilio_stub.server is not None
    await twilio_stub.server.close()
    with pytest.raises(ChannelError) as raised:
        await act(voice)
    assert raised.value.code == "voice.unreachable"


async def test_only_the_agents_dial_fails_when_the_stub_is_told_so(voice: TwilioVoice, twilio_stub: TwilioStub) -> None:
    twilio_stub.fail_paths = {"Participants.json": 400}
    await voice.move_to_conference(CALLER, NAME, record=False, wait_url=WAIT)
    with pytest.raises(ChannelError) as raised:
        await voice.dial_agent(NAME, "client:alice", caller_id="+15550001111", timeout=20)
    assert raised.value.code == "voice.refused"
    assert raised.value.message == (
        f"Twilio refused to dial agent into {NAME}: "
        "Unable to create record: The requested resource was not found (20404)"
    )
    await voice.hang_up(CALLER)
    assert [r.path.rsplit("/", 1)[-1] for r in twilio_stub.requests] == [
        f"{CALLER}.json",
        "Participants.json",
        f"{CALLER}.json",
    ]


async def test_closing_an_unused_sender_is_fine(twilio_stub: TwilioStub) -> None:
    voice = TwilioVoice(TwilioSettings(account_sid=ACCOUNT, auth_token=TOKEN, api_base_url=twilio_stub.url), BASE)
    await voice.close()
    assert twilio_stub.requests == []


def test_conference_names_are_ids() -> None:
    assert check_name(NAME) == NAME
    assert check_name("interaction_42") == "interaction_42"
