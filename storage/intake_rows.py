"""Set-based reads and writes for taking in many contacts in one transaction.

Intake is the hot path: a contact costs a handful of rows, and building ORM objects for
them (and a round trip per statement) cost more than the database did. Here each step is
one statement for the whole batch, on plain rows."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from interaction_center.domain.identity import name_key
from interaction_center.domain.model import InteractionState
from storage import attachments
from storage.events import INTERACTIONS as INTERACTION_STREAM
from storage.events import number
from storage.models import Customer, CustomerIdentity, Interaction, InteractionEvent, Message
from storage.prepared import Prepared

INTERACTIONS = cast(Table, Interaction.__table__)
MESSAGES = cast(Table, Message.__table__)
EVENTS = cast(Table, InteractionEvent.__table__)
CUSTOMERS = cast(Table, Customer.__table__)
IDENTITIES = cast(Table, CustomerIdentity.__table__)

# Rendered into the SQL as the partial index on open threads states it: the planner uses
# that index only for a condition it can match to the index's own, and with the closed
# states bound as parameters SQLite scanned the whole table, once a batch.
_STILL_OPEN = INTERACTIONS.c.state.not_in(
    bindparam("closed_states", [s.value for s in InteractionState if not s.is_open], literal_execute=True)
)


# The lookups every batch makes, built once: building and keying a statement cost more
# than running it. Each takes its list of values as one expanding parameter, "values".
_KNOWN_MESSAGES = Prepared(
    select(MESSAGES.c.external_id, MESSAGES.c.id, MESSAGES.c.interaction_id).where(
        MESSAGES.c.channel == bindparam("channel"), MESSAGES.c.external_id.in_(bindparam("values", expanding=True))
    )
)
_OWNERS = Prepared(
    select(IDENTITIES.c.value, IDENTITIES.c.customer_id).where(
        IDENTITIES.c.kind == bindparam("kind"), IDENTITIES.c.value.in_(bindparam("values", expanding=True))
    )
)
# What a contact needs to know of the open interaction it continues.
_THREAD_COLUMNS = (
    INTERACTIONS.c.id,
    INTERACTIONS.c.assigned_agent_id,
    INTERACTIONS.c.state,
    INTERACTIONS.c.version,
    INTERACTIONS.c.queue,
    INTERACTIONS.c.channel,
)
_OPEN_THREADS = Prepared(
    select(INTERACTIONS.c.thread_key, *_THREAD_COLUMNS).where(
        INTERACTIONS.c.thread_key.in_(bindparam("values", expanding=True)), _STILL_OPEN
    )
)
_SNOOZE_OVER = Prepared(
    select(*_THREAD_COLUMNS)
    .where(
        INTERACTIONS.c.parked_until.is_not(None),
        INTERACTIONS.c.parked_until <= bindparam("now"),
        INTERACTIONS.c.state == InteractionState.PARKED,
    )
    .order_by(INTERACTIONS.c.parked_until)
    .limit(bindparam("limit"))
)
_LAST_AGENTS = Prepared(
    select(INTERACTIONS.c.customer_id, INTERACTIONS.c.assigned_agent_id)
    .where(
        INTERACTIONS.c.customer_id.in_(bindparam("values", expanding=True)),
        INTERACTIONS.c.state == InteractionState.COMPLETED,
        INTERACTIONS.c.assigned_agent_id.is_not(None),
        INTERACTIONS.c.closed_at >= bindparam("since"),
    )
    .order_by(INTERACTIONS.c.closed_at)
)
_STATES = Prepared(
    select(INTERACTIONS.c.id, INTERACTIONS.c.state, INTERACTIONS.c.version).where(
        INTERACTIONS.c.id.in_(bindparam("values", expanding=True))
    )
)
_OFFERS_HELD = Prepared(
    select(INTERACTIONS.c.id, INTERACTIONS.c.offer_id).where(INTERACTIONS.c.id.in_(bindparam("values", expanding=True)))
)
_INBOUND = Prepared(
    select(MESSAGES.c.interaction_id, MESSAGES.c.from_address, MESSAGES.c.body)
    .where(MESSAGES.c.interaction_id.in_(bindparam("values", expanding=True)), MESSAGES.c.direction == "inbound")
    .order_by(MESSAGES.c.created_at, MESSAGES.c.id)
)
_ROUTING_FIELDS = (
    "id", "queue", "channel", "created_at", "enqueued_at", "priority", "required_skills", "answer_deadline",
    "preferred_agent_id", "preferred_until", "escalation_level", "sla_breached_at",
)  # fmt: skip
# By id alone, the state told apart here: given "id IN (...) AND state = 'queued'" with
# three ids or more, SQLite without statistics walked the state index through every
# queued interaction (about 1 ms a read with a few thousand callers waiting, on the
# writer's turn) instead of looking up the few ids.
_ROUTING_ROWS = Prepared(
    select(INTERACTIONS.c.state, *(INTERACTIONS.c[name] for name in _ROUTING_FIELDS)).where(
        INTERACTIONS.c.id.in_(bindparam("values", expanding=True))
    )
)
# Every INSERT of the hot path, by table.
_INSERTS = {table: Prepared(insert(table)) for table in (INTERACTIONS, MESSAGES, EVENTS, CUSTOMERS, IDENTITIES)}


@dataclass(frozen=True, slots=True)
class OpenThread:
    """An open interaction a contact may continue."""

    interaction_id: str
    assigned_agent_id: str | None
    state: str
    # The version it was read at: a change to it is made on that condition.
    version: int
    queue: str
    channel: str


def known_messages(conn: Connection, channel: str, external_ids: Collection[str]) -> dict[str, tuple[str, str]]:
    """External id -> (message id, interaction id), for the ones already stored on ``channel``."""
    if not external_ids:
        return {}
    rows = _KNOWN_MESSAGES.rows(conn, {"channel": channel, "values": list(external_ids)})
    return {external_id: (message_id, interaction_id) for external_id, message_id, interaction_id in rows}


def owners(conn: Connection, kind: str, values: Collection[str]) -> dict[str, str]:
    """Identity value -> the customer holding it, for the known ones of this kind."""
    if not values:
        return {}
    rows = _OWNERS.rows(conn, {"kind": kind, "values": list(values)})
    return {value: customer_id for value, customer_id in rows}


def add_customers(conn: Connection, created: Sequence[tuple[str, str, str, str]], now: datetime) -> None:
    """New customers, each with the identity that led to it: (customer id, kind, value,
    display name). Two writers creating the same identity meet on its unique key."""
    if not created:
        return
    _INSERTS[CUSTOMERS].run(
        conn,
        [
            {"id": cid, "display_name": name[:200], "name_key": name_key(name), "created_at": now}
            for cid, _, _, name in created
        ],
    )
    add_identities(conn, [(cid, kind, value) for cid, kind, value, _ in created], now)


def open_threads(conn: Connection, thread_keys: Collection[str]) -> dict[str, OpenThread]:
    if not thread_keys:
        return {}
    rows = _OPEN_THREADS.rows(conn, {"values": list(thread_keys)})
    return {key: OpenThread(*columns) for key, *columns in rows}


def open_holding(conn: Connection, channel: str, external_ids: Sequence[str]) -> OpenThread | None:
    """The open interaction holding the most recent of these messages: what an email reply
    naming them (In-Reply-To, References) continues."""
    row = conn.execute(
        select(*_THREAD_COLUMNS)
        .join(MESSAGES, MESSAGES.c.interaction_id == INTERACTIONS.c.id)
        .where(
            MESSAGES.c.channel == channel,
            MESSAGES.c.external_id.in_(external_ids),
            _STILL_OPEN,
        )
        .order_by(MESSAGES.c.created_at.desc())
        .limit(1)
    ).first()
    return None if row is None else OpenThread(*row)


def snooze_over(conn: Connection, now: datetime, limit: int) -> list[OpenThread]:
    """Snoozed interactions whose time has come, longest due first, ``limit`` at most."""
    return [OpenThread(*row) for row in _SNOOZE_OVER.rows(conn, {"now": now, "limit": limit})]


def parked(conn: Connection, interaction_id: str) -> OpenThread | None:
    """The interaction if it is parked."""
    row = conn.execute(
        select(*_THREAD_COLUMNS).where(
            INTERACTIONS.c.id == interaction_id, INTERACTIONS.c.state == InteractionState.PARKED
        )
    ).first()
    return None if row is None else OpenThread(*row)


def last_agents(conn: Connection, customer_ids: Collection[str], since: datetime) -> dict[str, str]:
    """Customer -> the agent who last completed an interaction with them since ``since``."""
    if not customer_ids:
        return {}
    rows = _LAST_AGENTS.rows(conn, {"values": list(customer_ids), "since": since})
    # Ordered by closing time, so the last one written for a customer is the latest.
    return {customer_id: agent_id for customer_id, agent_id in rows}


def add_identities(conn: Connection, identities: Sequence[tuple[str, str, str]], now: datetime) -> None:
    """More identities for existing customers: (customer id, kind, value)."""
    if identities:
        _INSERTS[IDENTITIES].run(
            conn,
            [{"customer_id": cid, "kind": kind, "value": value, "created_at": now} for cid, kind, value in identities],
        )


def set_opted_out(conn: Connection, kind: str, value: str, when: datetime | None) -> None:
    conn.execute(
        update(IDENTITIES).where(IDENTITIES.c.kind == kind, IDENTITIES.c.value == value).values(opted_out_at=when)
    )


def states(conn: Connection, interaction_ids: Collection[str]) -> dict[str, tuple[str, int]]:
    """Interaction -> (state, version), for the ones that exist."""
    rows = _STATES.rows(conn, {"values": list(interaction_ids)})
    return {interaction_id: (state, version) for interaction_id, state, version in rows}


def update_interactions(conn: Connection, changes: Sequence[dict[str, Any]]) -> None:
    """One conditional UPDATE per row, sent as one batch: each dict has ``id``, the
    ``expected_version`` it was read at, and the same other keys. A row whose version
    moved meanwhile is left alone (see ``holding``: the caller finds out which landed)."""
    if not changes:
        return
    columns = _changed(changes[0])
    _conditional_update(columns).run(conn, [_bound(row, columns) for row in changes])


def update_interaction(conn: Connection, change: dict[str, Any]) -> bool:
    """One such conditional UPDATE alone; whether it landed."""
    columns = _changed(change)
    return _conditional_update(columns).run(conn, _bound(change, columns)) == 1


def _changed(change: dict[str, Any]) -> tuple[str, ...]:
    return tuple(key for key in change if key not in ("id", "expected_version"))


def _bound(change: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    """A change as the parameters of its conditional UPDATE."""
    return {"row_id": change["id"], "expected_version": change["expected_version"], **{c: change[c] for c in columns}}


@functools.cache
def _conditional_update(columns: tuple[str, ...]) -> Prepared:
    """The statement for one set of columns, built once: built and keyed afresh each time,
    it cost more than the database did."""
    return Prepared(
        update(INTERACTIONS)
        .where(INTERACTIONS.c.id == bindparam("row_id"), INTERACTIONS.c.version == bindparam("expected_version"))
        .values({**{column: bindparam(column) for column in columns}, "version": INTERACTIONS.c.version + 1})
    )


def holding(conn: Connection, offers: dict[str, str]) -> set[str]:
    """Of ``offers`` (interaction -> offer id), the interactions that now hold that offer."""
    rows = _OFFERS_HELD.rows(conn, {"values": list(offers)})
    return {interaction_id for interaction_id, offer_id in rows if offers[interaction_id] == offer_id}


def latest_inbound(conn: Connection, interaction_ids: Collection[str]) -> dict[str, tuple[str, str]]:
    """Interaction -> (from, body) of its latest inbound message."""
    rows = _INBOUND.rows(conn, {"values": list(interaction_ids)})
    return {interaction_id: (sender, body) for interaction_id, sender, body in rows}


def insert_all(
    conn: Connection,
    interactions: Iterable[dict[str, Any]],
    messages: Iterable[dict[str, Any]],
    events: Iterable[dict[str, Any]],
    files: Sequence[dict[str, Any]] = (),
) -> None:
    """Rows in the order their keys need them; events keep their list order as their ids
    and their numbers in the log. ``files``: rows of storage.attachments."""
    event_rows = list(events)
    number(conn, INTERACTION_STREAM, event_rows)
    for table, rows in ((INTERACTIONS, list(interactions)), (MESSAGES, list(messages)), (EVENTS, event_rows)):
        if rows:
            _INSERTS[table].run(conn, rows)
    attachments.add(conn, files)


def routing_fields(conn: Connection, interaction_ids: Collection[str]) -> list[dict[str, Any]]:
    """What routing needs of each of these interactions that is still queued."""
    if not interaction_ids:
        return []
    return [
        dict(zip(_ROUTING_FIELDS, fields, strict=True))
        for state, *fields in _ROUTING_ROWS.rows(conn, {"values": list(interaction_ids)})
        if state == InteractionState.QUEUED
    ]
