"""An agent sets an email or SMS aside: on hold until the customer answers, or snoozed
until a time (and sooner if the customer answers). A parked interaction stays the agent's
(in their work list, theirs to read and note on) but holds none of their capacity; it
comes back through routing, for that agent first (``intake.parked``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interaction_center.desk.access import check_may_read
from interaction_center.desk.accounts import can_supervise
from interaction_center.desk.work import AgentWork, note_text
from interaction_center.dispatch.dispatcher import Dispatcher, agent_actor
from interaction_center.domain.errors import Conflict, Forbidden, InvalidInput
from interaction_center.domain.model import SYSTEM, Actor, Channel, InteractionState
from interaction_center.domain.stamps import utcnow
from interaction_center.domain.wire import InteractionBody
from interaction_center.intake.parked import RESUMED, SNOOZE_ENDED, returned
from interaction_center.settings.model import Settings
from storage import assignments
from storage import intake_rows as rows
from storage import interactions as store
from storage.models import Agent
from storage.reader import Reader
from storage.writer import Writer

log = logging.getLogger(__name__)

# What waits for a customer's answer: a live chat or call has the customer there now.
PARKABLE = frozenset({Channel.EMAIL, Channel.SMS})
# The furthest a snooze may reach: a quarter, beyond which a task system fits better.
MAX_SNOOZE = timedelta(days=92)
# How often ended snoozes are looked for: a snooze is set to the minute, not the second.
CHECK_SECONDS = 1.0
# Ended snoozes brought back by one look; the next look takes the rest.
BATCH = 200


class Parking:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        reader: Reader,
        writer: Writer,
        dispatcher: Dispatcher,
        work: AgentWork,
        settings: Settings,
        routing_woken: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._reader = reader
        self._writer = writer
        self._dispatcher = dispatcher
        self._work = work
        self._settings = settings
        self._routing_woken = routing_woken

    async def hold(self, agent: Agent, interaction_id: str, until: str | None, note: str | None) -> InteractionBody:
        """Set aside until the customer answers, or also until ``until`` (an ISO 8601
        time with its offset): snoozed. The agent's capacity is free at once."""
        wake_at = None if until is None else snooze_until(until)
        text = note_text(note)
        async with self._sessions() as session:
            interaction = await store.get(session, interaction_id)
        assignments.check_held(interaction.state, interaction.assigned_agent_id, agent.id)
        if interaction.channel not in PARKABLE:
            raise Conflict(
                f"a {interaction.channel} is live: only an email or SMS waits for the customer",
                code="interaction.not_parkable",
            )
        data = {
            "reason": "hold" if wake_at is None else "snooze",
            **({"until": wake_at.isoformat()} if wake_at else {}),
            **({"note": text} if text else {}),
        }
        await self._dispatcher.park(interaction_id, agent.id, wake_at, data)
        log.info("interaction %s: parked by agent %s until %s", interaction_id, agent.id, wake_at or "answered")
        return await self._work.interaction(agent, interaction_id)

    async def resume(self, agent: Agent, interaction_id: str) -> InteractionBody:
        """Taken up again before the customer answers: queued at once, for the agent who
        parked it first. Theirs to do, or a supervisor's."""
        async with self._sessions() as session:
            interaction = await store.get(session, interaction_id)
            await check_may_read(session, agent, interaction_id=interaction_id)
        if interaction.state != InteractionState.PARKED:
            raise Conflict(f"the interaction is {interaction.state}, not parked", code="interaction.not_parked")
        if interaction.assigned_agent_id != agent.id and not can_supervise(agent):
            raise Forbidden("the interaction is not yours", code="interaction.not_yours")
        if not await self._back(interaction_id, RESUMED, agent_actor(agent.id)):
            raise Conflict("the interaction came back meanwhile", code="interaction.not_parked")
        return await self._work.interaction(agent, interaction_id)

    async def wake_due(self) -> int:
        """Bring back the snoozes that have ended; how many."""
        now = utcnow()
        # Looked for on the Reader first: nearly every second nothing is due, and a
        # transaction of the writer's each second would queue intake behind it for nothing.
        if not await self._reader.run(lambda conn: rows.snooze_over(conn, now, 1)):
            return 0

        def wake(conn: Connection) -> int:
            events = (
                returned(conn, due, self._settings, SNOOZE_ENDED, SYSTEM, now)
                for due in rows.snooze_over(conn, now, BATCH)
            )
            queued = [event for event in events if event is not None]
            rows.insert_all(conn, (), (), queued)
            return len(queued)

        woken = await self._writer.run(wake)
        if woken:
            self._routing_woken()
        return woken

    async def run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            try:
                while await self.wake_due() == BATCH:
                    pass
            except Exception:
                # A storage hiccup must not stop snoozes from ever ending again.
                log.exception("waking snoozed interactions failed")

    async def _back(self, interaction_id: str, reason: str, actor: Actor) -> bool:
        def back(conn: Connection) -> bool:
            parked = rows.parked(conn, interaction_id)
            event = None if parked is None else returned(conn, parked, self._settings, reason, actor, utcnow())
            if event is not None:
                rows.insert_all(conn, (), (), [event])
            return event is not None

        if not await self._writer.run(back):
            return False
        self._routing_woken()
        return True


def snooze_until(text: str) -> datetime:
    """A snooze's end: a time with its offset, in the future, within ``MAX_SNOOZE``."""
    try:
        parsed = datetime.fromisoformat(text)
        when = parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):
        when = None
    if when is None:
        raise InvalidInput(
            "until must be an ISO 8601 time with its offset, e.g. 2026-12-07T09:00:00+01:00", code="snooze.bad_until"
        )
    now = utcnow()
    if not now < when <= now + MAX_SNOOZE:
        raise InvalidInput(
            f"until must be in the future and at most {MAX_SNOOZE.days} days away", code="snooze.bad_until"
        )
    return when
