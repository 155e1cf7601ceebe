"""The bridge between the routing engine and storage.

The routing backend decides (who gets what, when an offer lapses, when a deadline is
breached); this module records each decision as a state change with its event, and wakes
the agents' pushes (``dispatch/pushes.py``), which read those events. One lock
serializes "routing step + its record" so storage sees decisions in the order they were
made: without it, a lapsed offer re-offered at once could be recorded before its lapse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.contract import Capacity
from interaction_center.dispatch.offers import offers_recorded
from interaction_center.dispatch.profiles import Queued, agent_profile, entry_for
from interaction_center.dispatch.pushes import AgentPushes
from interaction_center.domain.errors import Conflict, NotFound
from interaction_center.domain.model import SYSTEM, Actor, ActorKind, InteractionState
from interaction_center.domain.stamps import to_datetime, utcnow
from interaction_center.metrics import Metrics
from interaction_center.settings.model import RoutingSettings
from routing import (
    AgentState,
    Enqueued,
    Escalated,
    FiredClaim,
    Offer,
    OfferLapsed,
    OfferRevoked,
    PreferenceExpired,
    QueueEntry,
    QueueStats,
    RoutingBackend,
    RoutingEvent,
    SlaBreached,
    WrapUpEnded,
)
from storage import agents as agent_store
from storage import assignments, deadlines, events
from storage import intake_rows as rows
from storage import interactions as store
from storage.models import Agent, Interaction
from storage.reader import in_session
from storage.writer import Writer

log = logging.getLogger(__name__)

# The reason of an agent set away, then offline, by the loss of their live channel.
DISCONNECTED = "disconnected"
# An offer storage still holds this long past its expiry, which routing no longer has, was
# decided on and never recorded (an instance died between the two): how often to look,
# and how many to mend at a time.
STALE_OFFER_SECONDS = 5.0
STALE_OFFER_BATCH = 100
# Events another instance's tick fired and has kept unrecorded this long: it died before
# recording them (a live one records them within milliseconds, or keeps trying while
# storage is away; then both may record them, and a record the other made is passed over).
# How many claims (one per tick) to take up at a time.
UNRECORDED_SECONDS = 10.0
UNRECORDED_BATCH = 20


def _same_time(stored: datetime | None, seconds: float | None) -> bool:
    """Whether a stored time is the engine's, in epoch seconds (a millisecond apart at most:
    the two went through a float and a database's timestamp)."""
    if stored is None or seconds is None:
        return stored is None and seconds is None
    return abs(stored.timestamp() - seconds) < 0.001


def queued_values(entry: QueueEntry, note: str | None) -> dict[str, Any]:
    """The columns of an interaction queued (again) as ``entry``, with the note for whoever
    takes it next."""
    return {
        "queue": entry.queue,
        "enqueued_at": to_datetime(entry.enqueued_at),
        "answer_deadline": None if entry.answer_deadline is None else to_datetime(entry.answer_deadline),
        "priority": entry.priority,
        "required_skills": dict(entry.skills),
        "preferred_agent_id": entry.preferred_agent,
        "preferred_until": to_datetime(entry.preferred_until) if entry.preferred_agent else None,
        "escalation_level": 0,
        "sla_breached_at": None,
        "transfer_note": note,
    }


