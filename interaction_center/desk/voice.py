"""The phone channel's use cases: a call comes in and walks its IVR flow, step by step,
with the call's state in storage (``storage.calls``); it reaches a queue, voicemail, an
outside number or a goodbye. Waiting is ``voice_wait``'s, the agent's side (conference,
callbacks) ``voice_bridge``'s; this class answers the webhooks and hands them on.

Each step is one transaction: the interaction's IVR events, the call's next state, the
step number its next webhook must carry and the TwiML answered, written on condition of
the version read. A retried webhook (same step) gets the stored answer and moves nothing;
of two racing, the second finds the first's answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.voice import twiml
from channels.voice.service import FINAL_STATUSES, ConferenceEvent, IncomingCall, Recording
from channels.voice.token import TOKEN_SECONDS, can_issue, voice_token
from channels.voice.twiml import VoiceUrls
from interaction_center.desk.voice_bridge import VoiceBridge, endpoint_of
from interaction_center.desk.voice_control import CallControl
from interaction_center.desk.voice_wait import VoiceWait
from interaction_center.dispatch.dispatcher import Dispatcher
from interaction_center.domain.errors import Conflict, NotFound, StaleState
from interaction_center.domain.model import (
    SYSTEM,
    Actor,
    ActorKind,
    Channel,
    IdentityKind,
    InboundContact,
    InteractionState,
)
from interaction_center.domain.stamps import utcnow
from interaction_center.domain.wire import VoiceTokenBody
from interaction_center.intake.service import Intake
from interaction_center.intake.waiting import queued_data, waiting_values
from interaction_center.settings.model import Settings
from ivr.flow import Prompt
from ivr.interpreter import (
    CallState,
    Enqueue,
    Gather,
    Hangup,
    Heard,
    Interpreter,
    Step,
    Transfer,
    UnknownStep,
    Voicemail,
)
from storage import calls, customers
from storage import interactions as store
from storage.models import Agent, Interaction, VoiceCall

log = logging.getLogger(__name__)

# A hang-up report decided again this many times when a step of the call races it.
_ATTEMPTS = 3
# The call's phase once its flow ends somewhere other than a queue.
_ENDS: dict[type, str] = {Voicemail: "voicemail", Transfer: "transferred", Hangup: "ended"}


class CallDirectory:
    """The IVR's lookups (``ivr.interpreter.Directory``): a customer by an account number
    they keyed in, else by the number they call from, if they were in touch before (intake
    makes a customer of every new number: a stranger is not "found")."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def find_customer(self, caller: str, account: str | None) -> str | None:
        async with self._sessions() as session:
            if account:
                held = await customers.identity(session, IdentityKind.ACCOUNT, account)
                if held is not None:
                    return held.customer_id
            return await customers.returning_caller(session, caller) if caller else None


