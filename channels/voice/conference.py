"""The voice channel's conferences, without I/O: their names, where Twilio reports on
them, and the TwiML that moves a caller into one.

Every answered call is a conference named after its interaction: the customer waits in
it (hearing ``wait_url``) until the agent's leg, dialled in by the REST API, starts it.
Supervisors join the same conference muted (listen), coaching the agent (whisper) or
speaking to both (barge)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

# What Twilio reports to the conference's status callback, and to each dialled participant's.
CONFERENCE_EVENTS = ("start", "end", "join", "leave", "hold")
PARTICIPANT_EVENTS = ("initiated", "ringing", "answered", "completed")

# The twilio library puts a conference's name into the URL path unescaped (a "/" would
# change the path), and Twilio matches names exactly: ids only, which interaction ids are.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")


def check_name(name: str) -> str:
    """The name, if it can name a conference in a URL path and in TwiML; ValueError if not."""
    if _NAME.fullmatch(name) is None:
        raise ValueError(f"not a conference name: {name!r} (letters, digits, '-' and '_', at most 128)")
    return name


@dataclass(frozen=True)
class Callbacks:
    """Our public URLs Twilio calls back, under ``base`` (no trailing slash)."""

    base: str

    @property
    def conference(self) -> str:
        return f"{self.base}/twilio/voice/conference"

    def participant(self, conference: str, label: str) -> str:
        return f"{self.base}/twilio/voice/participant?" + urlencode({"conference": conference, "label": label})

    def recording(self, conference: str) -> str:
        return f"{self.base}/twilio/voice/recording?" + urlencode({"conference": conference})


def join_conference(
    name: str, *, wait_url: str, status_callback: str, record: bool, recording_status_callback: str = ""
) -> str:
    """TwiML putting the caller into conference ``name`` as participant "customer": it waits
    (hearing ``wait_url``) until someone who starts it joins, and ends when the caller leaves."""
    response = VoiceResponse()
    dial = response.dial()
    dial.conference(
        check_name(name),
        participant_label="customer",
        beep=False,
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        wait_url=wait_url,
        wait_method="POST",
        status_callback=status_callback,
        status_callback_method="POST",
        status_callback_event=" ".join(CONFERENCE_EVENTS),
        record="record-from-start" if record else None,
        recording_status_callback=(recording_status_callback or None) if record else None,
    )
    return str(response)
