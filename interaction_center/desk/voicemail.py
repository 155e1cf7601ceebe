"""Voicemail: a caller's recording becomes an interaction of its own, with the recording
on its message and Twilio's transcription when it comes (docs/voice.md, Voicemail)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.voice.service import Recording
from interaction_center.domain.errors import NotFound
from interaction_center.domain.model import SYSTEM, Channel, IdentityKind, InboundContact
from interaction_center.intake.service import Intake
from interaction_center.settings.model import Settings
from storage import calls
from storage import interactions as store

log = logging.getLogger(__name__)


class VoicemailDesk:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], intake: Intake, settings: Settings) -> None:
        self._sessions = sessions
        self._intake = intake
        self._settings = settings

    async def recording(self, recording: Recording) -> None:
        """A voicemail: a new interaction with its recording, queued and offered as a
        message is, in the queue the call was in (or the first that takes calls); none from
        a recording that failed or is absent."""
        async with self._sessions() as session:
            call = await calls.get(session, recording.call_sid)
            if call is None:
                raise NotFound(f"no call {recording.call_sid}", code="voice.unknown_call")
            interaction = await store.get(session, call.interaction_id)
        if recording.status != "completed":
            log.info(
                "recording %s of call %s is %s: no voicemail", recording.recording_sid, call.call_sid, recording.status
            )
            return
        queue = interaction.queue or next(
            (name for name, queue in self._settings.queues.items() if Channel.VOICE in queue.channels), None
        )
        if queue is None:
            log.warning("voicemail %s kept nowhere: no queue takes voice", recording.recording_sid)
            return
        minutes, seconds = divmod(recording.duration_seconds, 60)
        contact = InboundContact(
            channel=Channel.VOICE,
            external_id=recording.recording_sid,
            identity_kind=IdentityKind.PHONE,
            from_address=call.caller,
            to_address=call.dialled,
            body=f"Voicemail ({minutes}:{seconds:02d})",
            thread_key=f"voicemail:{recording.recording_sid}",
            attributes={
                "voicemail": {
                    "recording_url": recording.url,
                    "duration_seconds": recording.duration_seconds,
                    "call_sid": recording.call_sid,
                    "call_interaction_id": call.interaction_id,
                }
            },
        )
        await self._intake.receive(contact, queue)

    async def transcription(self, recording_sid: str, text: str) -> None:
        async with self._sessions.begin() as session:
            message = await store.find_message(session, Channel.VOICE, recording_sid)
            if message is None:
                log.info("transcription of unknown recording %s ignored", recording_sid)
                return
            message.attributes = {**message.attributes, "transcription": text}
            store.record_event(
                session, message.interaction_id, "voicemail_transcribed", SYSTEM, {"message_id": message.id}
            )