def agent_actor(agent_id: str) -> Actor:
    return Actor(ActorKind.AGENT, agent_id)


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        writer: Writer,
        routing: RoutingBackend,
        pushes: AgentPushes,
        settings: RoutingSettings,
        capacities: Mapping[str, Capacity],
        metrics: Metrics,
    ) -> None:
        self._metrics = metrics
        self._capacities = capacities
        self._sessions = sessions
        self._writer = writer
        self._routing = routing
        self._pushes = pushes
        self._settings = settings
        self._lock = asyncio.Lock()
        # Fired events not yet recorded, in order, each with when it fired and the claim
        # it was kept under if it is the claim's last (then recorded, as a whole, with it).
        self._unrecorded: deque[tuple[RoutingEvent, float, str | None]] = deque()

    @contextlib.asynccontextmanager
    async def _deciding(self) -> AsyncIterator[None]:
        """This process's turn, then the routing state's (another instance's decisions,
        on a shared backend): one routing step and its record at a time."""
        async with self._lock, self._routing.decisions():
            yield

    async def recover(self) -> int | None:
        """Rebuild the routing state from storage after a (re)start, changing nothing
        stored: what was queued is queued again at its original place with its deadlines
        and escalation level; an open offer is the agent's again until its own expiry
        (then it lapses as any offer does); assignments and agents' states are restored.
        Only an offer to an agent no longer available goes back to its queue, as it
        would have had the agent left with the service running. Returns how many
        interactions wait or are offered; None, doing nothing, when the state was rebuilt
        already (a shared backend other instances run on: it is live, storage is behind)."""
        now = time.time()
        async with self._deciding():
            if await self._routing.restored():
                log.info("routing state is shared and live: kept, not rebuilt")
                return None
            async with self._sessions() as session:
                agents = await agent_store.all_agents(session)
                waiting = await store.routable(session)
                assigned = await store.assigned(session)
            for agent in agents:
                profile = agent_profile(agent, self._capacities)
                await self._routing.set_agent(profile, AgentState(agent.status), now, agent.status_reason)
            for interaction in assigned:
                if interaction.assigned_agent_id is not None:
                    await self._routing.restore_assigned(entry_for(interaction), interaction.assigned_agent_id)
            for interaction in waiting:
                if interaction.state == InteractionState.OFFERED:
                    if await self._restore_offer(interaction):
                        continue
                    await self._requeue_stored(interaction.id, interaction.offer_id, "offer_revoked", SYSTEM)
                await self._routing.enqueue(entry_for(interaction), now)
            await self._routing.mark_restored()
            await self._dispatch()
        log.info("recovered %d waiting interactions", len(waiting))
        return len(waiting)

    async def _restore_offer(self, interaction: Interaction) -> bool:
        if interaction.offer_id is None or interaction.offered_agent_id is None or interaction.offer_expires_at is None:
            return False
        offer = Offer(
            interaction.offer_id,
            interaction.offered_agent_id,
            entry_for(interaction),
            interaction.offer_expires_at.timestamp(),
        )
        if await self._routing.restore_offer(offer):
            return True
        # Already the agent's (a rebuild that failed part way, done again): restored too.
        held = await self._routing.open_offers(offer.agent_id)
        return any(open_offer.offer_id == offer.offer_id for open_offer in held)

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """Routing held still: no decision is made or recorded until this ends. The hook
        tests use to show what does not wait for routing (the senders' answers)."""
        async with self._deciding():
            yield

    async def enqueue(self, interactions: Sequence[Queued]) -> None:
        """Queue new interactions (committed as queued) and offer what can be offered."""
        async with self._deciding():
            if self._routing.shared:
                interactions = await self._still_queued(interactions)
            now = time.time()
            refused = []
            for interaction in interactions:
                result = await self._routing.enqueue(entry_for(interaction), now)
                if result in (Enqueued.OVER_CAPACITY, Enqueued.REFUSED):
                    refused.append((interaction, result == Enqueued.REFUSED))
            if refused:
                async with self._sessions.begin() as session:
                    for interaction, outright in refused:
                        data = {"queue": interaction.queue, "refused": outright}
                        store.record_event(session, interaction.id, "queue_over_capacity", SYSTEM, data)
                        log.warning("interaction %s: queue %s is over capacity", interaction.id, interaction.queue)
            await self._dispatch()

    async def _still_queued(self, interactions: Sequence[Queued]) -> list[Queued]:
        """Of these, the ones storage still holds queued, read at routing's turn. On a
        shared state, another instance may have offered one, seen it answered and closed
        since the caller read it: queued again, it would wait in the queue's figures, up to
        an SLA breach, until an agent free for it found it closed."""
        ids = [interaction.id for interaction in interactions]
        async with self._sessions() as session:
            fields = await in_session(session, lambda conn: rows.routing_fields(conn, ids))
        queued = {row["id"] for row in fields}
        return [interaction for interaction in interactions if interaction.id in queued]

    async def dispatch(self) -> None:
        async with self._deciding():
            await self._dispatch()

    async def set_status(
        self, agent_id: str, status: AgentState, reason: str | None = None, actor: Actor | None = None
    ) -> Agent:
        """The agent's state, set by ``actor`` (the agent themselves unless named)."""
        async with self._deciding():
            agent = await self._record_status(agent_id, status, reason, actor or agent_actor(agent_id))
            profile = agent_profile(agent, self._capacities)
            revoked = await self._routing.set_agent(profile, status, time.time(), reason)
            for offer in revoked:
                await self._requeue(offer, "offer_revoked", agent_actor(agent_id))
            await self._dispatch()
        return agent

    async def profile_changed(self, agent: Agent) -> None:
        """An admin changed the agent's profile: routing takes it as they are (a queue they
        left offers them nothing more, a skill they gained counts at once)."""
        async with self._deciding():
            snapshot = await self._routing.agent(agent.id)
            state = AgentState(agent.status) if snapshot is None else snapshot.state
            reason = agent.status_reason if snapshot is None else snapshot.reason
            profile = agent_profile(agent, self._capacities)
            for offer in await self._routing.set_agent(profile, state, time.time(), reason):
                await self._requeue(offer, "offer_revoked", SYSTEM)
            await self._dispatch()

    async def agent_disconnected(self, agent_id: str) -> None:
        """The agent's last live channel closed: open offers go back, and an available
        agent is set away so nothing more is offered to a desk nobody watches."""
        snapshot = await self._routing.agent(agent_id)
        if snapshot is not None and snapshot.state is AgentState.AVAILABLE:
            await self.set_status(agent_id, AgentState.AWAY, DISCONNECTED, SYSTEM)

    async def agent_reconnected(self, agent_id: str) -> None:
        """A live channel of the agent's opened again: one set away by their disconnect
        (they were available) is available again."""
        snapshot = await self._routing.agent(agent_id)
        if snapshot is not None and snapshot.state is AgentState.AWAY and snapshot.reason == DISCONNECTED:
            await self.set_status(agent_id, AgentState.AVAILABLE, None, SYSTEM)

    async def disconnected_before(self, before: datetime) -> Sequence[str]:
        """The agents set away by the loss of their desk before ``before`` and away since."""
        async with self._sessions() as session:
            return await agent_store.away_before(session, DISCONNECTED, before)

    async def session_ended(self, agent_id: str, reason: str, actor: Actor) -> None:
        """The agent's session is over (logged out, or gone past the grace): offline, their
        open offers back in their queues."""
        snapshot = await self._routing.agent(agent_id)
        if snapshot is not None and snapshot.state is not AgentState.OFFLINE:
            await self.set_status(agent_id, AgentState.OFFLINE, reason, actor)

    async def accept(self, agent_id: str, offer_id: str) -> str:
        """The offer taken by the agent; the interaction's id once storage has it."""
        async with self._deciding():
            now = time.time()
            offer = await self._routing.accept(offer_id, agent_id, now)
            if offer is None:
                raise Conflict("the offer is no longer open", code="offer.closed")
            self._metrics.decisions.labels("accepted").inc()
            # Submitted under the lock, so it is stored in the order of the decisions; the
            # commit is awaited outside it, so other decisions do not wait for the disk.
            # Stamped with the decision's time, not the write's: the wait it ends is what
            # the answer figures count.
            decided = to_datetime(now)
            recorded = self._writer.submit(
                lambda conn: assignments.accept(conn, offer.interaction_id, offer_id, agent_id, decided)
            )
        try:
            # Shielded: a caller that gives up does not withdraw the unit, which may still
            # commit; the assignment stands in routing as it will in storage.
            await asyncio.shield(recorded)
        except Exception:
            # Storage did not take it: undo the assignment so the routing state and the
            # record keep telling the same story.
            async with self._deciding():
                await self._put_back(offer)
                await self._dispatch()
            raise
        log.info("interaction %s: accepted by agent %s", offer.interaction_id, agent_id)
        return offer.interaction_id

    async def reject(self, agent_id: str, offer_id: str) -> None:
        async with self._deciding():
            offer = await self._routing.reject(offer_id, agent_id, time.time())
            if offer is None:
                raise Conflict("the offer is no longer open", code="offer.closed")
            self._metrics.decisions.labels("rejected").inc()
            await self._requeue(offer, "offer_rejected", agent_actor(agent_id))
            await self._dispatch()

    async def release(self, interaction_id: str, wrap_up_seconds: float) -> None:
        """The interaction no longer holds its agent; after-contact work may follow."""
        async with self._deciding():
            agent_id = await self._routing.release(interaction_id, time.time(), wrap_up_seconds)
            snapshot = await self._routing.agent(agent_id) if agent_id else None
            if snapshot is not None and snapshot.state is AgentState.WRAP_UP:
                await self._record_status(snapshot.agent_id, AgentState.WRAP_UP, None, SYSTEM)
            await self._dispatch()

    async def extend_wrap_up(self, agent_id: str, seconds: float) -> float:
        """The agent's after-contact work lasts ``seconds`` more; when it now ends."""
        async with self._deciding():
            until = await self._routing.extend_wrap_up(agent_id, seconds, time.time())
            if until is None:
                raise Conflict("you are not in wrap-up", code="agent.not_in_wrap_up")
            async with self._sessions.begin() as session:
                data = {"seconds": seconds, "until": to_datetime(until).isoformat()}
                session.add(events.agent_event(agent_id, "wrap_up_extended", agent_actor(agent_id), data, utcnow()))
        return until

    async def wrap_up_until(self, agent_id: str) -> float | None:
        """When the agent's after-contact work ends, if they are in it."""
        snapshot = await self._routing.agent(agent_id)
        # The snapshot's wrap_up_until is 0.0 out of wrap-up.
        return (snapshot.wrap_up_until or None) if snapshot is not None else None

    async def end_wrap_up(self, agent_id: str) -> Agent:
        """After-contact work done early: the agent is available again."""
        snapshot = await self._routing.agent(agent_id)
        if snapshot is None or snapshot.state is not AgentState.WRAP_UP:
            raise Conflict("you are not in wrap-up", code="agent.not_in_wrap_up")
        return await self.set_status(agent_id, AgentState.AVAILABLE)

    async def abandon(self, interaction_id: str, data: dict[str, Any]) -> bool:
        """The customer left while waiting: the interaction is closed as abandoned and leaves
        routing, counted in the queue's abandoned figures. False (and no change) when it
        no longer waits: an agent has it, or it is closed."""
        async with self._deciding():
            async with self._sessions.begin() as session:
                interaction = await store.get(session, interaction_id)
                if interaction.state not in store.ROUTABLE:
                    return False
                waited = store.waiting_facts(
                    interaction.queue, interaction.channel, interaction.enqueued_at, interaction.answer_deadline
                )
                # The offer it withdraws, so that its agent hears of it (dispatch/pushes.py).
                offered = (
                    {"offer_id": interaction.offer_id, "agent_id": interaction.offered_agent_id}
                    if interaction.offer_id
                    else {}
                )
                store.transition(
                    session, interaction, InteractionState.ABANDONED, SYSTEM, "abandoned", {**data, **waited, **offered}
                )
                interaction.offer_id = interaction.offered_agent_id = interaction.offer_expires_at = None
            if offered:
                self._pushes.wake()
            await self._routing.cancel(interaction_id, time.time())
            # A withdrawn offer frees the agent for the next contact.
            await self._dispatch()
        log.info("interaction %s: abandoned (%s)", interaction_id, data.get("reason"))
        return True

    async def transfer(
        self,
        actor: Actor,
        interaction_id: str,
        entry: QueueEntry,
        data: dict[str, Any],
        event: str = "transferred",
        holder: str | None = None,
    ) -> None:
        """Hand an assigned interaction back to routing as ``entry``: another queue, or
        reserved for a named agent for a while, or its own place again (a call its agent
        did not pick up)."""
        async with self._deciding():
            async with self._sessions.begin() as session:
                interaction = await store.get(session, interaction_id)
                if holder is not None and interaction.assigned_agent_id != holder:
                    # Taken over (or transferred) since the caller looked: theirs no more.
                    raise Conflict("the interaction is no longer yours", code="interaction.not_yours")
                store.transition(session, interaction, InteractionState.QUEUED, actor, event, data)
                interaction.assigned_agent_id = None
                for column, value in queued_values(entry, data.get("note")).items():
                    setattr(interaction, column, value)
            await self._routing.transfer(entry, time.time())
            await self._dispatch()

    async def move(
        self,
        interaction_id: str,
        values: dict[str, Any],
        data: dict[str, Any],
        actor: Actor = SYSTEM,
        event: str = "moved",
    ) -> bool:
        """A waiting interaction to wait elsewhere or otherwise (``values``: its new queue
        and place, or its priority), with an ``event`` by ``actor``; False (and no change)
        when it no longer waits unoffered."""
        async with self._deciding():
            async with self._sessions.begin() as session:
                interaction = await store.get(session, interaction_id)
                if interaction.state != InteractionState.QUEUED:
                    return False
                for column, value in values.items():
                    setattr(interaction, column, value)
                store.record_event(session, interaction_id, event, actor, data)
            now = time.time()
            await self._routing.cancel(interaction_id, now)
            await self._routing.enqueue(entry_for(interaction), now)
            await self._dispatch()
        return True

    async def take_over(self, interaction_id: str, supervisor_id: str) -> Interaction:
        """An assigned or waiting interaction becomes the supervisor's: an agent's capacity
        is free, or its wait is over (answered, as the statistics count it); the
        supervisor holds it (a ``taken_over`` event names both)."""
        async with self._deciding():
            async with self._sessions.begin() as session:
                interaction = await store.get(session, interaction_id)
                actor = agent_actor(supervisor_id)
                data = {"from_agent_id": interaction.assigned_agent_id, "agent_id": supervisor_id}
                if interaction.state == InteractionState.QUEUED:
                    waited = store.waiting_facts(
                        interaction.queue, interaction.channel, interaction.enqueued_at, interaction.answer_deadline
                    )
                    taken = data | waited
                    store.transition(session, interaction, InteractionState.ASSIGNED, actor, "taken_over", taken)
                elif interaction.state != InteractionState.ASSIGNED:
                    raise Conflict(
                        f"the interaction is {interaction.state}: only an assigned or waiting one is taken over",
                        code="interaction.not_assigned",
                    )
                elif interaction.assigned_agent_id == supervisor_id:
                    raise Conflict("the interaction is yours already", code="interaction.yours")
                else:
                    store.record_event(session, interaction_id, "taken_over", actor, data)
                interaction.assigned_agent_id = supervisor_id
            now = time.time()
            await self._routing.cancel(interaction_id, now)
            await self._routing.restore_assigned(entry_for(interaction), supervisor_id)
            await self._dispatch()
        return interaction

    async def park(self, interaction_id: str, agent_id: str, until: datetime | None, data: dict[str, Any]) -> None:
        """The agent's assigned interaction set aside (``parked`` event with ``data``): out
        of routing and of their capacity, still theirs. Recorded and released under the
        lock: a contact that brings it back at once (``intake.parked``) reaches routing
        only after it has left it."""
        async with self._deciding():
            async with self._sessions.begin() as session:
                interaction = await store.get(session, interaction_id)
                assignments.check_held(interaction.state, interaction.assigned_agent_id, agent_id)
                store.transition(session, interaction, InteractionState.PARKED, agent_actor(agent_id), "parked", data)
                interaction.parked_until = until
            # No after-contact work: the conversation goes on later.
            await self._routing.release(interaction_id, time.time(), 0.0)
            await self._dispatch()

    async def assigned_outbound(self, interaction: Interaction) -> None:
        """A conversation an agent started, theirs from the start: routing counts it in
        their capacity, as an accepted one."""
        assert interaction.assigned_agent_id is not None
        async with self._deciding():
            await self._routing.restore_assigned(entry_for(interaction), interaction.assigned_agent_id)

    async def waiting(self, queue: str) -> list[QueueEntry]:
        """What waits in ``queue`` now, in the order it will be offered."""
        return await self._routing.waiting(queue)

    async def stats(self) -> list[QueueStats]:
        return await self._routing.stats(time.time())

    async def occupancy(self) -> dict[str, float]:
        """Each signed-in agent's occupancy, by id."""
        return await self._routing.occupancy()

    async def tick(self) -> None:
        """Fire the engine's timers and record what they did. The engine has already
        moved on when it reports an event, so one that cannot be recorded now (storage
        away) is kept and recorded, in order, before anything newer at the next tick:
        none is lost while the process lives. A shared state keeps them too, under the
        tick's claim, until recorded: should this process die first, another instance
        takes them up (``take_up_unrecorded``). With one process, after a restart the
        stored state is the one routing is rebuilt from."""
        async with self._deciding():
            now, claim = time.time(), uuid.uuid4().hex
            self._keep(FiredClaim(claim, now, await self._routing.tick(now, claim)))
            await self._record_unrecorded()
        await self._check_first_responses()

    async def take_up_unrecorded(self) -> int:
        """Record the events another instance's tick fired and kept that it has not
        recorded for ``UNRECORDED_SECONDS`` (it died first). Returns how many."""
        now = time.time()
        taken = 0
        async with self._deciding():
            held = {claim for _, _, claim in self._unrecorded}
            for fired in await self._routing.unrecorded(now, now - UNRECORDED_SECONDS, UNRECORDED_BATCH):
                if fired.claim in held:
                    continue
                if not fired.events:
                    await self._routing.recorded(fired.claim)  # nothing left of it to record
                    continue
                log.warning("%d routing events fired elsewhere were never recorded: recording them", len(fired.events))
                self._keep(fired)
                taken += len(fired.events)
            await self._record_unrecorded()
        return taken

    def _keep(self, fired: FiredClaim) -> None:
        last = len(fired.events) - 1
        self._unrecorded.extend(
            (event, fired.fired_at, fired.claim if n == last else None) for n, event in enumerate(fired.events)
        )

    async def _record_unrecorded(self) -> None:
        recorded = False
        while self._unrecorded:
            event, fired_at, claim = self._unrecorded[0]
            try:
                await self._record(event, to_datetime(fired_at))
            except (NotFound, Conflict) as exc:
                # What it names is not there to change (an interaction erased, an agent
                # closed): tried again, it would hold up every later event for ever.
                log.warning("routing event %s not recorded: %s", type(event).__name__, exc)
            self._unrecorded.popleft()
            recorded = True
            if claim is not None:
                await self._routing.recorded(claim)
        if recorded:
            await self._dispatch()

    async def mend_stale_offers(self) -> int:
        """Offers storage holds well past their expiry that routing no longer has: routing
        moved on (the offer lapsed, was revoked or accepted) and the instance that decided
        died before recording it, so no tick will ever lapse it. Each goes back to its
        queue as a timed-out offer, in storage and in routing. Returns how many."""
        now = time.time()
        mended = 0
        async with self._deciding():
            async with self._sessions() as session:
                stale = await store.stale_offers(session, to_datetime(now - STALE_OFFER_SECONDS), STALE_OFFER_BATCH)
            for interaction in stale:
                agent_id, offer_id = interaction.offered_agent_id, interaction.offer_id
                if agent_id is None or offer_id is None:
                    continue
                if any(offer.offer_id == offer_id for offer in await self._routing.open_offers(agent_id)):
                    continue  # it lapses at the next tick
                if await self._requeue_stored(interaction.id, offer_id, "offer_timed_out", SYSTEM):
                    log.warning("interaction %s: offer %s never closed; queued again", interaction.id, offer_id)
                    await self._routing.cancel(interaction.id, now)
                    await self._routing.enqueue(entry_for(interaction), now)
                    mended += 1
            if mended:
                await self._dispatch()
        return mended

    async def run_ticker(self) -> None:
        last_mended = time.monotonic()
        while True:
            await asyncio.sleep(self._settings.tick_seconds)
            try:
                # A shared state that lost its data (Redis restarted empty) is rebuilt by
                # the first instance to notice; the others then find it restored.
                if not await self._routing.restored():
                    await self.recover()
                await self.tick()
                if time.monotonic() - last_mended >= STALE_OFFER_SECONDS:
                    last_mended = time.monotonic()
                    await self.mend_stale_offers()
                    await self.take_up_unrecorded()
            except Exception:
                # A storage hiccup must not stop offers from ever lapsing again.
                log.exception("routing tick failed")

    async def _record(self, event: RoutingEvent, fired_at: datetime) -> None:
        """Store one routing event, fired at ``fired_at``. One taken up from another
        instance (or kept here while storage was away) may have been recorded already,
        or overtaken by a later change: each kind then records nothing (its offer is no
        longer the stored one; the agent's state, the interaction's wait, its escalation
        step or its preference is not the one the timer fired on)."""
        if isinstance(event, OfferLapsed):
            self._metrics.decisions.labels("lapsed").inc()
            offer = event.offer
            log.info("interaction %s: offer to agent %s timed out", offer.interaction_id, offer.agent_id)
            await self._requeue(offer, "offer_timed_out", SYSTEM)
            if event.agent_set_away:
                await self._record_status(
                    offer.agent_id, AgentState.AWAY, "missed", SYSTEM, (AgentState.AVAILABLE, fired_at)
                )
            return
        if isinstance(event, OfferRevoked):
            await self._requeue(event.offer, "offer_revoked", SYSTEM)
            return
        if isinstance(event, WrapUpEnded):
            await self._record_status(
                event.agent_id, AgentState.AVAILABLE, None, SYSTEM, (AgentState.WRAP_UP, fired_at)
            )
            return
        async with self._sessions.begin() as session:
            if isinstance(event, SlaBreached):
                interaction = await store.get(session, event.entry.interaction_id)
                if interaction.sla_breached_at is not None or not _same_time(
                    interaction.answer_deadline, event.entry.answer_deadline
                ):
                    return  # recorded, or a deadline of an earlier wait (a transfer or move set another)
                interaction.sla_breached_at = to_datetime(time.time())
                deadline = to_datetime(event.entry.answer_deadline or time.time()).isoformat()
                breach = {"answer_deadline": deadline, "queue": event.entry.queue, "channel": event.entry.channel}
                store.record_event(session, interaction.id, "sla_breached", SYSTEM, breach)
                log.warning("interaction %s: answer SLA breached", interaction.id)
            elif isinstance(event, Escalated):
                interaction = await store.get(session, event.after.interaction_id)
                before, after = event.before, event.after
                stored = (interaction.queue, interaction.priority, interaction.escalation_level)
                if stored != (before.queue, before.priority, before.escalations_done):
                    return  # recorded, or the wait it applied to changed since (a later step, a move)
                interaction.priority, interaction.queue = after.priority, after.queue
                interaction.required_skills = dict(after.skills)
                interaction.escalation_level = after.escalations_done
                data = {
                    "priority": [before.priority, after.priority],
                    "queue": [before.queue, after.queue],
                    "skills": [dict(before.skills), dict(after.skills)],
                }
                store.record_event(session, interaction.id, "escalated", SYSTEM, data)
            elif isinstance(event, PreferenceExpired):
                interaction = await store.get(session, event.entry.interaction_id)
                until = interaction.preferred_until
                if interaction.preferred_agent_id is None or (until is not None and until > fired_at):
                    return  # released already, or a later preference
                data = {"agent_id": interaction.preferred_agent_id}
                interaction.preferred_agent_id = interaction.preferred_until = None
                store.record_event(session, interaction.id, "preferred_agent_released", SYSTEM, data)

    async def _check_first_responses(self) -> None:
        now = to_datetime(time.time())
        for interaction_id in await self._writer.run(lambda conn: deadlines.record_first_response_breaches(conn, now)):
            log.warning("interaction %s: first-response SLA breached", interaction_id)

    async def _dispatch(self) -> None:
        """Make every offer the engine can make now and record them in one transaction: an
        offer reaches its agent from its event (dispatch/pushes.py), once storage has it.
        Offers storage refused are cancelled in routing, which may allow others."""
        while offers := await self._routing.all_offers(lambda: str(uuid.uuid4()), time.time()):
            if await self._offer(offers):
                return

    async def _offer(self, offers: list[Offer]) -> bool:
        """Whether every offer landed in storage (those that did not are cancelled)."""
        now = to_datetime(time.time())

        def record(conn: Connection) -> set[str]:
            return offers_recorded(conn, offers, now)

        recorded = self._writer.submit(record)
        # The pushes' read queued right behind the write: in its transaction when it can.
        self._pushes.wake()
        try:
            landed = await recorded
        except Exception:
            # Never told to anyone: the offers go back to their queues as if never made.
            for offer in offers:
                await self._put_back(offer)
            raise
        for offer in offers:
            if offer.interaction_id in landed:
                self._metrics.decisions.labels("offered").inc()
                waited = max(0.0, now.timestamp() - offer.entry.enqueued_at)
                self._metrics.offer_wait.labels(offer.entry.queue).observe(waited)
                log.info("interaction %s: offered to agent %s", offer.interaction_id, offer.agent_id)
            else:
                # Changed in storage behind routing's back (closed, or offered elsewhere).
                await self._routing.cancel(offer.interaction_id, time.time())
        return all(offer.interaction_id in landed for offer in offers)

    async def _put_back(self, offer: Offer) -> None:
        """The offer (or the assignment it became) undone in routing: its entry is queued
        again as it was."""
        await self._routing.cancel(offer.interaction_id, time.time())
        await self._routing.enqueue(offer.entry, time.time())

    async def _requeue(self, offer: Offer, event: str, actor: Actor) -> None:
        await self._requeue_stored(offer.interaction_id, offer.offer_id, event, actor)

    async def _requeue_stored(self, interaction_id: str, offer_id: str | None, event: str, actor: Actor) -> bool:
        """The stored offer closed, the interaction queued again; nothing (False) when
        storage no longer holds that offer (an accept or a close got there first)."""
        requeued = self._writer.submit(
            lambda conn: assignments.requeue(conn, interaction_id, offer_id, event, actor, utcnow())
        )
        self._pushes.wake()
        if not await requeued:
            log.info("interaction %s: offer %s already closed in storage", interaction_id, offer_id)
            return False
        return True

    async def _record_status(
        self,
        agent_id: str,
        status: AgentState,
        reason: str | None,
        actor: Actor,
        expect: tuple[AgentState, datetime] | None = None,
    ) -> Agent:
        """The agent's new state on condition of the version read, with its event. A
        timer's change (``expect``: the state it ends, and when it fired) only from that
        state, unchanged since: a later change, or this one recorded already, overtook it."""
        async with self._sessions.begin() as session:
            agent = await agent_store.get(session, agent_id)
            if agent is None:
                raise NotFound(f"no agent {agent_id}", code="agent.not_found")
            if expect is not None and (agent.status != expect[0] or agent.status_changed_at > expect[1]):
                return agent
            if not agent.active and status is not AgentState.OFFLINE:
                # A closed account takes nothing: only its session's end is recorded.
                raise Conflict(f"agent {agent_id} is deactivated", code="agent.deactivated")
            now = utcnow()
            data = {"from": agent.status, "to": status, "reason": reason}
            agent.status, agent.status_reason, agent.status_changed_at = status, reason, now
            session.add(events.agent_event(agent_id, "status_changed", actor, data, now))
        self._pushes.wake()
        return agent
