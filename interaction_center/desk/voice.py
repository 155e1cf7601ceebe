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
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.voice import twiml
from channels.voice.service import FINAL_STATUSES, ConferenceEvent, IncomingCall, Recording
from channels.voice.token import TOKEN_SECONDS, can_issue, voice_token
from channels.voice.twiml import VoiceUrls
from interaction_center.desk.voice_bridge import VoiceBridge
from interaction_center.desk.voice_control import CallControl
from interaction_center.desk.voice_wait import VoiceWait
from interaction_center.desk.voicemail import VoicemailDesk
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
from interaction_center.domain.wire import VoiceSetupBody, VoiceTokenBody
from interaction_center.intake import batch as intake_batch
from interaction_center.intake.service import Intake
from interaction_center.intake.waiting import queued_data, waiting_values
from interaction_center.metrics import Metrics
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
from storage import calls, customers, intake_rows
from storage import interactions as store
from storage.models import Agent, VoiceCall
from storage.reader import Reader
from storage.writer import Writer

log = logging.getLogger(__name__)

T = TypeVar("T")
# A hang-up report decided again this many times when a step of the call races it, and a
# new call taken in again when another writer's key meets it.
_ATTEMPTS = 3
# The call's phase once its flow ends somewhere other than a queue.
_ENDS: dict[type, str] = {Voicemail: "voicemail", Transfer: "transferred", Hangup: "ended"}


