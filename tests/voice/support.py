"""A caller as Twilio would be one: signed webhooks with exactly the parameters Twilio
posts, each TwiML answer parsed as XML, the next URL followed as Twilio follows it."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from storage import calls
from storage.models import VoiceCall
from tests.support import ACCOUNT_SID, OUR_NUMBER, PUBLIC_BASE, Client, routed, twilio_signature

# The flow the tests call (bench/voice.py calls it too).
FLOW = (Path(__file__).parent / "flow.toml").read_text()

# The conference Twilio makes of an interaction's call, as its callbacks name it.
CONFERENCE_SID = "CF" + "1" * 32
VOICE = '[voice]\nflows = "flows"\ndefault_flow = "main"\n'


def voice_settings(
    tmp_path: Path, settings_factory: Callable[..., Settings], support: str = "", voice: str = "", **overrides: Any
) -> Settings:
    """The tests' service with the phone on: ``FLOW`` answers our number, support takes
    calls; ``support`` is more TOML for [queues.support] (its hours and voice tables)."""
    (tmp_path / "flows").mkdir(exist_ok=True)
    (tmp_path / "flows" / "main.toml").write_text(FLOW)
    lines = support + "\n[queues.support.sla.voice]\nanswer_seconds = 30\n"
    overrides.setdefault("sales_channels", '["sms", "voice"]')
    overrides.setdefault("support_channels", '["sms", "voice"]')
    return settings_factory(support=lines, top=VOICE + voice, **overrides)


def text(twiml: ET.Element) -> str:
    return ET.tostring(twiml, encoding="unicode")


def verbs(twiml: ET.Element) -> list[str]:
    return [child.tag for child in twiml]


def said(twiml: ET.Element) -> str:
    """Everything the caller hears spoken, in order, nested verbs included."""
    return " ".join(element.text or "" for element in twiml.iter("Say"))


def path_of(url: str, base: str = PUBLIC_BASE) -> str:
    assert url.startswith(base), url
    return url.removeprefix(base)


def gather_action(twiml: ET.Element) -> str:
    """Where Twilio posts what the caller keys in at the answer's <Gather>."""
    gather = twiml.find("Gather")
    assert gather is not None, ET.tostring(twiml)
    return gather.attrib["action"]


def call_form(call_sid: str, number: str, **fields: str) -> dict[str, str]:
    """A webhook's form as Twilio posts it for an inbound call to our number."""
    return {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": number,
        "To": OUR_NUMBER,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        **fields,
    }


class Caller:
    """``base`` is the public base URL the service names in its TwiML and checks the
    signatures against (the pages' tests have their own)."""

    def __init__(
        self, client: Client, number: str = "+15551230001", call_sid: str | None = None, base: str = PUBLIC_BASE
    ) -> None:
        self.client = client
        self.number = number
        self.call_sid = call_sid or "CA" + uuid.uuid4().hex
        self.base = base

    def form(self, **fields: str) -> dict[str, str]:
        return call_form(self.call_sid, self.number, **fields)

    async def post(self, path: str, form: dict[str, str], status: int = 200) -> ET.Element:
        headers = {
            "X-Twilio-Signature": twilio_signature(path, form, base=self.base),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        response = await self.client.post(path, data=urlencode(form), headers=headers)
        text = await response.text()
        assert response.status == status, text
        if status != 200:
            return ET.Element("none")
        assert response.content_type == "text/xml", text
        return ET.fromstring(text)

    async def note(self, path: str, form: dict[str, str]) -> None:
        """A status callback: Twilio wants no TwiML back."""
        headers = {
            "X-Twilio-Signature": twilio_signature(path, form, base=self.base),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        response = await self.client.post(path, data=urlencode(form), headers=headers)
        assert response.status == 204, await response.text()

    async def dial(self) -> ET.Element:
        twiml = await self.post("/twilio/voice", self.form(CallStatus="ringing"))
        await routed(self.client)
        return twiml

    async def answer(self, twiml: ET.Element, digits: str = "", speech: str = "") -> ET.Element:
        """What the caller does at a <Gather>: press ``digits``, say ``speech``, or nothing
        (Twilio then follows the <Redirect> after it, with no Digits)."""
        action = gather_action(twiml)
        if digits or speech:
            path = path_of(action, self.base)
            heard = {"Digits": digits, "FinishedOnKey": ""} if digits else {"SpeechResult": speech, "Confidence": "0.9"}
            reply = await self.post(path, self.form(**heard))
        else:
            redirect = twiml.find("Redirect")
            assert redirect is not None and redirect.text is not None
            reply = await self.post(path_of(redirect.text, self.base), self.form())
        await routed(self.client)
        return reply

    async def wait(self, queue_time: int = 5) -> ET.Element:
        fields = {"QueueSid": "QU" + "0" * 32, "QueuePosition": "1", "QueueTime": str(queue_time)}
        return await self.post("/twilio/voice/wait", self.form(**fields, AvgQueueTime="0", CurrentQueueSize="1"))

    async def queue_result(self, result: str, queue_time: int = 10) -> ET.Element:
        twiml = await self.post(
            "/twilio/voice/queue-result",
            self.form(QueueResult=result, QueueTime=str(queue_time), QueueSid="QU" + "0" * 32),
        )
        await routed(self.client)
        return twiml

    async def hang_up(self, status: str = "completed") -> None:
        await self.note("/twilio/voice/status", self.form(CallStatus=status, CallDuration="12"))

    async def stored(self) -> VoiceCall | None:
        async with self.client.app[SERVICES].sessions() as session:
            return await calls.get(session, self.call_sid)


async def conference_started(caller: Caller, interaction_id: str) -> None:
    """Twilio's conference callbacks once the agent has answered: the conference is on."""
    for event, label in (("conference-start", ""), ("participant-join", "agent")):
        fields = {"FriendlyName": interaction_id, "ConferenceSid": CONFERENCE_SID, "StatusCallbackEvent": event}
        await caller.note(
            "/twilio/voice/conference", caller.form(**fields, **({"ParticipantLabel": label} if label else {}))
        )
