"""Twilio Programmable Voice in: the call webhook (``POST /twilio/voice``), the follow-up
URLs under ``/twilio/voice/`` (an IVR step, the wait URL, the queue's result, voicemail,
status callbacks, conference and participant events), each signed by Twilio and checked.

A request that is not Twilio's is refused (403); one without its CallSid (or with text
that cannot be stored) is a 400 with a JSON error, and nothing is stored for either. Past
those checks every TwiML answer is TwiML, whatever happens: a field we cannot use, a call
or step we do not know, or a failure of ours, is answered with an apology and a hang-up,
since Twilio reads an error page to the caller as an "application error"."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable

from aiohttp import web
from multidict import MultiDict

from channels.twilio import fields
from channels.twilio.signature import TwilioSignatureCheck
from channels.voice import twiml
from channels.voice.service import (
    CALL_STATUSES,
    QUEUE_RESULTS,
    ConferenceEvent,
    IncomingCall,
    Recording,
    VoiceService,
)
from interaction_center.domain.errors import InteractionCenterError, InvalidInput
from interaction_center.domain.identity import normalize_phone
from ivr.interpreter import Heard

log = logging.getLogger(__name__)

_MAX_DIGITS = 64
_MAX_SPEECH = 2000
# What Twilio tells of the caller, kept on the call's first message.
_DETAILS = ("CallerName", "FromCity", "FromState", "FromCountry", "ToCountry", "Direction", "AccountSid")


def _sid(form: MultiDict[str], name: str = "CallSid") -> str:
    return fields.sid(form, name)


def _count(form: MultiDict[str], name: str) -> int:
    raw = form.get(name, "0").strip() or "0"
    if not raw.isdecimal() or len(raw) > 9:
        raise InvalidInput(f"{name} must be a whole number of seconds", code="webhook.bad_field")
    return int(raw)


def heard(form: MultiDict[str]) -> Heard:
    digits = fields.field(form, "Digits", required=False, limit=_MAX_DIGITS)
    if digits and not all(c in "0123456789*#w" for c in digits):
        raise InvalidInput("Digits may hold only 0-9, * and #", code="webhook.bad_field")
    speech = fields.field(form, "SpeechResult", required=False, limit=_MAX_SPEECH)
    raw = form.get("Confidence", "").strip()
    confidence = None
    if raw:
        try:
            confidence = float(raw)
        except ValueError:
            raise InvalidInput("Confidence must be a number from 0 to 1", code="webhook.bad_field") from None
        if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
            raise InvalidInput("Confidence must be a number from 0 to 1", code="webhook.bad_field")
    return Heard(digits=digits, speech=speech, confidence=confidence)


_Answer = Callable[[MultiDict[str], web.Request], Awaitable[str]]
_Callback = Callable[[MultiDict[str], web.Request], Awaitable[None]]


class VoiceWebhook:
    def __init__(self, signature: TwilioSignatureCheck, service: VoiceService, default_region: str) -> None:
        self._signature = signature
        self._service = service
        self._region = default_region

    def register(self, app: web.Application) -> None:
        routes: dict[str, _Answer] = {
            "/twilio/voice": self._incoming,
            "/twilio/voice/step/{number}": self._step,
            "/twilio/voice/wait": self._wait,
            "/twilio/voice/wait/key": self._wait_key,
            "/twilio/voice/queue-result": self._queue_result,
            "/twilio/voice/recorded": self._recorded,
        }
        for path, answer in routes.items():
            app.router.add_post(path, self._answering(answer))
        callbacks: dict[str, _Callback] = {
            "/twilio/voice/status": self._status,
            "/twilio/voice/recording": self._recording,
            "/twilio/voice/transcription": self._transcription,
            "/twilio/voice/conference": self._conference,
            "/twilio/voice/participant": self._participant,
        }
        for path, callback in callbacks.items():
            app.router.add_post(path, self._noting(callback))

    def _answering(self, answer: _Answer) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            form = await self._signature.verified_form(request)
            _sid(form)
            try:
                text = await answer(form, request)
            except InteractionCenterError as exc:
                log.info("%s: answered with an apology: %s", request.path, exc.message)
                text = twiml.apology()
            except Exception:
                log.exception("%s failed; the caller hears an apology", request.path)
                text = twiml.apology()
            return web.Response(text=text, content_type="text/xml")

        return handle

    def _noting(self, callback: _Callback) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            form = await self._signature.verified_form(request)
            await callback(form, request)
            return web.Response(status=204)

        return handle

    async def _incoming(self, form: MultiDict[str], request: web.Request) -> str:
        sid = _sid(form)
        call = IncomingCall(
            call_sid=sid,
            caller=self._caller(fields.field(form, "From"), sid),
            dialled=normalize_phone(fields.field(form, "To"), self._region),
            details={name: form[name][:200] for name in _DETAILS if form.get(name)},
        )
        return await self._service.incoming(call)

    def _caller(self, number: str, call_sid: str) -> str:
        """The caller's number; a withheld one ("anonymous", "Restricted", Twilio's
        +266696687) makes a caller of their own for this call, who is still answered."""
        try:
            return normalize_phone(number, self._region)
        except InvalidInput:
            return f"anonymous:{call_sid}"

    async def _step(self, form: MultiDict[str], request: web.Request) -> str:
        raw = request.match_info["number"]
        if not raw.isdecimal() or len(raw) > 9:
            raise InvalidInput("the step must be a number", code="webhook.bad_field")
        return await self._service.step(_sid(form), int(raw), heard(form))

    async def _wait(self, form: MultiDict[str], request: web.Request) -> str:
        return await self._service.wait(_sid(form))

    async def _wait_key(self, form: MultiDict[str], request: web.Request) -> str:
        return await self._service.wait_key(_sid(form), heard(form).digits)

    async def _queue_result(self, form: MultiDict[str], request: web.Request) -> str:
        result = fields.field(form, "QueueResult")
        if result not in QUEUE_RESULTS:
            raise InvalidInput(f"QueueResult {result!r} is not one of Twilio's", code="webhook.bad_field")
        return await self._service.queue_result(_sid(form), result, _count(form, "QueueTime"))

    async def _recorded(self, form: MultiDict[str], request: web.Request) -> str:
        return await self._service.recorded(_sid(form))

    async def _status(self, form: MultiDict[str], request: web.Request) -> None:
        status = fields.field(form, "CallStatus")
        if status not in CALL_STATUSES:
            raise InvalidInput(f"CallStatus {status!r} is not one of Twilio's", code="webhook.bad_field")
        await self._service.call_status(_sid(form), status)

    async def _recording(self, form: MultiDict[str], request: web.Request) -> None:
        url = fields.field(form, "RecordingUrl", limit=2000)
        if not url.startswith(("https://", "http://")):
            raise InvalidInput("RecordingUrl is not a URL", code="webhook.bad_field")
        conference = request.query.get("conference", "")
        if conference:
            # The recording of a call with its agent (the queue records calls), not a voicemail.
            if len(conference) > 200:
                raise InvalidInput("the conference name is too long", code="webhook.bad_field")
            await self._service.call_recorded(conference, url, _count(form, "RecordingDuration"))
            return
        recording = Recording(
            call_sid=_sid(form),
            recording_sid=_sid(form, "RecordingSid"),
            url=url,
            duration_seconds=_count(form, "RecordingDuration"),
            status=fields.field(form, "RecordingStatus", required=False) or "completed",
        )
        await self._service.recording(recording)

    async def _transcription(self, form: MultiDict[str], request: web.Request) -> None:
        text = fields.field(form, "TranscriptionText", required=False, limit=20_000)
        await self._service.transcription(_sid(form, "RecordingSid"), text)

    async def _conference(self, form: MultiDict[str], request: web.Request) -> None:
        event = ConferenceEvent(
            conference=fields.field(form, "FriendlyName", limit=200),
            conference_sid=_sid(form, "ConferenceSid"),
            event=fields.field(form, "StatusCallbackEvent"),
            call_sid=_sid(form) if form.get("CallSid") else None,
            label=fields.field(form, "ParticipantLabel", required=False, limit=200) or None,
        )
        await self._service.conference(event)

    async def _participant(self, form: MultiDict[str], request: web.Request) -> None:
        conference = request.query.get("conference", "")
        label = request.query.get("label", "")
        if not conference or not label or len(conference) > 200 or len(label) > 200:
            raise InvalidInput("the participant callback names no conference or label", code="webhook.bad_field")
        status = fields.field(form, "CallStatus")
        if status not in CALL_STATUSES:
            raise InvalidInput(f"CallStatus {status!r} is not one of Twilio's", code="webhook.bad_field")
        await self._service.participant(conference, label, _sid(form), status)