class CallDirectory:
    """The IVR's lookups (``ivr.interpreter.Directory``): a customer by an account number
    they keyed in, else by the number they call from, if they were in touch before (intake
    makes a customer of every new number: a stranger is not "found")."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    async def find_customer(self, caller: str, account: str | None) -> str | None:
        return await self._reader.run(lambda conn: customers.find_caller(conn, caller, account))


class VoiceDesk:
    """``channels.voice.service.VoiceService``."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        writer: Writer,
        reader: Reader,
        intake: Intake,
        dispatcher: Dispatcher,
        interpreter: Interpreter,
        wait: VoiceWait,
        bridge: VoiceBridge,
        control: CallControl,
        settings: Settings,
        queued: Callable[[], None],
        metrics: Metrics,
    ) -> None:
        self._metrics = metrics
        self._sessions = sessions
        self._writer = writer
        self._reader = reader
        self._dispatcher = dispatcher
        self._interpreter = interpreter
        self._wait = wait
        self.bridge = bridge
        # What agents and supervisors do to a call in progress (the API's .../call/...).
        self.control = control
        self.voicemail = VoicemailDesk(sessions, intake, settings)
        self._settings = settings
        # Told when a call joins a queue: the routing feed reads it from the log at once.
        self._queued = queued
        self._urls = VoiceUrls(settings.public_base_url)

    async def incoming(self, call: IncomingCall) -> str:
        # A retried webhook is told from a new call in the transaction that would take it
        # in, not by a read ahead of it: retries are rare, and every new call paid that read.
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
        step = await self._interpreter.begin(flow, call.caller, utcnow())
        prompts, phase = self._shape(step)
        state = step.state.to_json()

        def write(conn: Connection) -> tuple[str, bool]:
            """The call taken in as intake takes any contact (held: its IVR queues it),
            its row and its first step, in one transaction; and whether it was the same
            webhook again."""
            now = utcnow()
            taken: list[dict[str, Any]] = []
            [stored] = intake_batch.write(conn, [(contact, "")], self._settings, now, events=taken)
            interaction_id = stored.result.interaction_id
            if stored.result.duplicate:
                # Answered in the transaction that took it in (a duplicate has no events).
                answered = calls.response(conn, call.call_sid)
                if answered is not None:
                    return answered, True
            answer = self._answer(step, prompts, 1, interaction_id)
            row = {
                "call_sid": call.call_sid,
                "interaction_id": interaction_id,
                "caller": call.caller,
                "dialled": call.dialled,
                "phase": phase,
                "flow_state": state,
                "step": 1,
                "response": answer,
                "callback_attempts": 0,
                "created_at": now,
                "version": 1,
            }
            calls.insert(conn, row)
            self._record(conn, interaction_id, step, phase, now, taken)
            return answer, False

        attempt = 1
        while True:
            try:
                answer, again = await self._write(write, phase)
                self._metrics.intake.labels(Channel.VOICE, "duplicate" if again else "created").inc()
                return answer
            except IntegrityError:
                # Another writer took in the same webhook (retried while the first was being
                # answered) or a first call from the same new number: a fresh transaction
                # finds what it committed.
                if attempt == _ATTEMPTS:
                    raise
                attempt += 1

    async def step(self, call_sid: str, number: int, heard: Heard) -> str:
        call = await self._reader.run(lambda conn: calls.read(conn, call_sid))
        if call is None:
            raise NotFound(f"no call {call_sid}", code="voice.unknown_call")
        if number < call.step or call.phase != "ivr":
            # Answered already: the same answer, and the caller stays where they are.
            return call.response
        if number > call.step:
            raise NotFound(f"call {call_sid} was never sent to step {number}", code="voice.unknown_step")
        try:
            step = await self._interpreter.resume(CallState.from_json(call.flow_state), heard, call.caller, utcnow())
        except UnknownStep as exc:
            raise NotFound(str(exc), code="voice.unknown_step") from exc
        prompts, phase = self._shape(step)
        answer = self._answer(step, prompts, call.step + 1, call.interaction_id)
        changes = {"phase": phase, "flow_state": step.state.to_json(), "step": call.step + 1, "response": answer}

        def write(conn: Connection) -> str:
            """The step, on condition that the call is still at the version it was read at."""
            if not calls.update(conn, call_sid, call.version, changes):
                raise StaleState("the call moved on (or ended) meanwhile")
            self._record(conn, call.interaction_id, step, phase, utcnow())
            return answer

        try:
            return await self._write(write, phase)
        except StaleState:
            return await self._stored(call_sid)

    def _shape(self, step: Step) -> tuple[tuple[Prompt, ...], str]:
        """What the caller hears at ``step`` (a queue that records its calls asks consent
        as the caller joins it), and the call's phase after it."""
        then = step.then
        if isinstance(then, Enqueue):
            policy = self._settings.queues[then.queue].voice
            prompts = (*step.prompts, Prompt(say=policy.consent_prompt)) if policy.record else step.prompts
            return prompts, "queued"
        if isinstance(then, Gather):
            return step.prompts, "ivr"
        # The call leaves the IVR for no agent: its interaction ends here.
        return step.prompts, _ENDS[type(then)]

    def _answer(self, step: Step, prompts: tuple[Prompt, ...], next_step: int, interaction_id: str) -> str:
        return twiml.step(Step(prompts, step.then, step.state, step.events), self._urls, next_step, interaction_id)

    async def _write(self, write: Callable[[Connection], T], phase: str) -> T:
        """A step's transaction on the storage writer; its answer once committed."""
        written = self._writer.submit(write)
        if phase == "queued":
            # The routing feed reads the log right behind this write, in its transaction
            # when it can.
            self._queued()
        return await written

    def _record(
        self,
        conn: Connection,
        interaction_id: str,
        step: Step,
        phase: str,
        now: datetime,
        before: Sequence[dict[str, Any]] = (),
    ) -> None:
        """The step on the interaction: its events (after ``before``, events of the same
        transaction not yet inserted), the customer the IVR identified, and its wait in a
        queue (or its end), on condition of the version read here."""
        customer_id, state, version = calls.interaction_of(conn, interaction_id)
        customer = Actor(ActorKind.CUSTOMER, customer_id)
        events = [
            *before,
            *(
                store.event_row(interaction_id, kind, customer if kind == "ivr_input" else SYSTEM, data, now)
                for kind, data in step.events
            ),
        ]
        change: dict[str, Any] = {}
        if step.state.customer_id and step.state.customer_id != customer_id:
            data = {"customer_id": step.state.customer_id, "was": customer_id}
            events.append(store.event_row(interaction_id, "customer_identified", SYSTEM, data, now))
            change["customer_id"] = step.state.customer_id
        then = step.then
        if isinstance(then, Enqueue):
            policy = self._settings.queues[then.queue]
            caller = change.get("customer_id", customer_id)
            values = waiting_values(
                then.queue,
                policy,
                Channel.VOICE,
                now,
                self._last_agent(conn, caller, policy.preferred_agent_seconds, now),
                skills=then.skills,
                priority=then.priority,
            )
            change |= values | store.transition_values(state, InteractionState.QUEUED, now)
            data = {**queued_data(values), **({"language": then.language} if then.language else {})}
            moved = store.transition_data(state, InteractionState.QUEUED, data)
            events.append(store.event_row(interaction_id, "queued", SYSTEM, moved, now))
        elif phase != "ivr":
            data = {"to": phase, **({"number": then.number} if isinstance(then, Transfer) else {})}
            change |= store.transition_values(state, InteractionState.CANCELLED, now)
            ended = store.transition_data(state, InteractionState.CANCELLED, data)
            events.append(store.event_row(interaction_id, "ivr_ended", SYSTEM, ended, now))
        if change and not intake_rows.update_interaction(
            conn, {"id": interaction_id, "expected_version": version, **change}
        ):
            raise StaleState(f"interaction {interaction_id} changed meanwhile")
        intake_rows.insert_all(conn, (), (), events)

    def _last_agent(self, conn: Connection, customer_id: str, preferred_seconds: float, now: datetime) -> str | None:
        """The agent a returning caller is kept for, as intake keeps one for any contact:
        who last served them within ``routing.returning_customer_hours``, if the queue
        prefers one."""
        if preferred_seconds <= 0:
            return None
        since = now - timedelta(hours=self._settings.routing.returning_customer_hours)
        return intake_rows.last_agents(conn, {customer_id}, since).get(customer_id)

    async def _stored(self, call_sid: str) -> str:
        stored = await self._reader.run(lambda conn: calls.response(conn, call_sid))
        if stored is None:
            raise NotFound(f"no call {call_sid}", code="voice.unknown_call")
        return stored

    def setup(self) -> VoiceSetupBody:
        """What the desk may offer for calls (``GET /api/v1/voice``): asked before a token,
        so a service with no account for browser calls says so in a plain answer rather
        than a refusal the browser would log as a failed request."""
        return {"browser_calls": can_issue(self._settings.twilio), "call_controls": self.control.available}

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
        identity = agent.username
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
            row = await calls.get(session, call_sid, lock=True)
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
            # Named for the agent who holds the call, whose desk is told the caller left.
            held = {"agent_id": interaction.assigned_agent_id} if interaction.assigned_agent_id else {}
            store.record_event(session, interaction.id, "call_ended", SYSTEM, {"call_status": status, **held})
        return phase, row

    async def recording(self, recording: Recording) -> None:
        await self.voicemail.recording(recording)

    async def transcription(self, recording_sid: str, text: str) -> None:
        await self.voicemail.transcription(recording_sid, text)

    async def call_recorded(self, conference: str, url: str, duration_seconds: int) -> None:
        await self.bridge.recorded(conference, url, duration_seconds)

    async def conference(self, event: ConferenceEvent) -> None:
        await self.bridge.conference(event)

    async def participant(self, conference: str, label: str, call_sid: str, status: str) -> None:
        await self.bridge.participant(conference, label, call_sid, status)
