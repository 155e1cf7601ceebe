"""The phone channel's calls to Twilio's REST API, with the ``twilio`` library's async client.

Conferences are created by name: dialling a participant into a conference that does not
exist yet makes it (Twilio's Participants API takes a friendly name in place of the SID
on create). Everything done to a conference or its participants afterwards needs the
conference's SID (CF...), which its status callbacks report.

Twilio refusing is ``voice.refused``, not reaching it ``voice.unreachable``. Removing a
participant, ending a conference or hanging up something Twilio no longer knows (404:
the call ended on its own meanwhile) is done, not an error."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiohttp import ClientError
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from channels.twilio.client import TwilioClient
from channels.twilio.settings import TwilioSettings
from channels.voice.conference import PARTICIPANT_EVENTS, Callbacks, check_name, join_conference
from interaction_center.domain.errors import ChannelError

log = logging.getLogger(__name__)

SupervisorMode = Literal["listen", "whisper", "barge"]

# SIDs go into the URL path unescaped by the twilio library: letters and digits only.
_SID = re.compile(r"[A-Za-z0-9]{2,64}")


def _sid(value: str) -> str:
    if _SID.fullmatch(value) is None:
        raise ValueError(f"not a Twilio SID: {value!r}")
    return value


def _mode(mode: SupervisorMode, agent_call_sid: str) -> dict[str, Any]:
    """The participant fields of a supervisor's mode: heard by nobody, by the agent alone, by both."""
    if mode == "listen":
        return {"muted": True, "coaching": False}
    if mode == "whisper":
        return {"muted": False, "coaching": True, "call_sid_to_coach": agent_call_sid}
    if mode == "barge":
        return {"muted": False, "coaching": False}
    raise ValueError(f"not a supervisor mode: {mode!r}")


class TwilioVoice:
    def __init__(self, settings: TwilioSettings, status_base_url: str, timeout: float = 15.0) -> None:
        self._callbacks = Callbacks(status_base_url.rstrip("/"))
        self._client = TwilioClient(settings, timeout)

    async def _twilio(
        self, what: str, request: Callable[[Client], Awaitable[Any]], *, gone_is_done: bool = False
    ) -> Any:
        try:
            return await request(self._client.connected())
        except TwilioRestException as exc:
            if gone_is_done and exc.status == 404:
                log.info("%s: already gone at Twilio", what)
                return None
            raise ChannelError(f"Twilio refused to {what}: {exc.msg} ({exc.code})", code="voice.refused") from exc
        except (TwilioException, ClientError, TimeoutError) as exc:
            raise ChannelError(f"Twilio could not be reached to {what}: {exc}", code="voice.unreachable") from exc

    async def move_to_conference(self, call_sid: str, conference: str, *, record: bool, wait_url: str) -> None:
        """The waiting caller into conference ``conference``, where it hears ``wait_url`` until an agent joins."""
        twiml = join_conference(
            conference,
            wait_url=wait_url,
            status_callback=self._callbacks.conference,
            record=record,
            recording_status_callback=self._callbacks.recording(conference),
        )
        await self._twilio(
            f"move {call_sid} to {conference}", lambda c: c.calls(_sid(call_sid)).update_async(twiml=twiml)
        )
        log.info("%s: call %s moved to its conference", conference, call_sid)

    async def _dial(self, conference: str, endpoint: str, label: str, caller_id: str, **fields: Any) -> str:
        callback = self._callbacks.participant(check_name(conference), label)
        created = await self._twilio(
            f"dial {label} into {conference}",
            lambda c: c.conferences(conference).participants.create_async(
                from_=caller_id,
                to=endpoint,
                label=label,
                beep="false",
                end_conference_on_exit=False,
                status_callback=callback,
                status_callback_method="POST",
                status_callback_event=list(PARTICIPANT_EVENTS),
                **fields,
            ),
        )
        log.info("%s: dialling %s as %s, call %s", conference, endpoint, label, created.call_sid)
        return str(created.call_sid)

    async def dial_agent(
        self, conference: str, endpoint: str, *, caller_id: str, timeout: int, label: str = "agent"
    ) -> str:
        """Ring ``endpoint`` ("client:<identity>" or an E.164 number) into the conference, which
        starts when it answers; the call's SID."""
        return await self._dial(conference, endpoint, label, caller_id, timeout=timeout, start_conference_on_enter=True)

    async def add_supervisor(
        self,
        conference: str,
        endpoint: str,
        *,
        mode: SupervisorMode,
        agent_call_sid: str,
        caller_id: str,
        timeout: int = 30,
        label: str = "supervisor",
    ) -> str:
        """Ring a supervisor into a running conference, silently (no beep); the call's SID."""
        fields = _mode(mode, agent_call_sid)
        return await self._dial(
            conference, endpoint, label, caller_id, timeout=timeout, start_conference_on_enter=False, **fields
        )

    async def _participant(self, what: str, conference_sid: str, call_sid: str, **fields: Any) -> None:
        await self._twilio(
            f"{what} {call_sid} in {conference_sid}",
            lambda c: c.conferences(_sid(conference_sid)).participants(_sid(call_sid)).update_async(**fields),
        )

    async def hold(self, conference_sid: str, call_sid: str, on: bool, hold_url: str = "") -> None:
        """On hold (hearing ``hold_url``, or Twilio's music without one), or back."""
        url = hold_url if on and hold_url else values.unset
        await self._participant("hold" if on else "resume", conference_sid, call_sid, hold=on, hold_url=url)

    async def set_supervisor_mode(
        self, conference_sid: str, call_sid: str, mode: SupervisorMode, agent_call_sid: str
    ) -> None:
        fields = _mode(mode, agent_call_sid)
        await self._participant(f"switch to {mode}", conference_sid, call_sid, **fields)

    async def remove(self, conference_sid: str, call_sid: str) -> None:
        """That participant out of the conference: its call ends."""
        await self._twilio(
            f"remove {call_sid} from {conference_sid}",
            lambda c: c.conferences(_sid(conference_sid)).participants(_sid(call_sid)).delete_async(),
            gone_is_done=True,
        )

    async def end_conference(self, conference_sid: str) -> None:
        """Every participant's call ends."""
        await self._twilio(
            f"end {conference_sid}",
            lambda c: c.conferences(_sid(conference_sid)).update_async(status="completed"),
            gone_is_done=True,
        )

    async def redirect(self, call_sid: str, twiml: str) -> None:
        """The call leaves what it is doing (a conference) and runs ``twiml`` instead."""
        await self._twilio(f"redirect {call_sid}", lambda c: c.calls(_sid(call_sid)).update_async(twiml=twiml))

    async def hang_up(self, call_sid: str) -> None:
        await self._twilio(
            f"hang up {call_sid}", lambda c: c.calls(_sid(call_sid)).update_async(status="completed"), gone_is_done=True
        )

    async def call(self, to: str, from_: str, *, twiml: str, status_callback: str, timeout: int) -> str:
        """An outbound call running ``twiml`` once answered, reporting to ``status_callback``; its SID."""
        created = await self._twilio(
            f"call {to}",
            lambda c: c.calls.create_async(
                to=to,
                from_=from_,
                twiml=twiml,
                timeout=timeout,
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=list(PARTICIPANT_EVENTS),
            ),
        )
        log.info("%s: calling %s", created.sid, to)
        return str(created.sid)

    async def close(self) -> None:
        await self._client.close()
