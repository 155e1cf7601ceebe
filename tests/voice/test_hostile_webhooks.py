"""Signed webhooks with hostile values in any field, on every voice route: never a 5xx;
a TwiML route answers TwiML or a 4xx with a JSON error, and a refused request stores
nothing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from storage.models import VoiceCall
from tests.hostile import FUZZ, hostile_text
from tests.support import AppFactory, Client, twilio_signature
from tests.voice.support import Caller, voice_settings

# Every voice route with the fields Twilio posts to it (besides the call's own).
ROUTES: dict[str, dict[str, str]] = {
    "/twilio/voice": {"CallerName": "Ada"},
    "/twilio/voice/step/1": {"Digits": "2", "SpeechResult": "support", "Confidence": "0.9"},
    "/twilio/voice/wait": {"QueueTime": "3", "QueuePosition": "1"},
    "/twilio/voice/wait/key": {"Digits": "1"},
    "/twilio/voice/queue-result": {"QueueResult": "hangup", "QueueTime": "3"},
    "/twilio/voice/recorded": {},
    "/twilio/voice/status": {"CallStatus": "completed"},
    "/twilio/voice/recording": {
        "RecordingSid": "RE" + "1" * 32,
        "RecordingUrl": "https://api.twilio.com/r",
        "RecordingDuration": "3",
    },
    "/twilio/voice/transcription": {"RecordingSid": "RE" + "1" * 32, "TranscriptionText": "hi"},
    "/twilio/voice/conference": {
        "FriendlyName": "x",
        "ConferenceSid": "CF" + "1" * 32,
        "StatusCallbackEvent": "participant-join",
    },
    "/twilio/voice/participant?conference=x&label=agent": {"CallStatus": "no-answer"},
}
_TWIML = {"/twilio/voice", "/twilio/voice/step/1", "/twilio/voice/wait", "/twilio/voice/wait/key"} | {
    "/twilio/voice/queue-result",
    "/twilio/voice/recorded",
}
_FIELDS = sorted({"CallSid", "From", "To", *(name for fields in ROUTES.values() for name in fields)})
odd_numbers = st.sampled_from(["nan", "inf", "-1", "1e309", "0x10", "9" * 40, "\uff11\uff12", "2.5"])


@pytest.fixture
async def phone(app_factory: AppFactory, tmp_path: Path, settings_factory: Callable[..., Settings]) -> Client:
    return await app_factory(voice_settings(tmp_path, settings_factory))


async def _calls(client: Client) -> int:
    async with client.app[SERVICES].sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(VoiceCall)) or 0)


@FUZZ
@given(
    path=st.sampled_from(sorted(ROUTES)),
    field=st.sampled_from(_FIELDS),
    value=hostile_text | odd_numbers,
)
async def test_hostile_signed_fields_never_make_a_5xx(phone: Client, path: str, field: str, value: str) -> None:
    caller = Caller(phone)
    form = {**caller.form(), **ROUTES[path], field: value}
    before = await _calls(phone)
    body = urlencode(form, encoding="utf-8", errors="surrogatepass")
    headers = {
        "X-Twilio-Signature": _signature(path, form),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    response = await phone.post(path, data=body, headers=headers)
    text = await response.text()
    assert response.status < 500, (path, field, value, response.status, text[:300])
    if response.status >= 400:
        assert response.content_type == "application/json" and (await response.json())["error"]["code"]
        assert await _calls(phone) == before
    elif path.split("?")[0] in _TWIML:
        assert response.content_type == "text/xml"
        assert ET.fromstring(text).tag == "Response"


def _signature(path: str, form: dict[str, str]) -> str:
    try:
        return twilio_signature(path, form)
    except UnicodeEncodeError:
        # Twilio signs UTF-8 only: a form that has none cannot carry a valid signature.
        return "unsigned"
