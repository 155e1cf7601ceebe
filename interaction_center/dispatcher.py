"""The bridge between the routing engine and storage.

The routing backend decides (who gets what, when an offer lapses); this module records
each decision as a state change with its event, and pushes offers to agents. One lock
serializes "routing step + its record" so storage sees decisions in the order they were
made: without it, a lapsed offer re-offered at once could be recorded before its lapse.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interaction_center.errors import Conflict, NotFound
from interaction_center.model import SYSTEM, Actor, ActorKind, AgentStatus, InteractionState
from interaction_center.notifier import AgentHub
from interaction_center.settings import RoutingSettings
from routing import AgentProfile, Offer, QueueEntry, RoutingBackend
from storage import agents as agent_store
from storage import interactions as store
from storage.models import Agent, Interaction

log = logging.getLogger(__name__)


def to_datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def entry_for(interaction: Interaction) -> QueueEntry:
    enqueued_at = interaction.enqueued_at or interaction.created_at
    return QueueEntry(interaction.id, interaction.queue, interaction.channel, enqueued_at.timestamp())


def agent_actor(agent_id: str) -> Actor:
    return Actor(ActorKind.AGENT, agent_id)


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        routing: RoutingBackend,
        hub: AgentHub,
        settings: RoutingSettings,
    ) -> None:
        self._sessions = sessions
        self._routing = routing
        self._hub = hub
        self._settings = settings
        self._lock = asyncio.Lock()

    async def recover(self) -> int:
        """Rebuild the routing state from storage after a (re)start: what was queued or
        offered is queued again at its original place; assignments and available agents
        are restored. Returns how many interactions were queued again."""
        async with self._lock, self._sessions.begin() as session:
            waiting = await store.routable(session)
            for interaction in waiting:
                if interaction.state == InteractionState.OFFERED:
                    self._clear_offer(session, interaction, "offer_lost_on_restart", SYSTEM)
                await self._routing.enqueue(entry_for(interaction))
            for interaction in await store.assigned(session):
                if interaction.assigned_agent_id is not None:
                    await self._routing.restore_assigned(entry_for(interaction), interaction.assigned_agent_id)
            for agent in await agent_store.by_status(session, AgentStatus.AVAILABLE):
                await self._routing.set_available(_profile(agent), agent.status_changed_at.timestamp())
        log.info("recovered %d waiting interactions", len(waiting))
        await self.dispatch()
        return len(waiting)

    async def enqueue(self, interaction: Interaction) -> None:
        async with self._lock:
            await self._routing.enqueue(entry_for(interaction))
            await self._dispatch()

    async def dispatch(self) -> None:
        async with self._lock:
            await self._dispatch()

    async def set_status(self, agent_id: str, status: AgentStatus, reason: str | None = None) -> Agent:
        async with self._lock:
            agent = await self._record_status(agent_id, status, reason)
            if status == AgentStatus.AVAILABLE:
                await self._routing.set_available(_profile(agent), time.time())
            else:
                revoked = await self._routing.set_unavailable(agent_id)
                if revoked is not None:
                    await self._requeue(revoked, "offer_revoked", agent_actor(agent_id))
            await self._dispatch()
        await self._push_status(agent)
        return agent

    async def accept(self, agent_id: str, offer_id: str) -> Interaction:
        async with self._lock:
            offer = await self._routing.accept(offer_id, agent_id)
            if offer is None:
                raise Conflict("the offer is no longer open", code="offer.closed")
            try:
                async with self._sessions.begin() as session:
                    interaction = await store.get(session, offer.interaction_id)
                    store.transition(
                        session,
                        interaction,
                        InteractionState.ASSIGNED,
                        agent_actor(agent_id),
                        "accepted",
                        {"offer_id": offer_id},
                    )
                    interaction.assigned_agent_id = agent_id
                    interaction.offer_id = interaction.offered_agent_id = interaction.offer_expires_at = None
            except BaseException:
                # Storage did not take it: undo the assignment so the routing state and the
                # record keep telling the same story.
                await self._routing.cancel(offer.interaction_id)
                await self._routing.enqueue(offer.entry)
                raise
        log.info("interaction %s: accepted by agent %s", offer.interaction_id, agent_id)
        return interaction

    async def reject(self, agent_id: str, offer_id: str) -> None:
        async with self._lock:
            offer = await self._routing.reject(offer_id, agent_id)
            if offer is None:
                raise Conflict("the offer is no longer open", code="offer.closed")
            await self._requeue(offer, "offer_rejected", agent_actor(agent_id))
            await self._dispatch()

    async def release(self, interaction_id: str) -> None:
        """The interaction no longer holds its agent (wrap-up started); offer the next."""
        async with self._lock:
            await self._routing.release(interaction_id, time.time())
            await self._dispatch()

    async def tick(self) -> None:
        async with self._lock:
            lapsed = await self._routing.expire(time.time())
            for offer in lapsed:
                await self._requeue(offer, "offer_timed_out", SYSTEM)
                await self._record_status(offer.agent_id, AgentStatus.AWAY, "missed")
            if lapsed:
                await self._dispatch()
        for offer in lapsed:
            log.info("interaction %s: offer to agent %s timed out", offer.interaction_id, offer.agent_id)
            await self._hub.push(
                offer.agent_id, {"type": "offer_closed", "offer_id": offer.offer_id, "reason": "timeout"}
            )
            async with self._sessions() as session:
                agent = await agent_store.get(session, offer.agent_id)
            if agent is not None:
                await self._push_status(agent)

    async def run_ticker(self) -> None:
        while True:
            await asyncio.sleep(self._settings.tick_seconds)
            try:
                await self.tick()
            except Exception:
                # A storage hiccup must not stop offers from ever lapsing again.
                log.exception("routing tick failed")

    async def _dispatch(self) -> None:
        timeout = self._settings.offer_timeout_seconds
        while (offer := await self._routing.next_offer(str(uuid.uuid4()), time.time(), timeout)) is not None:
            try:
                await self._record_offer(offer)
            except NotFound:
                await self._routing.cancel(offer.interaction_id)
                continue
            log.info("interaction %s: offered to agent %s", offer.interaction_id, offer.agent_id)
            await self._hub.push(offer.agent_id, offer_frame(offer))

    async def _record_offer(self, offer: Offer) -> None:
        async with self._sessions.begin() as session:
            interaction = await store.get(session, offer.interaction_id)
            store.transition(
                session,
                interaction,
                InteractionState.OFFERED,
                SYSTEM,
                "offered",
                {"agent_id": offer.agent_id, "offer_id": offer.offer_id},
            )
            interaction.offer_id = offer.offer_id
            interaction.offered_agent_id = offer.agent_id
            interaction.offer_expires_at = to_datetime(offer.expires_at)

    async def _requeue(self, offer: Offer, event: str, actor: Actor) -> None:
        async with self._sessions.begin() as session:
            interaction = await store.get(session, offer.interaction_id)
            self._clear_offer(session, interaction, event, actor)

    @staticmethod
    def _clear_offer(session: AsyncSession, interaction: Interaction, event: str, actor: Actor) -> None:
        data = {"agent_id": interaction.offered_agent_id, "offer_id": interaction.offer_id}
        store.transition(session, interaction, InteractionState.QUEUED, actor, event, data)
        interaction.offer_id = interaction.offered_agent_id = interaction.offer_expires_at = None

    async def _record_status(self, agent_id: str, status: AgentStatus, reason: str | None) -> Agent:
        async with self._sessions.begin() as session:
            agent = await agent_store.get(session, agent_id)
            if agent is None:
                raise NotFound(f"no agent {agent_id}", code="agent.not_found")
            agent.status, agent.status_reason, agent.status_changed_at = status, reason, to_datetime(time.time())
        return agent

    async def _push_status(self, agent: Agent) -> None:
        await self._hub.push(agent.id, {"type": "status", "status": agent.status, "reason": agent.status_reason})


def offer_frame(offer: Offer) -> dict[str, object]:
    return {
        "type": "offer",
        "offer_id": offer.offer_id,
        "interaction_id": offer.interaction_id,
        "channel": offer.entry.channel,
        "queue": offer.entry.queue,
        "expires_at": to_datetime(offer.expires_at).isoformat(),
    }


def _profile(agent: Agent) -> AgentProfile:
    return AgentProfile(agent.id, tuple(agent.queues))
