"""The event log: every event gets the next number of its stream in the transaction
that writes it, consumers read a stream in that order and record how far they got.

Numbers are taken by updating the stream's row in ``event_streams``, so two transactions
writing to one stream take turns on that row and commit in the order of their numbers:
a reader that has seen N has seen everything before N. (Autoincrement ids do not promise
that on PostgreSQL: id 9 can commit after id 10, and a reader past 10 would skip it.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from interaction_center.domain.errors import StaleState
from interaction_center.domain.model import Actor
from storage.models import AgentEvent, ConsumerPosition, EventStream, InteractionEvent
from storage.prepared import Prepared

INTERACTIONS = "interactions"
AGENTS = "agents"

STREAMS = cast(Table, EventStream.__table__)
POSITIONS = cast(Table, ConsumerPosition.__table__)
INTERACTION_EVENTS = cast(Table, InteractionEvent.__table__)
AGENT_EVENTS = cast(Table, AgentEvent.__table__)


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One event as consumers read it."""

    stream: str
    seq: int
    subject: str  # the interaction or agent it happened to
    type: str
    actor_kind: str
    actor_id: str | None
    data: dict[str, Any]
    created_at: datetime


# Built once, like the reads below: every transaction that writes events runs it.
_TAKE_NUMBERS = Prepared(
    update(STREAMS)
    .where(STREAMS.c.name == bindparam("stream"))
    .values(last_seq=STREAMS.c.last_seq + bindparam("count"))
    .returning(STREAMS.c.last_seq)
)


def take_numbers(conn: Connection, stream: str, count: int) -> int:
    """Reserve ``count`` numbers of ``stream`` for this transaction; returns the first."""
    ((last,),) = _TAKE_NUMBERS.rows(conn, {"stream": stream, "count": count})
    return int(last) - count + 1


def number(conn: Connection, stream: str, rows: Sequence[dict[str, Any]]) -> None:
    """Give plain event rows, in their order, the next numbers of ``stream``."""
    if rows:
        first = take_numbers(conn, stream, len(rows))
        for offset, row in enumerate(rows):
            row["seq"] = first + offset


def number_new_events(session: Session, _context: Any, _instances: Any) -> None:
    """A ``before_flush`` hook: events added through the ORM are numbered as they are
    flushed, in the order they were added (``Session.new`` keeps it)."""
    fresh: dict[str, list[InteractionEvent | AgentEvent]] = {}
    for item in session.new:
        if isinstance(item, InteractionEvent) and item.seq is None:
            fresh.setdefault(INTERACTIONS, []).append(item)
        elif isinstance(item, AgentEvent) and not item.seq:
            fresh.setdefault(AGENTS, []).append(item)
    for stream, items in fresh.items():
        first = take_numbers(session.connection(), stream, len(items))
        for offset, item in enumerate(items):
            item.seq = first + offset


def agent_event(agent_id: str, type_: str, actor: Actor, data: dict[str, Any] | None, now: datetime) -> AgentEvent:
    return AgentEvent(
        agent_id=agent_id, type=type_, actor_kind=actor.kind, actor_id=actor.id, data=data or {}, created_at=now
    )


_HEAD = Prepared(select(STREAMS.c.last_seq).where(STREAMS.c.name == bindparam("stream")))


def head(conn: Connection, stream: str) -> int:
    ((last,),) = _HEAD.rows(conn, {"stream": stream})
    return int(last)


@dataclass(frozen=True, slots=True)
class Page:
    """What one read found, and the last number it covered: the next read starts after
    ``to`` (past events of kinds the reader does not read, too)."""

    events: list[LoggedEvent]
    to: int


def _reading(table: Table, subject: str) -> Prepared:
    """A stream's read of some kinds of event, built once: it runs on the path of every
    contact, and building and keying the statement each time cost about what running it
    did."""
    return Prepared(
        select(
            table.c.seq,
            table.c[subject],
            table.c.type,
            table.c.actor_kind,
            table.c.actor_id,
            table.c.data,
            table.c.created_at,
        )
        .where(
            table.c.seq > bindparam("after"),
            table.c.seq <= bindparam("head"),
            table.c.type.in_(bindparam("types", expanding=True)),
        )
        .order_by(table.c.seq)
        .limit(bindparam("limit"))
    )


_READS = {INTERACTIONS: _reading(INTERACTION_EVENTS, "interaction_id"), AGENTS: _reading(AGENT_EVENTS, "agent_id")}


def read(conn: Connection, stream: str, after: int, limit: int, types: frozenset[str]) -> Page:
    """Up to ``limit`` events of ``types`` after ``after``, in order. Each reader skips the
    others' kinds in SQL (an IVR step's events are read by none): decoding them was most of
    what a read cost.

    The head is read first and bounds the read: every event up to it was committed with
    it (numbers are taken on the stream's row), so a read that stops short of ``limit``
    has seen every event of its kinds up to the head, and ``to`` moves there even past
    events it skipped. On PostgreSQL the events a later statement sees may reach past a
    head read earlier; they are left to the next read."""
    last = head(conn, stream)
    params = {"after": after, "head": last, "types": sorted(types), "limit": limit}
    found = [LoggedEvent(stream, *row) for row in _READS[stream].rows(conn, params)]
    return Page(found, found[-1].seq if len(found) == limit else max(last, after))


_POSITION = select(POSITIONS.c.position).where(POSITIONS.c.consumer == bindparam("name"))
_LOCKED_POSITION = _POSITION.with_for_update()


def position(conn: Connection, consumer: str, *, lock: bool = False) -> int | None:
    """Where the consumer stands; ``lock``: and its row locked until the transaction ends
    (on PostgreSQL; SQLite's writer holds the whole database already), so another reader
    of the same events waits here and then reads where this one got to."""
    found = conn.execute(_LOCKED_POSITION if lock else _POSITION, {"name": consumer}).scalar_one_or_none()
    return None if found is None else int(found)


def _placing(dialect: Any) -> Any:
    return dialect.insert(POSITIONS).on_conflict_do_nothing(index_elements=[POSITIONS.c.consumer])


_PLACE = {"sqlite": _placing(sqlite), "postgresql": _placing(postgresql)}


def place(conn: Connection, consumer: str, stream: str, seq: int, now: datetime) -> None:
    """Place a consumer never seen before at ``seq``; one placed meanwhile by another
    reader stays where it is."""
    values = {"consumer": consumer, "stream": stream, "position": seq, "updated_at": now}
    conn.execute(_PLACE[conn.dialect.name], values)


def record_position(conn: Connection, consumer: str, seq: int, now: datetime) -> None:
    conn.execute(update(POSITIONS).where(POSITIONS.c.consumer == consumer).values(position=seq, updated_at=now))


_ADVANCE = (
    update(POSITIONS)
    .where(POSITIONS.c.consumer == bindparam("name"), POSITIONS.c.position == bindparam("start"))
    .values(position=bindparam("seq"), updated_at=bindparam("now"))
)


def advance_position(conn: Connection, consumer: str, start: int, seq: int, now: datetime) -> None:
    """Move the consumer from ``start`` to ``seq``, on condition that it is still at
    ``start``: of two readers of the same events, the second fails (StaleState) and its
    transaction, with whatever it did with them, is rolled back."""
    moved = conn.execute(_ADVANCE, {"name": consumer, "start": start, "seq": seq, "now": now}).rowcount
    if not moved:
        raise StaleState(f"consumer {consumer} moved past {start} in the meantime; nothing was written")
