"""The queues' statistics: what is waiting and who is there, live from the routing engine;
what was answered, abandoned and breached today, counted from the event log by a
consumer of its own (``ExactlyOnceConsumer``), so the day's figures survive a restart,
count every event once, and are the same whichever instance is asked.

The day starts at midnight in the centre's own time zone (``routing.time_zone``,
UTC unless set). Counting starts where the log stood when the consumer first ran: a
service upgraded during the day counts that day from then on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interaction_center import wire
from interaction_center.dispatch.consumer import ExactlyOnceConsumer
from interaction_center.dispatch.dispatcher import Dispatcher
from interaction_center.domain.stamps import utcnow
from interaction_center.domain.wire import FloorAgentBody, QueuesBody
from storage import events, tallies
from storage.events import LoggedEvent
from storage.models import Agent
from storage.tallies import Key, Tally
from storage.writer import Writer

log = logging.getLogger(__name__)

CONSUMER = "statistics"
# A supervisor's take-over of a waiting interaction answers it as an acceptance does.
COUNTED = frozenset({"accepted", "taken_over", "abandoned", "sla_breached", "first_response_breached"})


def counter(short_abandon_seconds: float) -> Callable[[Connection, Sequence[LoggedEvent]], None]:
    """What the consumer does with each batch it reads: add what its events count to their
    queues' intervals. An interaction transferred and accepted again was answered once:
    only its first acceptance counts. A customer who left within ``short_abandon_seconds``
    (a wrong number, a change of mind) is a short abandon, counted apart: it says nothing
    of the queue's service."""

    def count(conn: Connection, read: Sequence[LoggedEvent]) -> None:
        transfers = tallies.first_transfers(conn, (e.subject for e in read if e.type == "accepted"))
        counted: dict[Key, Tally] = {}
        for event in read:  # of the kinds COUNTED only (the consumer reads no others)
            try:
                _count_one(event, transfers, counted, short_abandon_seconds)
            except Exception:
                # One event the rules cannot read must not stop the day's figures for good
                # (the batch would be retried forever): it is logged and left uncounted.
                log.exception("interaction %s: event %s (%s) not counted", event.subject, event.seq, event.type)
        tallies.add(conn, counted)

    return count


def _count_one(event: LoggedEvent, transfers: dict[str, int], counted: dict[Key, Tally], short: float) -> None:
    queue, channel = event.data.get("queue"), event.data.get("channel")
    if not isinstance(queue, str) or not isinstance(channel, str):
        # Written before events carried their queue: nothing to count it against.
        return
    if event.type == "accepted" and transfers.get(event.subject, event.seq) < event.seq:
        return
    tally = counted.setdefault((tallies.interval_of(event.created_at), queue, channel), Tally())
    if event.type in ("accepted", "taken_over"):
        waited, late = _wait(event)
        tally.answered += 1
        tally.answer_seconds += waited
        tally.answered_within_target += not late
    elif event.type == "abandoned":
        waited, late = _wait(event)
        if waited < short:
            tally.short_abandoned += 1
        else:
            tally.abandoned += 1
            tally.abandoned_after_target += late
    elif event.type == "sla_breached":
        tally.sla_breaches += 1
    else:
        tally.first_response_breaches += 1


def _wait(event: LoggedEvent) -> tuple[float, bool]:
    """How long the interaction waited until this event, and whether it was past its
    answer target by then."""
    enqueued, deadline = _moment(event, "enqueued_at"), _moment(event, "answer_deadline")
    waited = 0.0 if enqueued is None else max(0.0, (event.created_at - enqueued).total_seconds())
    return waited, deadline is not None and event.created_at > deadline


def _moment(event: LoggedEvent, key: str) -> datetime | None:
    value = event.data.get(key)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        log.warning("interaction %s: event %s has an unreadable %s %r", event.subject, event.seq, key, value)
        return None
    # Ours are written with their zone; one without is taken as UTC, as storage keeps time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def statistics_consumer(writer: Writer, short_abandon_seconds: float) -> ExactlyOnceConsumer:
    # Counting starts where the log stands when it first runs: older events carry no queue.
    count = counter(short_abandon_seconds)
    return ExactlyOnceConsumer(CONSUMER, events.INTERACTIONS, COUNTED, writer, count, from_head=True)


def start_of_day(now: datetime, zone: tzinfo = UTC) -> datetime:
    """The last midnight in ``zone`` (the centre's), as a UTC time."""
    return now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


class Statistics:
    """What supervisors' figures and the chat desk's wait estimates read."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        dispatcher: Dispatcher,
        zone: tzinfo,
        targets: Mapping[tuple[str, str], int],
    ) -> None:
        self._zone = zone
        self._targets = targets
        self._sessions = sessions
        self._dispatcher = dispatcher

    async def today(self) -> dict[tuple[str, str], Tally]:
        async with self._sessions() as session:
            return await tallies.since(session, start_of_day(utcnow(), self._zone))

    async def queues(self) -> QueuesBody:
        live = await self._dispatcher.stats()
        return wire.queues(live, await self.today(), self._targets)

    async def agents(self, rows: Sequence[Agent]) -> list[FloorAgentBody]:
        """The agents as supervisors see them: with each one's occupancy now."""
        occupancy = await self._dispatcher.occupancy()
        return [wire.floor_agent(row, occupancy.get(row.id)) for row in rows]
