"""Queue statistics as stored: counts per queue, channel and quarter-hour interval, added
to by the statistics consumer in the transaction that moves its position, and summed
over a day when asked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InteractionEvent, QueueTally

# Every time zone's offset is a whole number of quarter hours, so any local day is a sum
# of whole intervals.
TALLY_MINUTES = 15

TALLIES = cast(Table, QueueTally.__table__)
_EVENTS = cast(Table, InteractionEvent.__table__)


@dataclass(slots=True)
class Tally:
    """What one queue and channel counted. Service level = answered within the target /
    (answered + abandoned after the target): contacts abandoned before the target are
    left out, as they never had a fair chance, and short abandons are not abandons."""

    answered: int = 0
    answered_within_target: int = 0
    answer_seconds: float = 0.0
    abandoned: int = 0
    abandoned_after_target: int = 0
    # Left within routing.short_abandon_seconds: counted apart, in no other figure.
    short_abandoned: int = 0
    sla_breaches: int = 0
    first_response_breaches: int = 0

    @property
    def average_speed_of_answer_seconds(self) -> float | None:
        return self.answer_seconds / self.answered if self.answered else None

    @property
    def service_level(self) -> float | None:
        fair = self.answered + self.abandoned_after_target
        return self.answered_within_target / fair if fair else None


COUNTS = tuple(f.name for f in fields(Tally))
Key = tuple[datetime, str, str]  # interval start, queue, channel


def interval_of(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % TALLY_MINUTES, second=0, microsecond=0)


def _adding(dialect: Any) -> Any:
    """An upsert that adds to what an interval already counted, built once per dialect."""
    statement = dialect.insert(TALLIES)
    return statement.on_conflict_do_update(
        index_elements=[TALLIES.c.interval_start, TALLIES.c.queue, TALLIES.c.channel],
        set_={name: TALLIES.c[name] + statement.excluded[name] for name in COUNTS},
    )


_ADD = {"sqlite": _adding(sqlite), "postgresql": _adding(postgresql)}


def add(conn: Connection, counted: Mapping[Key, Tally]) -> None:
    if counted:
        rows = [
            {"interval_start": start, "queue": queue, "channel": channel, **_values(tally)}
            for (start, queue, channel), tally in counted.items()
        ]
        conn.execute(_ADD[conn.dialect.name], rows)


def _values(tally: Tally) -> dict[str, Any]:
    return {name: getattr(tally, name) for name in COUNTS}


_SINCE = (
    select(TALLIES.c.queue, TALLIES.c.channel, *(func.sum(TALLIES.c[name]) for name in COUNTS))
    .where(TALLIES.c.interval_start >= bindparam("since"))
    .group_by(TALLIES.c.queue, TALLIES.c.channel)
)


async def since(session: AsyncSession, start: datetime) -> dict[tuple[str, str], Tally]:
    """Per queue and channel, everything counted from ``start`` (an interval's start)."""
    result = await session.execute(_SINCE, {"since": start})
    return {(queue, channel): Tally(*counts) for queue, channel, *counts in result}


_TRANSFERRED = (
    select(_EVENTS.c.interaction_id, func.min(_EVENTS.c.seq))
    .where(_EVENTS.c.interaction_id.in_(bindparam("ids", expanding=True)), _EVENTS.c.type == "transferred")
    .group_by(_EVENTS.c.interaction_id)
)


def first_transfers(conn: Connection, interaction_ids: Iterable[str]) -> dict[str, int]:
    """Of these interactions, the ones ever transferred, with their first transfer's
    number in the stream."""
    ids: Sequence[str] = list(set(interaction_ids))
    if not ids:
        return {}
    return {interaction_id: int(seq) for interaction_id, seq in conn.execute(_TRANSFERRED, {"ids": ids})}