class VoiceDesk:
    """``channels.voice.service.VoiceService``."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        intake: Intake,
        dispatcher: Dispatcher,
        interpreter: Interpreter,
        wait: VoiceWait,
        bridge: VoiceBridge,
        control: CallControl,
        settings: Settings,
        queued: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._intake = intake
        self._dispatcher = dispatcher
        self._interpreter = interpreter
        self._wait = wait
        self.bridge = bridge
        # What agents and supervisors do to a call in progress (the API's .../call/...).
        self.control = control
        self._settings = settings
        # Told when a call joins a queue: the routing feed reads it from the log at once.
        self._queued = queued
        self._urls = VoiceUrls(settings.public_base_url)

    async def incoming(self, call: IncomingCall) -> str:
        async with self._sessions() as session:
            known = await calls.get(session, call.call_sid)
        if known is not None:
            return known.response
        flow = self._settings.voice.flows.for_number(call.dialled)
        if flow is None:
            raise NotFound(f"no IVR flow answers {call.dialled}", code="voice.no_flow")
        contact = InboundContact(
            channel=Channel.VOICE,
            external_id=call.call_sid,
            identity_kind=IdentityKind.PHONE,
            from_address=call.caller,
            to_address=call.dialled,
            body="",
            thread_key=f"voice:{call.call_sid}",
            attributes={"call": call.details},
            sender_name=call.details.get("CallerName", ""),
            held=True,
        )
        opened = await self._intake.receive(contact, "")
        step = await self._interpreter.begin(flow, call.caller, utcnow())
        row = VoiceCall(
            call_sid=call.call_sid,
            interaction_id=opened.interaction_id,
            caller=call.caller,
            dialled=call.dialled,
            phase="ivr",
            flow_state={},
            step=0,
            response="",
            callback_attempts=0,
        )
        try:
            return await self._take(row, step, new=True)
        except IntegrityError:
            # The same webhook, retried while the first was being answered.
            return await self._stored(call.call_sid)

    async def step(self, call_sid: str, number: int, heard: Heard) -> str:
        async with self._sessions() as session:
            call = await self._call(session, call_sid)
        if number < call.step or call.phase != "ivr":
            # Answered already: the same answer, and the caller stays where they are.
            return call.response
        if number > call.step:
            raise NotFound(f"call {call_sid} was never sent to step {number}", code="voice.unknown_step")
        try:
            step = await self._interpreter.resume(CallState.from_json(call.flow_state), heard, call.caller, utcnow())
        except UnknownStep as exc:
            raise NotFound(str(exc), code="voice.unknown_step") from exc
        try:
            return await self._take(call, step, new=False)
        except StaleState:
            return await self._stored(call_sid)

    async def _take(self, read: VoiceCall, step: Step, *, new: bool) -> str:
        """Record ``step`` on the call and its interaction, on condition that the call is
        still at the step it was read at; the TwiML to answer with."""
        then = step.then
        async with self._sessions.begin() as session:
            if new:
                call = read
                session.add(call)
            else:
                found = await calls.get(session, read.call_sid)
                if found is None or found.step != read.step or found.phase != "ivr":
                    raise StaleState("the call moved on (or ended) meanwhile")
                call = found
            interaction = await store.get(session, call.interaction_id)
            customer = Actor(ActorKind.CUSTOMER, interaction.customer_id)
            for kind, data in step.events:
                store.record_event(session, interaction.id, kind, customer if kind == "ivr_input" else SYSTEM, data)
            if step.state.customer_id and step.state.customer_id != interaction.customer_id:
                data = {"customer_id": step.state.customer_id, "was": interaction.customer_id}
                store.record_event(session, interaction.id, "customer_identified", SYSTEM, data)
                interaction.customer_id = step.state.customer_id
            prompts = step.prompts
            if isinstance(then, Enqueue):
                self._enqueue(session, interaction, then)
                policy = self._settings.queues[then.queue].voice
                if policy.record:
                    prompts = (*prompts, Prompt(say=policy.consent_prompt))
                call.phase = "queued"
            elif not isinstance(then, Gather):
                # The call leaves the IVR for no agent: its interaction ends here.
                call.phase = _ENDS[type(then)]
                data = {"to": call.phase, **({"number": then.number} if isinstance(then, Transfer) else {})}
                store.transition(session, interaction, InteractionState.CANCELLED, SYSTEM, "ivr_ended", data)
            call.flow_state = step.state.to_json()
            call.step += 1
            call.response = twiml.step(
                Step(prompts, then, step.state, step.events), self._urls, call.step, interaction.id
            )
        if call.phase == "queued":
            self._queued()
        return call.response

    def _enqueue(self, session: AsyncSession, interaction: Interaction, then: Enqueue) -> None:
        policy = self._settings.queues[then.queue]
        now = utcnow()
        values = waiting_values(
            then.queue, policy, Channel.VOICE, now, None, skills=then.skills, priority=then.priority
        )
        for column, value in values.items():
            setattr(interaction, column, value)
        data = {**queued_data(values), **({"language": then.language} if then.language else {})}
        store.transition(session, interaction, InteractionState.QUEUED, SYSTEM, "queued", data)

    async def _stored(self, call_sid: str) -> str:
        async with self._sessions() as session:
            return (await self._call(session, call_sid)).response

    @staticmethod
    async def _call(session: AsyncSession, call_sid: str) -> VoiceCall:
        call = await calls.get(session, call_sid)
        if call is None:
            raise NotFound(f"no call {call_sid}", code="voice.unknown_call")
        return call

    def token(self, agent: Agent) -> VoiceTokenBody:
        """The agent's browser softphone token (``GET /api/v1/voice/token``)."""
        twilio = self._settings.twilio
        if not can_issue(twilio):
            raise Conflict(
                "no Twilio account is configured for browser calls (twilio.account_sid, api_key_sid,"
                " api_key_secret, twiml_app_sid): accepted calls are only marked bridged (demo)",
                code="voice.not_configured",
            )
        expires = utcnow() + timedelta(seconds=TOKEN_SECONDS)
        identity = endpoint_of(agent).removeprefix("client:")
        return {"token": voice_token(twilio, identity), "identity": identity, "expires_at": expires.isoformat()}

    async def wait(self, call_sid: str) -> str:
        return await self._wait.wait(call_sid)

    async def wait_key(self, call_sid: str, digits: str) -> str:
        return await self._wait.wait_key(call_sid, digits)

    async def queue_result(self, call_sid: str, result: str, queue_seconds: int) -> str:
        return await self._wait.queue_result(call_sid, result, queue_seconds)

    async def recorded(self, call_sid: str) -> str:
        return twiml.goodbye([twiml.VOICEMAIL_THANKS])

    async def call_status(self, call_sid: str, status: str) -> None:
        """The caller's leg ended: a caller still in the IVR ends their interaction there,
        one waiting abandons it (the wait counted), one with an agent ends the talk. Told
        once: a report repeated (or racing the queue's own hang-up report) changes nothing."""
        if status not in FINAL_STATUSES:
            return
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                ended = await self._end_call(call_sid, status)
                break
            except StaleState:
                # A step of the same call was written meanwhile: decide again on what it left.
                if attempt == _ATTEMPTS:
                    raise
        if ended is None:
            return
        phase, call = ended
        if phase == "queued":
            await self._dispatcher.abandon(call.interaction_id, {"reason": "hangup", "call_status": status})
        elif phase == "bridged":
            await self.bridge.caller_left(call)

    async def _end_call(self, call_sid: str, status: str) -> tuple[str, VoiceCall] | None:
        """The call marked ended, on condition of the version read (a step racing the
        hang-up makes one of the two write again); the phase it ended in. None when the
        call is unknown or was ended already."""
        async with self._sessions.begin() as session:
            row = await calls.get(session, call_sid)
            if row is None:
                log.info("status %s for call %s we never answered: ignored", status, call_sid)
                return None
            if row.ended_at is not None:
                return None
            phase = row.phase
            interaction = await store.get(session, row.interaction_id)
            if interaction.state == InteractionState.NEW:
                data = {"to": "caller_hung_up", "call_status": status}
                store.transition(session, interaction, InteractionState.CANCELLED, SYSTEM, "ivr_ended", data)
            row.ended_at = utcnow()
            # A caller who took a callback hung up on purpose: their place is kept.
            if phase != "callback":
                row.phase = "ended"
            store.record_event(session, interaction.id, "call_ended", SYSTEM, {"call_status": status})
        return phase, row

    async def recording(self, recording: Recording) -> None:
        """A voicemail: a new interaction with its recording, queued and offered like an
        email, in the queue the call was in (or the first that takes calls)."""
        async with self._sessions() as session:
            call = await self._call(session, recording.call_sid)
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

    async def call_recorded(self, conference: str, url: str, duration_seconds: int) -> None:
        await self.bridge.recorded(conference, url, duration_seconds)

    async def conference(self, event: ConferenceEvent) -> None:
        await self.bridge.conference(event)

    async def participant(self, conference: str, label: str, call_sid: str, status: str) -> None:
        await self.bridge.participant(conference, label, call_sid, status)
