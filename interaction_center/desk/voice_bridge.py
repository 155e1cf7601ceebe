"""A call and its agent: when an agent accepts, the waiting caller is moved into a
conference named after the interaction and the agent's endpoint is dialled into it; an
agent who does not pick up leaves the caller their place in the queue. A callback (the
caller hung up keeping their place) dials the agent first, then the customer, again after
a delay when they do not answer. Conference and participant events become the
interaction's call timestamps (answered, held, resumed, ended).

Without a Twilio account (the demo) no call is placed: the interaction is marked bridged
with an event saying so, so the desk can be tried end to end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.voice import twiml
from channels.voice.rest import TwilioVoice
from channels.voice.service import FINAL_STATUSES, ConferenceEvent
from channels.voice.twiml import VoiceUrls
from interaction_center.dispatch.dispatcher import Dispatcher
from interaction_center.dispatch.profiles import entry_for
from interaction_center.domain.errors import ChannelError, StaleState
from interaction_center.domain.model import SYSTEM, Channel, InteractionState
from interaction_center.domain.stamps import utcnow
from interaction_center.settings.model import Settings
from routing import AgentState
from storage import agents as agent_store
from storage import calls
from storage import interactions as store
from storage.models import Agent, Interaction, VoiceCall

log = logging.getLogger(__name__)

DEMO_NOTE = "demo only: no Twilio account is configured, so no call was placed"
# Participant statuses that mean the leg never came up.
_NOT_ANSWERED = frozenset({"busy", "no-answer", "failed", "canceled"})
_CALLBACK_POLL_SECONDS = 1.0
# Conference events kept on the interaction's timeline, by the name they get there.
_CALL_EVENTS = {
    "participant-hold": "call_held",
    "participant-unhold": "call_resumed",
    "conference-end": "call_conference_ended",
}


def endpoint_of(agent: Agent) -> str:
    """Where an agent takes calls: the phone of their profile, else their browser, as the
    Twilio Client identity their voice token carries (``GET /api/v1/voice/token``)."""
    return agent.phone or f"client:{agent.username}"


class VoiceBridge:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        dispatcher: Dispatcher,
        rest: TwilioVoice | None,
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._dispatcher = dispatcher
        self.rest = rest
        self._settings = settings
        self._urls = VoiceUrls(settings.public_base_url)

    async def assigned(self, interaction: Interaction, agent: Agent) -> None:
        """An agent accepted: put the call through to them. The accept stands whatever
        happens here; a call left unbridged by a stop is put through by ``recover``."""
        if interaction.channel != Channel.VOICE:
            return
        try:
            await self._put_through(interaction, agent)
        except Exception:
            log.exception("interaction %s: the call could not be put through", interaction.id)

    async def recover(self) -> None:
        """Calls accepted but never put through (the service stopped in between)."""
        async with self._sessions() as session:
            waiting = await calls.accepted_unbridged(session)
            agents = {row.id: row for row in await agent_store.all_agents(session)}
        for interaction in waiting:
            agent = agents.get(interaction.assigned_agent_id or "")
            if agent is not None:
                await self.assigned(interaction, agent)

    async def _put_through(self, interaction: Interaction, agent: Agent) -> None:
        async with self._sessions() as session:
            call = await calls.of_interaction(session, interaction.id)
        if call is None or call.phase not in ("queued", "callback", "handover"):
            return  # a voicemail (the agent listens to it), or a caller already gone
        endpoint = endpoint_of(agent)
        data: dict[str, Any] = {"conference": interaction.id, "endpoint": endpoint}
        if call.phase == "handover" and agent.id == call.consult_agent_id and call.consult_call_sid is not None:
            # A warm transfer: the consulted agent, on the call already, takes it as it is.
            data["call_sid"] = call.consult_call_sid
            await self._update(call.call_sid, "call_taken_over", data, phase="bridged", agent_leg=call.consult_call_sid)
            return
        if self.rest is None:
            log.warning("interaction %s: %s", interaction.id, DEMO_NOTE)
            demo = {**data, "demo": DEMO_NOTE}
            await self._update(call.call_sid, "call_bridged", demo, phase="bridged", expect=call.phase, answered=True)
            return
        policy = self._settings.queues[interaction.queue].voice
        try:
            if call.phase == "handover" and call.consult_call_sid is not None and call.conference_sid is not None:
                # The consulted agent let the reservation pass and someone else took it: the
                # consulted agent leaves the conference, the new one is dialled into it.
                await self.rest.remove(call.conference_sid, call.consult_call_sid)
            if call.phase == "queued":
                music = policy.hold_music or self._settings.voice.hold_music
                await self.rest.move_to_conference(call.call_sid, interaction.id, record=policy.record, wait_url=music)
            leg = await self.rest.dial_agent(
                interaction.id,
                endpoint,
                caller_id=call.dialled,
                timeout=self._settings.voice.ring_timeout_seconds,
                label="agent",
            )
        except ChannelError as exc:
            log.warning("interaction %s: the call could not be put through: %s", interaction.id, exc.message)
            failed = {**data, "error": exc.message}
            # A caller who hung up meanwhile leaves nothing to put back: the agent wraps up.
            if not await self._update(call.call_sid, "bridge_failed", failed, expect=call.phase):
                return
            if call.phase == "handover":
                # Out of the conference the caller waits again, ready for the next agent.
                with contextlib.suppress(ChannelError):
                    await self.wait_again(call)
            await self._back_to_queue(interaction.id, "returned_to_queue", failed)
            return
        phase = "callback" if call.phase == "callback" else "bridged"
        answered = call.phase != "handover"  # a handed-over call was answered long ago
        await self._update(
            call.call_sid, "call_bridging", data, phase=phase, expect=call.phase, answered=answered, agent_leg=leg
        )

    async def caller_left(self, call: VoiceCall) -> None:
        """The customer hung up on their agent: the talk is over; the agent wraps up."""
        async with self._sessions.begin() as session:
            interaction = await store.get(session, call.interaction_id)
            talk = None if call.answered_at is None else round((utcnow() - call.answered_at).total_seconds())
            store.record_event(session, interaction.id, "call_talk_ended", SYSTEM, {"talk_seconds": talk})

    async def conference(self, event: ConferenceEvent) -> None:
        async with self._sessions.begin() as session:
            call = await calls.of_interaction(session, event.conference, lock=True)
            if call is None:
                log.info("event %s of conference %s we never made: ignored", event.event, event.conference)
                return
            if event.event in ("conference-start", "participant-join"):
                call.conference_sid = event.conference_sid
            elif event.event == "conference-end" and call.conference_sid == event.conference_sid:
                # Nothing can be held or joined in it any more.
                call.conference_sid = None
            data = {"conference_sid": event.conference_sid, "call_sid": event.call_sid, "label": event.label}
            if event.event == "participant-join" and event.label == "agent":
                store.record_event(session, call.interaction_id, "call_answered", SYSTEM, data)
            elif event.event in _CALL_EVENTS:
                store.record_event(session, call.interaction_id, _CALL_EVENTS[event.event], SYSTEM, data)

    async def recorded(self, conference: str, url: str, duration_seconds: int) -> None:
        """The queue records its calls: the recording goes on the call's timeline."""
        async with self._sessions.begin() as session:
            call = await calls.of_interaction(session, conference)
            if call is None:
                log.info("recording of conference %s we never made: ignored", conference)
                return
            data = {"recording_url": url, "duration_seconds": duration_seconds}
            store.record_event(session, call.interaction_id, "call_recorded", SYSTEM, data)

    async def participant(self, conference: str, label: str, call_sid: str, status: str) -> None:
        async with self._sessions() as session:
            call = await calls.of_interaction(session, conference)
        if call is None or call.phase == "ended":
            return
        if label == "agent" and status in _NOT_ANSWERED:
            await self._agent_missed(call, call_sid, status)
        elif label == "agent" and status == "in-progress" and call.phase == "callback":
            # The agent is on the line: now the customer (once; a retry of this report
            # finds the first dial claimed).
            await self._dial_customer(call, expected_attempts=0, agent_leg=call_sid)
        elif label == "customer" and call.phase == "callback":
            await self._customer_result(call, status, call_sid)
        elif label == "supervisor" and status in FINAL_STATUSES:
            await self._supervisor_left(call.call_sid, call_sid, status)
        elif label == "consult" and call_sid == call.consult_call_sid:
            await self._consulted(call, status)

    async def wait_again(self, call: VoiceCall) -> None:
        """The caller out of the conference (which ends with them, and every leg in it) into
        their own Twilio queue again, their place said afresh: for the next agent routing
        puts the call through to."""
        if self.rest is not None:
            await self.rest.redirect(call.call_sid, twiml.enqueued((), self._urls, call.interaction_id))
        async with self._sessions.begin() as session:
            row = await calls.get(session, call.call_sid, lock=True)
            if row is None:
                return
            row.phase, row.conference_sid, row.agent_call_sid = "queued", None, None
            if row.supervisor_call_sid is not None:
                # Their leg ends with the conference: the supervisor hears so, as when they
                # leave it themselves (its own status, coming later, finds it gone).
                _monitor_ended(session, row, "completed")
            row.consult_agent_id = row.consult_call_sid = row.consult_answered_at = None
            row.announced_position = row.announced_at = None

    async def _consulted(self, call: VoiceCall, status: str) -> None:
        """The consulted agent's leg answered, or ended: consulted, they are no more; handed
        the call and gone before taking it, the caller waits again for whoever accepts."""
        data: dict[str, Any] = {
            "agent_id": call.consult_agent_id,
            "call_sid": call.consult_call_sid,
            "call_status": status,
        }
        if status == "in-progress":
            async with self._sessions.begin() as session:
                row = await calls.get(session, call.call_sid, lock=True)
                if row is not None and row.consult_call_sid == call.consult_call_sid:
                    row.consult_answered_at = utcnow()
                    store.record_event(session, row.interaction_id, "call_consult_answered", SYSTEM, data)
            return
        if status not in FINAL_STATUSES:
            return
        if call.phase == "handover":
            with contextlib.suppress(ChannelError):
                await self.wait_again(call)
            data["caller_waits"] = True
        async with self._sessions.begin() as session:
            row = await calls.get(session, call.call_sid, lock=True)
            if row is None:
                return
            if row.consult_call_sid == call.consult_call_sid:
                row.consult_agent_id = row.consult_call_sid = row.consult_answered_at = None
            store.record_event(session, row.interaction_id, "call_consult_ended", SYSTEM, data)

    async def _supervisor_left(self, call_sid: str, leg: str, status: str) -> None:
        async with self._sessions.begin() as session:
            row = await calls.get(session, call_sid, lock=True)
            if row is None or row.supervisor_call_sid != leg:
                return
            _monitor_ended(session, row, status)

    async def _agent_missed(self, call: VoiceCall, call_sid: str, status: str) -> None:
        """The agent did not pick up: the call waits again at the place it had, the caller
        back in the queue's music, and the agent is set away (a desk that does not answer
        is not offered the next call)."""
        back = {"bridged": "queued", "callback": "callback"}.get(call.phase)
        data = {"call_status": status, "call_sid": call_sid}
        claimed = back is not None and await self._update(
            call.call_sid, "agent_not_answered", data, phase=back, expect=call.phase, agent_leg=call_sid, clear_leg=True
        )
        if not claimed:
            return  # reported already, or the leg is not the call's agent's
        async with self._sessions() as session:
            interaction = await store.get(session, call.interaction_id)
        await self._back_to_queue(call.interaction_id, "returned_to_queue", data)
        if call.phase == "bridged" and self.rest is not None:
            with contextlib.suppress(ChannelError):
                await self.rest.redirect(call.call_sid, twiml.enqueued((), self._urls, call.interaction_id))
        if interaction.assigned_agent_id is not None:
            await self._dispatcher.set_status(interaction.assigned_agent_id, AgentState.AWAY, "missed_call", SYSTEM)

    async def run_callbacks(self) -> None:
        """Dial again the customers of callbacks whose retry is due: each due retry claimed
        by one instance (the attempt count it was read at), so a customer is dialled once."""
        while True:
            await asyncio.sleep(_CALLBACK_POLL_SECONDS)
            try:
                async with self._sessions() as session:
                    due = await calls.callbacks_due(session, utcnow())
                for call in due:
                    await self._dial_customer(call, expected_attempts=call.callback_attempts, agent_leg=None)
            except Exception:
                log.exception("callbacks could not be dialled; trying again")

    async def _dial_customer(self, call: VoiceCall, *, expected_attempts: int, agent_leg: str | None) -> None:
        """The customer dialled into the agent's conference, once the attempt is claimed:
        the count moves from ``expected_attempts`` on condition of the version read."""
        if self.rest is None:
            return
        attempt = expected_attempts + 1
        try:
            async with self._sessions.begin() as session:
                row = await calls.get(session, call.call_sid, lock=True)
                if row is None or row.phase != "callback" or row.callback_attempts != expected_attempts:
                    return
                if agent_leg is not None and row.agent_call_sid != agent_leg:
                    return
                row.callback_attempts, row.callback_due_at = attempt, None
        except StaleState:
            return
        data: dict[str, Any] = {"attempt": attempt, "to": call.caller}
        try:
            data["call_sid"] = await self.rest.dial_agent(
                call.interaction_id,
                call.caller,
                caller_id=call.dialled,
                timeout=self._settings.voice.ring_timeout_seconds,
                label="customer",
            )
        except ChannelError as exc:
            data["error"] = exc.message
        async with self._sessions.begin() as session:
            store.record_event(session, call.interaction_id, "callback_attempt", SYSTEM, data)
        if "error" in data:
            await self._customer_result(call, "failed")

    async def _customer_result(self, call: VoiceCall, status: str, leg: str | None = None) -> None:
        if status not in _NOT_ANSWERED and status != "in-progress":
            return
        async with self._sessions.begin() as session:
            row = await calls.get(session, call.call_sid, lock=True)
            if row is None:
                return
            data: dict[str, Any] = {"attempt": row.callback_attempts, "result": status}
            if status == "in-progress":
                row.phase, row.customer_call_sid = "bridged", leg
            else:
                queue = (await store.get(session, row.interaction_id)).queue
                retry = (
                    self._retry_at(queue) if row.callback_attempts < self._settings.voice.callback_attempts else None
                )
                row.callback_due_at = retry
                data |= {"retry_at": retry.isoformat()} if retry is not None else {"gave_up": True}
            store.record_event(session, row.interaction_id, "callback_result", SYSTEM, data)

    def _retry_at(self, queue_name: str) -> datetime | None:
        """When the customer is dialled again: after the retry delay, within the queue's
        business hours (None: they never open again)."""
        due = utcnow() + timedelta(seconds=self._settings.voice.callback_retry_seconds)
        queue = self._settings.queues.get(queue_name)
        return due if queue is None or queue.hours is None else queue.hours.next_open(due)

    async def _back_to_queue(self, interaction_id: str, event: str, data: dict[str, Any]) -> None:
        """The call was not put through: its interaction waits again at the place it had."""
        async with self._sessions() as session:
            interaction = await store.get(session, interaction_id)
        if interaction.state != InteractionState.ASSIGNED:
            return
        await self._dispatcher.transfer(SYSTEM, interaction_id, entry_for(interaction), data, event=event)

    async def _update(
        self,
        call_sid: str,
        event: str,
        data: dict[str, Any],
        *,
        phase: str | None = None,
        expect: str | None = None,
        answered: bool = False,
        agent_leg: str | None = None,
        clear_leg: bool = False,
    ) -> bool:
        """``event`` on the call's interaction; with ``expect``, only while the call is in
        that phase (and, with ``clear_leg``, its agent leg is ``agent_leg``), then moved to
        ``phase``. Whether it was written: a call that ended or moved on meanwhile is left
        as it is."""
        try:
            async with self._sessions.begin() as session:
                row = await calls.get(session, call_sid, lock=True)
                if row is None or (expect is not None and row.phase != expect):
                    return False
                if clear_leg and row.agent_call_sid != agent_leg:
                    return False
                if phase is not None:
                    row.phase = phase
                if answered:
                    row.answered_at = utcnow()
                if clear_leg:
                    row.agent_call_sid = None
                elif agent_leg is not None:
                    row.agent_call_sid = agent_leg
                    # Whoever was consulted is the agent now, or was sent away.
                    row.consult_agent_id = row.consult_call_sid = row.consult_answered_at = None
                store.record_event(session, row.interaction_id, event, SYSTEM, data)
        except StaleState:
            return False
        return True


def _monitor_ended(session: AsyncSession, row: VoiceCall, status: str) -> None:
    """The supervisor's leg on the call is over: a ``call_monitor_ended`` event names them."""
    data = {"supervisor": row.supervisor_id, "call_sid": row.supervisor_call_sid, "call_status": status}
    row.supervisor_id = row.supervisor_call_sid = row.supervisor_mode = None
    store.record_event(session, row.interaction_id, "call_monitor_ended", SYSTEM, data)
