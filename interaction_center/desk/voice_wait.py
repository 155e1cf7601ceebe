"""A caller waiting in a queue: what Twilio's wait URL plays them (their place, said when
it changed; an estimate of their wait; hold music; the offer of a callback), the maximum
wait Twilio lacks, and what each of Twilio's ``QueueResult`` values means for the
interaction (see docs/voice.md).

The estimate (docs/voice.md): a caller at place ``p`` waits about ``p`` times the average
time between the queue's latest answered calls (the last ``estimate_window`` answers in
the last hour), said only once ``estimate_samples`` answers are there to average."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.voice import twiml
from channels.voice.settings import QueueVoiceSettings
from channels.voice.twiml import VoiceUrls
from interaction_center.dispatch.dispatcher import Dispatcher
from interaction_center.domain.errors import NotFound, StaleState
from interaction_center.domain.model import SYSTEM, Channel, InteractionState
from interaction_center.domain.stamps import utcnow
from interaction_center.intake.waiting import queued_data, waiting_values
from interaction_center.settings.model import Settings
from ivr.flow import Prompt
from routing import RoutingBackend
from storage import calls, intake_rows
from storage import interactions as store
from storage.models import Interaction, VoiceCall
from storage.reader import Reader
from storage.writer import Writer

log = logging.getLogger(__name__)

# How long a queue's places and recent answers are reused: every waiting caller's wait URL
# asks every few seconds, and one read of the queue serves them all.
_FRESH_SECONDS = 1.0
_ESTIMATE_HORIZON = timedelta(hours=1)
# QueueResult values after which nothing changes here: the call is with its agent, or was
# moved on by us.
_NOTHING_TO_DO = frozenset({"bridged", "bridging-in-process", "redirected", "redirected-from-bridged"})


def place_words(position: int, limit: int) -> str:
    if position > limit:
        return f"There are more than {limit} callers ahead of you."
    if position == 1:
        return "You are next in line."
    return f"You are caller number {position} in the queue."


def wait_words(seconds: float) -> str:
    """Rounded as people say it: to the minute under ten, to five minutes under an hour."""
    if seconds < 60:
        return "Your wait should be less than a minute."
    if seconds < 90:
        return "Your estimated wait is about one minute."
    if seconds < 600:
        return f"Your estimated wait is about {round(seconds / 60)} minutes."
    if seconds < 3600:
        return f"Your estimated wait is about {5 * round(seconds / 300)} minutes."
    return "Your estimated wait is more than an hour."


def estimate(answers: list[datetime], position: int, samples: int) -> float | None:
    """Seconds: ``position`` times the average gap between ``answers`` (newest first);
    None below ``samples`` answers."""
    if len(answers) < max(samples, 2):
        return None
    gap = (answers[0] - answers[-1]).total_seconds() / (len(answers) - 1)
    return position * gap


class VoiceWait:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        writer: Writer,
        reader: Reader,
        dispatcher: Dispatcher,
        routing: RoutingBackend,
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._writer = writer
        self._reader = reader
        self._dispatcher = dispatcher
        self._routing = routing
        self._settings = settings
        self._urls = VoiceUrls(settings.public_base_url)
        self._places: dict[str, tuple[float, dict[str, int]]] = {}
        self._answers: dict[str, tuple[float, list[datetime]]] = {}

    async def wait(self, call_sid: str) -> str:
        call = await self._reader.run(lambda conn: calls.read(conn, call_sid))
        if call is None:
            raise NotFound(f"no call {call_sid}", code="voice.unknown_call")
        policy = self._policy(call.queue)
        music = policy.hold_music or self._settings.voice.hold_music
        if call.phase != "queued" or call.state != InteractionState.QUEUED:
            # Being put through to an agent: music until the call is moved.
            return twiml.hold(music)
        now = utcnow()
        waited = (now - (call.enqueued_at or now)).total_seconds()
        if policy.max_wait_seconds and waited >= policy.max_wait_seconds:
            await self._leave(call.call_sid, policy.max_wait_branch, "max_wait", {"waited_seconds": round(waited)})
            return twiml.leave()
        position = await self._place(call.queue, call.interaction_id)
        heard = min(position, policy.position_limit + 1)
        due = call.announced_at is None or (now - call.announced_at).total_seconds() >= policy.announce_every_seconds
        if not due or heard == call.announced_position:
            return twiml.hold(music)
        seconds = estimate(await self._recent_answers(call.queue, policy), position, policy.estimate_samples)
        said = [Prompt(say=place_words(position, policy.position_limit))]
        if seconds is not None:
            said.append(Prompt(say=wait_words(seconds)))
        offer = None
        if self._calls_back(call.queue, policy, seconds, now):
            offer = Prompt(say=f"To keep your place and be called back, press {policy.callback_key} now.")
        data = {"position": position, "estimate_seconds": None if seconds is None else round(seconds)}

        def announce(conn: Connection) -> None:
            # On condition of the version read: of two polls racing, one announces.
            if not calls.update(conn, call_sid, call.version, {"announced_position": heard, "announced_at": now}):
                raise StaleState("announced meanwhile")
            event = store.event_row(call.interaction_id, "wait_announced", SYSTEM, data, now)
            intake_rows.insert_all(conn, (), (), [event])

        try:
            await self._writer.submit(announce)
        except StaleState:
            return twiml.hold(music)
        return twiml.waiting(said, music, offer, self._urls)

    async def wait_key(self, call_sid: str, digits: str) -> str:
        async with self._sessions() as session:
            call, interaction = await _call(session, call_sid)
        policy = self._policy(interaction.queue)
        if call.phase == "queued" and policy.callback_above_seconds and digits == policy.callback_key:
            await self._leave(call.call_sid, "callback", "callback_requested", {})
            return twiml.leave()
        # Any other key: back to waiting, where the wait URL is asked again.
        return twiml.empty()

    async def queue_result(self, call_sid: str, result: str, queue_seconds: int) -> str:
        async with self._sessions() as session:
            call, interaction = await _call(session, call_sid)
        data = {"queue_result": result, "queue_seconds": queue_seconds}
        if result in ("hangup", "system-shutdown"):
            reason = "hangup" if result == "hangup" else "system_shutdown"
            await self._dispatcher.abandon(interaction.id, {"reason": reason, **data})
            return twiml.empty()
        if result == "error":
            # Twilio's queue failed, not ours: back into it; the place with us is kept.
            await self._note(interaction.id, "queue_error", data)
            return twiml.enqueued((), self._urls, interaction.id)
        if result in _NOTHING_TO_DO:
            return twiml.empty()
        # The same report again (Twilio retries) finds its branch taken: the same answer.
        if call.phase == "callback":
            return twiml.goodbye([twiml.CALLBACK_CONFIRMED])
        if call.phase == "voicemail":
            return twiml.voicemail(self._urls, self._settings.voice.voicemail_max_seconds)
        policy = self._policy(interaction.queue)
        # Twilio's queue full is a wait that cannot go on, like the maximum wait.
        branch = (call.leave_to or policy.max_wait_branch) if result == "queue-full" else call.leave_to
        return await self._branch(call, interaction, branch, data)

    async def _branch(
        self, call: VoiceCall, interaction: Interaction, branch: str | None, data: dict[str, object]
    ) -> str:
        """Where a caller who left the queue goes: a callback (their place kept), voicemail
        (the wait ends unanswered), or another queue (a fresh place there)."""
        if branch == "callback":
            await self._set_phase(call.call_sid, "callback")
            return twiml.goodbye([twiml.CALLBACK_CONFIRMED])
        if branch == "voicemail":
            if not await self._dispatcher.abandon(interaction.id, {"reason": "voicemail", **data}):
                # An agent took the call meanwhile: back to the music until it is put through.
                return twiml.enqueued((), self._urls, interaction.id)
            await self._set_phase(call.call_sid, "voicemail")
            return twiml.voicemail(self._urls, self._settings.voice.voicemail_max_seconds)
        if branch is not None and branch.startswith("queue:"):
            target = branch.removeprefix("queue:")
            values = waiting_values(target, self._settings.queues[target], Channel.VOICE, utcnow(), None)
            moved = {**queued_data(values), "from_queue": interaction.queue, **data}
            if await self._dispatcher.move(interaction.id, values, moved):
                await self._set_phase(call.call_sid, "queued", new_place=True)
            return twiml.enqueued((), self._urls, interaction.id)
        # A leave we did not ask for, or the same report again after the caller was moved
        # to another queue: back to waiting, where they are.
        return twiml.enqueued((), self._urls, interaction.id)

    async def _leave(self, call_sid: str, branch: str, event: str, data: dict[str, object]) -> None:
        async with self._sessions.begin() as session:
            row = await calls.get(session, call_sid, lock=True)
            if row is None:
                return
            row.leave_to = branch
            store.record_event(session, row.interaction_id, event, SYSTEM, {"to": branch, **data})

    async def _set_phase(self, call_sid: str, phase: str, *, new_place: bool = False) -> None:
        """The waiting call's next phase; none once the call ended (the caller is gone)."""
        async with self._sessions.begin() as session:
            row = await calls.get(session, call_sid, lock=True)
            if row is not None and row.phase == "queued":
                row.phase, row.leave_to = phase, None
                if new_place:
                    row.announced_position = row.announced_at = None

    async def _note(self, interaction_id: str, event: str, data: dict[str, object]) -> None:
        async with self._sessions.begin() as session:
            store.record_event(session, interaction_id, event, SYSTEM, data)

    def _calls_back(self, queue: str, policy: QueueVoiceSettings, seconds: float | None, now: datetime) -> bool:
        """A callback is offered above the queue's estimated wait, and only while the queue
        is open: its customer is called back within the hours the queue keeps."""
        if not policy.callback_above_seconds or seconds is None or seconds <= policy.callback_above_seconds:
            return False
        hours = self._settings.queues[queue].hours
        return hours is None or hours.is_open(now)

    def _policy(self, queue_name: str) -> QueueVoiceSettings:
        queue = self._settings.queues.get(queue_name)
        return QueueVoiceSettings() if queue is None else queue.voice

    async def _place(self, queue: str, interaction_id: str) -> int:
        """The caller's place among the calls waiting in their queue (callbacks count),
        from a reading of the queue at most a second old."""
        read_at, places = self._places.get(queue, (0.0, {}))
        if time.monotonic() - read_at > _FRESH_SECONDS or interaction_id not in places:
            entries = await self._routing.waiting(queue)
            voice = (entry.interaction_id for entry in entries if entry.channel == Channel.VOICE)
            places = {waiting: place for place, waiting in enumerate(voice, start=1)}
            self._places[queue] = (time.monotonic(), places)
        return places.get(interaction_id, len(places) + 1)

    async def _recent_answers(self, queue: str, policy: QueueVoiceSettings) -> list[datetime]:
        read_at, answers = self._answers.get(queue, (0.0, []))
        if time.monotonic() - read_at > _FRESH_SECONDS:
            since = utcnow() - _ESTIMATE_HORIZON
            answers = await self._reader.run(
                lambda conn: calls.recent_answers(conn, queue, since, policy.estimate_window)
            )
            self._answers[queue] = (time.monotonic(), answers)
        return answers


async def _call(session: AsyncSession, call_sid: str) -> tuple[VoiceCall, Interaction]:
    call = await calls.get(session, call_sid)
    if call is None:
        raise NotFound(f"no call {call_sid}", code="voice.unknown_call")
    return call, await store.get(session, call.interaction_id)
