"""The agent's and supervisor's side of a call in progress: the agent holds the customer
(and takes them back) and hangs up; a call transferred waits again for its next agent, or
(a warm transfer) is handed to another agent consulted first; a supervisor listens in,
whispers to the agent or barges in.

A call is in progress once its conference has started: the conference's SID (from its
status callbacks, on ``voice_calls``) is what every change to it or its participants
needs. Without a Twilio account (the demo) nothing can be done to a call: each action is
refused with ``voice.not_configured``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.voice.rest import TwilioVoice
from interaction_center.desk.voice_bridge import VoiceBridge, endpoint_of
from interaction_center.dispatch.dispatcher import agent_actor
from interaction_center.domain.errors import ChannelError, Conflict, InvalidInput, NotFound, StaleState
from interaction_center.domain.model import Actor, Channel
from interaction_center.domain.wire import (
    CallConsultBody,
    CallHoldBody,
    CallMonitorBody,
    InteractionBody,
    MonitorMode,
    call_consult_body,
    call_hold_body,
    call_monitor_body,
)
from interaction_center.settings.model import Settings
from storage import agents as agent_store
from storage import assignments, calls
from storage import interactions as store
from storage.models import Agent, Interaction, VoiceCall

log = logging.getLogger(__name__)

NOT_CONFIGURED = "no Twilio account is configured (the demo): calls cannot be controlled"


# How a warm transfer hands the interaction on: AgentWork.transfer reserved for the agent
# consulted (given once the desk is built: AgentWork is told of transfers by this class).
HandOver = Callable[[Agent, str, str], Awaitable[InteractionBody]]


class CallControl:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], bridge: VoiceBridge, settings: Settings) -> None:
        self._sessions = sessions
        self._bridge = bridge
        self._settings = settings
        self.hand_over: HandOver | None = None

    @property
    def _rest(self) -> TwilioVoice | None:
        return self._bridge.rest

    @property
    def available(self) -> bool:
        """Whether calls can be held, transferred and hung up here (a Twilio account)."""
        return self._rest is not None

    async def hold(self, agent: Agent, interaction_id: str, on: bool) -> CallHoldBody:
        """The customer on hold, hearing the queue's hold music, or back with their agent."""
        interaction, call = await self._agents_call(agent, interaction_id)
        rest = self._twilio()
        conference = _conference_of(call)
        leg = _customer_leg(call)
        await rest.hold(conference, leg, on, self._music(interaction.queue))
        await self._record(interaction.id, "call_hold_requested", agent_actor(agent.id), {"on": on, "call_sid": leg})
        log.info("interaction %s: customer %s by agent %s", interaction.id, "held" if on else "resumed", agent.id)
        return call_hold_body(interaction.id, on)

    async def hang_up(self, agent: Agent, interaction_id: str) -> None:
        """The conference ends, and every call in it: the customer's status callback then
        ends the talk (``call_talk_ended``, ``call_ended``) and the agent completes it."""
        interaction, call = await self._agents_call(agent, interaction_id)
        rest = self._twilio()
        conference = _conference_of(call)
        await rest.end_conference(conference)
        data = {"conference_sid": conference}
        await self._record(interaction.id, "call_hangup_requested", agent_actor(agent.id), data)
        log.info("interaction %s: call ended by agent %s", interaction.id, agent.id)

    async def monitor(self, supervisor: Agent, interaction_id: str, mode: MonitorMode) -> CallMonitorBody:
        """The supervisor into the call's conference (their endpoint rung, silently) as
        ``mode``; already on it, their mode changed. One supervisor at a time."""
        async with self._sessions() as session:
            interaction = await store.get(session, interaction_id)
            call = await _call_of(session, interaction)
        rest = self._twilio()
        conference = _conference_of(call)
        agent_leg = call.agent_call_sid
        if agent_leg is None:
            raise Conflict("the call has no agent on it", code="call.not_connected")
        leg = call.supervisor_call_sid
        if leg is not None and call.supervisor_id != supervisor.id:
            raise Conflict("another supervisor is on this call", code="call.monitored")
        if leg is None:
            leg = await rest.add_supervisor(
                interaction.id, endpoint_of(supervisor), mode=mode, agent_call_sid=agent_leg, caller_id=call.dialled
            )
            dialled = True
        else:
            await rest.set_supervisor_mode(conference, leg, mode, agent_leg)
            dialled = False
        async with self._sessions.begin() as session:
            row = await calls.get(session, call.call_sid, lock=True)
            taken = row is None or row.supervisor_call_sid not in (None, leg)
            if not taken and row is not None:
                row.supervisor_id, row.supervisor_call_sid, row.supervisor_mode = supervisor.id, leg, mode
                data = {"mode": mode, "supervisor": supervisor.id, "call_sid": leg}
                store.record_event(session, interaction.id, "call_monitored", agent_actor(supervisor.id), data)
        if taken:
            # Another supervisor was put on it meanwhile: this leg goes.
            if dialled:
                await rest.hang_up(leg)
            raise Conflict("another supervisor is on this call", code="call.monitored")
        log.info("interaction %s: supervisor %s on the call (%s)", interaction.id, supervisor.id, mode)
        return call_monitor_body(interaction.id, mode, leg)

    async def consult(self, agent: Agent, interaction_id: str, consulted_id: str) -> CallConsultBody:
        """The first half of a warm transfer: the customer on hold, another agent's endpoint
        dialled into the conference (label "consult") to talk with the agent first."""
        interaction, call = await self._agents_call(agent, interaction_id)
        rest = self._twilio()
        conference = _conference_of(call)
        if consulted_id == agent.id:
            raise InvalidInput("consult another agent than yourself", code="call.consult_self")
        async with self._sessions() as session:
            consulted = await agent_store.get(session, consulted_id)
        if consulted is None:
            raise NotFound(f"no agent {consulted_id}", code="agent.not_found")
        if call.consult_call_sid is not None:
            raise Conflict("another agent is consulted on this call already", code="call.consulting")
        customer = _customer_leg(call)
        await rest.hold(conference, customer, True, self._music(interaction.queue))
        try:
            leg = await rest.dial_agent(
                interaction.id,
                endpoint_of(consulted),
                caller_id=call.dialled,
                timeout=self._settings.voice.ring_timeout_seconds,
                label="consult",
            )
        except ChannelError:
            with contextlib.suppress(ChannelError):
                await rest.hold(conference, customer, False)
            raise
        async with self._sessions.begin() as session:
            row = await calls.get(session, call.call_sid, lock=True)
            taken = row is None or row.consult_call_sid is not None
            if row is not None and not taken:
                row.consult_agent_id, row.consult_call_sid, row.consult_answered_at = consulted.id, leg, None
                data = {"agent_id": consulted.id, "call_sid": leg, "customer_held": True}
                store.record_event(session, interaction.id, "call_consult_started", agent_actor(agent.id), data)
        if taken:
            await rest.hang_up(leg)
            raise Conflict("another agent is consulted on this call already", code="call.consulting")
        log.info("interaction %s: agent %s consults agent %s", interaction.id, agent.id, consulted.id)
        return call_consult_body(interaction.id, consulted.id, leg)

    async def handover(self, agent: Agent, interaction_id: str) -> InteractionBody:
        """The second half: the interaction transferred to the agent consulted (reserved for
        them as any transfer to an agent, so routing and capacities count it), the first
        agent's leg removed and the customer taken off hold, talking with the agent
        consulted, who takes the call as it is when they accept the offer."""
        interaction, call = await self._agents_call(agent, interaction_id)
        rest = self._twilio()
        conference = _conference_of(call)
        consulted, consult_leg = call.consult_agent_id, call.consult_call_sid
        if consulted is None or consult_leg is None:
            raise Conflict("no agent is consulted on this call: consult one first", code="call.no_consult")
        if call.consult_answered_at is None:
            raise Conflict("the agent consulted has not answered yet", code="call.consult_not_answered")
        if call.customer_call_sid is not None:
            raise Conflict("a called-back customer cannot be handed over", code="call.not_transferable")
        assert self.hand_over is not None, "CallControl.hand_over is set when the services are built"
        await self._set_phase(call.call_sid, "bridged", "handover")
        try:
            handed = await self.hand_over(agent, interaction.id, consulted)
        except Exception:
            # Not transferred: the call is its agent's as it was (unless it moved on meanwhile).
            with contextlib.suppress(StaleState):
                await self._set_phase(call.call_sid, "handover", "bridged")
            raise
        # Handed over: what follows cannot undo it; a leg Twilio would not change is logged.
        try:
            if call.agent_call_sid is not None:
                await rest.remove(conference, call.agent_call_sid)
            await rest.hold(conference, _customer_leg(call), False)
        except ChannelError as exc:
            log.warning("interaction %s: after the handover: %s", interaction.id, exc.message)
        data = {"from_agent": agent.id, "to_agent": consulted, "call_sid": consult_leg}
        await self._record(interaction.id, "call_handed_over", agent_actor(agent.id), data)
        log.info("interaction %s: handed over by agent %s to agent %s", interaction.id, agent.id, consulted)
        return handed

    async def transferring(self, interaction: Interaction) -> None:
        """A call its agent transfers (to a queue or another agent) waits again: the caller
        leaves the conference (which ends with them, the agent's leg too) for the Twilio
        queue of their own, hearing its music and their place, said afresh, until the call
        is put through to whoever accepts it. Before routing has it, so that whoever accepts
        finds the call waiting."""
        if interaction.channel != Channel.VOICE:
            return
        async with self._sessions() as session:
            call = await calls.of_interaction(session, interaction.id)
        if call is None or call.phase != "bridged":
            return  # a voicemail, or a callback whose customer has not answered: nobody to move
        if call.customer_call_sid is not None:
            raise Conflict(
                "a called-back customer cannot wait in a queue again: complete the call instead",
                code="call.not_transferable",
            )
        if self._rest is not None:
            # Its agent's phone still ringing would put them in a conference of their own.
            _conference_of(call)
        await self._bridge.wait_again(call)
        log.info("interaction %s: the caller waits again", interaction.id)

    async def _agents_call(self, agent: Agent, interaction_id: str) -> tuple[Interaction, VoiceCall]:
        """The call of an interaction assigned to ``agent``."""
        async with self._sessions() as session:
            interaction = await store.get(session, interaction_id)
            assignments.check_held(interaction.state, interaction.assigned_agent_id, agent.id)
            call = await _call_of(session, interaction)
        return interaction, call

    def _twilio(self) -> TwilioVoice:
        if self._rest is None:
            raise Conflict(NOT_CONFIGURED, code="voice.not_configured")
        return self._rest

    def _music(self, queue: str) -> str:
        policy = self._settings.queues.get(queue)
        return (policy.voice.hold_music if policy is not None else "") or self._settings.voice.hold_music

    async def _set_phase(self, call_sid: str, was: str, phase: str) -> None:
        async with self._sessions.begin() as session:
            row = await calls.get(session, call_sid, lock=True)
            if row is None or row.phase != was:
                raise StaleState("the call changed meanwhile")
            row.phase = phase

    async def _record(self, interaction_id: str, kind: str, actor: Actor, data: dict[str, Any]) -> None:
        async with self._sessions.begin() as session:
            store.record_event(session, interaction_id, kind, actor, data)


async def _call_of(session: AsyncSession, interaction: Interaction) -> VoiceCall:
    """The interaction's phone call; ``call.not_a_call`` for any other contact (a voicemail too)."""
    call = None if interaction.channel != Channel.VOICE else await calls.of_interaction(session, interaction.id)
    if call is None:
        raise Conflict(f"interaction {interaction.id} is not a phone call", code="call.not_a_call")
    return call


def _customer_leg(call: VoiceCall) -> str:
    return call.customer_call_sid or call.call_sid


def _conference_of(call: VoiceCall) -> str:
    """The SID of the call's running conference; ``call.not_connected`` before it starts (or after)."""
    if call.phase != "bridged" or call.conference_sid is None:
        where = "its conference has not started" if call.phase == "bridged" else f"it is {call.phase}"
        raise Conflict(f"the call is not connected to its agent ({where})", code="call.not_connected")
    return call.conference_sid
