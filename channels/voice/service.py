"""What the voice webhooks ask of the service (the desk implements it), in the shapes the
webhooks parse Twilio's requests into. Every answer is TwiML, whatever happened: a call
or step the service does not know raises ``NotFound``, which the webhook answers with an
apology, never an error page Twilio would read to the caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ivr.interpreter import Heard


@dataclass(frozen=True)
class IncomingCall:
    call_sid: str
    caller: str  # E.164
    dialled: str  # E.164
    # What Twilio knows of the caller (FromCity, FromCountry, CallerName...).
    details: dict[str, str]


@dataclass(frozen=True)
class Recording:
    call_sid: str
    recording_sid: str
    url: str
    duration_seconds: int
    status: str


@dataclass(frozen=True)
class ConferenceEvent:
    conference: str  # its friendly name: the interaction's id
    conference_sid: str
    event: str  # conference-start, conference-end, participant-join, participant-leave, participant-hold, ...
    call_sid: str | None
    label: str | None


# Twilio's QueueResult values (the <Enqueue> action's), each an outcome documented in
# docs/voice.md.
QUEUE_RESULTS = frozenset(
    {
        "bridged",
        "bridging-in-process",
        "error",
        "hangup",
        "leave",
        "redirected",
        "redirected-from-bridged",
        "queue-full",
        "system-shutdown",
    }
)
# A call's final statuses, as status callbacks report them.
FINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
CALL_STATUSES = FINAL_STATUSES | {"queued", "initiated", "ringing", "in-progress"}


class VoiceService(Protocol):
    async def incoming(self, call: IncomingCall) -> str: ...

    async def step(self, call_sid: str, number: int, heard: Heard) -> str: ...

    async def wait(self, call_sid: str) -> str: ...

    async def wait_key(self, call_sid: str, digits: str) -> str: ...

    async def queue_result(self, call_sid: str, result: str, queue_seconds: int) -> str: ...

    async def recorded(self, call_sid: str) -> str: ...

    async def call_status(self, call_sid: str, status: str) -> None: ...

    async def recording(self, recording: Recording) -> None: ...

    async def call_recorded(self, conference: str, url: str, duration_seconds: int) -> None: ...

    async def transcription(self, recording_sid: str, text: str) -> None: ...

    async def conference(self, event: ConferenceEvent) -> None: ...

    async def participant(self, conference: str, label: str, call_sid: str, status: str) -> None: ...
