"""Phone calls' rows (``VoiceCall``) and the reads the voice channel makes of them: a call
by its SID, the recent answered waits of a queue, callbacks that are due."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, or_, select
from sqlalchemy import insert as sql_insert
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Interaction, VoiceCall
from storage.prepared import Prepared

# ``lock``: the call's row is locked as it is read (PostgreSQL; SQLite's one writer needs no
# lock) by a transaction that will change it. Every writer of a call takes its row first,
# before the event log's stream row its events number from (an ORM flush takes that one
# ahead of its updates) and before its interaction, so two of them (a step and a hang-up)
# wait for each other instead of locking in opposite orders into a deadlock.


async def get(session: AsyncSession, call_sid: str, *, lock: bool = False) -> VoiceCall | None:
    return await session.get(VoiceCall, call_sid, with_for_update=lock)


async def of_interaction(session: AsyncSession, interaction_id: str, *, lock: bool = False) -> VoiceCall | None:
    query = select(VoiceCall).where(VoiceCall.interaction_id == interaction_id).order_by(VoiceCall.created_at)
    return await session.scalar((query.with_for_update() if lock else query).limit(1))


async def callbacks_due(session: AsyncSession, now: datetime) -> Sequence[VoiceCall]:
    rows = await session.scalars(select(VoiceCall).where(VoiceCall.callback_due_at <= now))
    return rows.all()


async def accepted_unbridged(session: AsyncSession) -> Sequence[Interaction]:
    """Calls an agent accepted that were never put through to them: still waiting (or a
    callback whose agent was never dialled) while their interaction is assigned."""
    rows = await session.scalars(
        select(Interaction)
        .join(VoiceCall, VoiceCall.interaction_id == Interaction.id)
        .where(
            Interaction.state == "assigned",
            or_(VoiceCall.phase == "queued", and_(VoiceCall.phase == "callback", VoiceCall.agent_call_sid.is_(None))),
        )
    )
    return rows.all()


# The webhooks' own reads and writes, for the hot path (the IVR's steps, the wait URL):
# Core statements built once and run ``Prepared`` on a synchronous Connection (the
# storage writer's for writes, ``storage.reader`` for reads), one read per webhook.
CALLS = cast(Table, VoiceCall.__table__)
INTERACTIONS = cast(Table, Interaction.__table__)


@dataclass(frozen=True, slots=True)
class CallRead:
    """A call as a webhook reads it, with what it needs of its interaction."""

    call_sid: str
    interaction_id: str
    caller: str
    phase: str
    flow_state: dict[str, Any]
    step: int
    response: str
    announced_position: int | None
    announced_at: datetime | None
    version: int
    # Of its interaction:
    state: str
    queue: str
    enqueued_at: datetime | None


_CALL_FIELDS = (
    "call_sid", "interaction_id", "caller", "phase", "flow_state", "step", "response", "announced_position",
    "announced_at", "version",
)  # fmt: skip
_READ = Prepared(
    select(
        *(CALLS.c[name] for name in _CALL_FIELDS),
        INTERACTIONS.c.state,
        INTERACTIONS.c.queue,
        INTERACTIONS.c.enqueued_at,
    )
    .join(INTERACTIONS, INTERACTIONS.c.id == CALLS.c.interaction_id)
    .where(CALLS.c.call_sid == bindparam("call_sid"))
)
_RESPONSE = Prepared(select(CALLS.c.response).where(CALLS.c.call_sid == bindparam("call_sid")))
_INTERACTION = Prepared(
    select(INTERACTIONS.c.customer_id, INTERACTIONS.c.state, INTERACTIONS.c.version).where(
        INTERACTIONS.c.id == bindparam("interaction_id")
    )
)
_ANSWER_TIMES = Prepared(
    select(CALLS.c.answered_at)
    .join(INTERACTIONS, INTERACTIONS.c.id == CALLS.c.interaction_id)
    .where(INTERACTIONS.c.queue == bindparam("queue"), CALLS.c.answered_at >= bindparam("since"))
    .order_by(CALLS.c.answered_at.desc())
    .limit(bindparam("limit"))
)
_INSERT = Prepared(sql_insert(CALLS))


def read(conn: Connection, call_sid: str) -> CallRead | None:
    rows = _READ.rows(conn, {"call_sid": call_sid})
    return CallRead(*rows[0]) if rows else None


def response(conn: Connection, call_sid: str) -> str | None:
    """The TwiML the call was last answered with; None for a call we never answered."""
    rows = _RESPONSE.rows(conn, {"call_sid": call_sid})
    return str(rows[0][0]) if rows else None


def interaction_of(conn: Connection, interaction_id: str) -> tuple[str, str, int]:
    """The interaction's customer, state and version."""
    ((customer_id, state, version),) = _INTERACTION.rows(conn, {"interaction_id": interaction_id})
    return str(customer_id), str(state), int(version)


def recent_answers(conn: Connection, queue: str, since: datetime, limit: int) -> list[datetime]:
    """When the queue's latest calls were answered (at most ``limit``, since ``since``),
    newest first: the answers the wait estimate is made from."""
    rows = _ANSWER_TIMES.rows(conn, {"queue": queue, "since": since, "limit": limit})
    return [at for (at,) in rows if at is not None]


def insert(conn: Connection, row: dict[str, Any]) -> None:
    """A new call; every column given (a call answered twice at once meets on its key)."""
    _INSERT.run(conn, row)


def update(conn: Connection, call_sid: str, version: int, changes: dict[str, Any]) -> bool:
    """The call changed on condition that it is still at ``version`` (which moves on, as an
    ORM write of the call expects); whether it was."""
    columns = tuple(changes)
    params = {"row_sid": call_sid, "expected_version": version, **changes}
    return _conditional_update(columns).run(conn, params) == 1


@functools.cache
def _conditional_update(columns: tuple[str, ...]) -> Prepared:
    return Prepared(
        sql_update(CALLS)
        .where(CALLS.c.call_sid == bindparam("row_sid"), CALLS.c.version == bindparam("expected_version"))
        .values({**{column: bindparam(column) for column in columns}, "version": CALLS.c.version + 1})
    )
