"""The ceilings ``bench.workspace`` holds the service against, each in a process of its own:

    python -m bench.workspace_bare sql INPUTS.json   # the storage layer's SQL, bare
    python -m bench.workspace_bare http PORT         # an aiohttp handler answering at once

``sql``: for each sample, the very statements the service's storage layer issues for the
request (the caller's token looked up, then the operation's reads; the SQL as SQLAlchemy
renders it, with the same parameters) run one after the other with the sqlite3 module on
the same file, with the service's connection settings; every row fetched, nothing built
of them. Prints one JSON object: per operation, each sample's milliseconds and how many
results it found (customers, work items, interactions), for the run to check against the
service's answers.

``http``: GET on any path answered with a small JSON body, until terminated: what one
request on loopback costs an aiohttp client and server doing nothing else."""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

Row = tuple[Any, ...]


def _names(text: str) -> list[str]:
    return text.split()


_AGENT = (
    "SELECT agents.id, agents.username, agents.display_name, agents.password_hash, agents.role, agents.status,"
    " agents.status_reason, agents.status_changed_at, agents.queues, agents.skills, agents.capacity, agents.phone,"
    " agents.active, agents.created_at, agents.version FROM agents JOIN auth_tokens ON auth_tokens.agent_id ="
    " agents.id WHERE auth_tokens.token_hash = ? AND auth_tokens.expires_at > ? AND agents.active = 1"
)
_CUSTOMER_COLUMNS = (
    "customers.id, customers.display_name, customers.name_key, customers.merged_into, customers.created_at"
)
_BY_IDENTITY = (
    f"SELECT {_CUSTOMER_COLUMNS} FROM customers JOIN customer_identities ON customer_identities.customer_id ="
    " customers.id WHERE customer_identities.kind = ? AND customer_identities.value = ?"
)
_BY_NAME = (
    f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE customers.name_key >= ? AND customers.name_key < ? AND"
    " customers.merged_into IS NULL ORDER BY customers.name_key, customers.id LIMIT ? OFFSET ?"
)
_IDENTITY_COLUMNS = (
    "customer_identities.id, customer_identities.customer_id, customer_identities.kind, customer_identities.value,"
    " customer_identities.opted_out_at, customer_identities.created_at"
)
_INTERACTION_COLUMNS = ", ".join(
    f"interactions.{column}"
    for column in _names(
        "id customer_id channel state queue thread_key enqueued_at priority required_skills escalation_level"
        " answer_deadline sla_breached_at first_response_deadline first_responded_at first_response_breached_at"
        " preferred_agent_id preferred_until assigned_agent_id offer_id offered_agent_id offer_expires_at"
        " disposition transfer_note parked_until created_at updated_at closed_at version"
    )
)
_MESSAGE_COLUMNS = ", ".join(
    f"messages.{column}"
    for column in _names(
        "id interaction_id channel direction external_id from_address to_address body status status_updated_at"
        " error author_agent_id attributes created_at"
    )
)
_LISTED = (
    f"SELECT {_INTERACTION_COLUMNS}, customers.display_name AS customer_name FROM interactions JOIN customers"
    " ON customers.id = interactions.customer_id WHERE interactions.state = ? AND "
)
_OFFERED = _LISTED + "interactions.offered_agent_id = ? ORDER BY interactions.enqueued_at"
_HELD = _LISTED + "interactions.assigned_agent_id = ? ORDER BY interactions.enqueued_at"
_PARKED = (
    _LISTED + "interactions.assigned_agent_id = ? ORDER BY interactions.parked_until IS NULL, interactions.parked_until"
)
_COMPLETED = _LISTED + "interactions.assigned_agent_id = ? ORDER BY interactions.closed_at DESC, interactions.id DESC"
_COMPLETED_BEFORE = (
    _LISTED + "interactions.assigned_agent_id = ? AND interactions.closed_at <= ? AND (interactions.closed_at < ? OR"
    " interactions.closed_at = ? AND interactions.id < ?) ORDER BY interactions.closed_at DESC, interactions.id DESC"
)
_LATEST = (
    "SELECT {columns} FROM messages WHERE messages.interaction_id IN ({marks}) AND messages.created_at = (SELECT"
    " max(messages_1.created_at) AS max_1 FROM messages AS messages_1 WHERE messages_1.interaction_id ="
    " messages.interaction_id)"
)
_LAST_REPLY = (
    "(SELECT max(messages_1.created_at) AS max_1 FROM messages AS messages_1 WHERE messages_1.interaction_id ="
    " messages.interaction_id AND messages_1.direction = ?)"
)
_UNREAD = (
    "SELECT messages.interaction_id, count(*) AS count_1 FROM messages WHERE messages.interaction_id IN ({marks})"
    f" AND messages.direction = ? AND ({_LAST_REPLY} IS NULL OR messages.created_at > {_LAST_REPLY})"
    " GROUP BY messages.interaction_id"
)
_CUSTOMER = f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE customers.id = ?"
# Whether the agent may read the customer: held or offered one of theirs, else acted on one.
_HAS_WORKED = "SELECT interactions.id FROM interactions WHERE interactions.customer_id = ? AND "
_HELD_OR_OFFERED = (
    _HAS_WORKED + "(interactions.assigned_agent_id = ? OR interactions.offered_agent_id = ?) LIMIT ? OFFSET ?"
)
_ACTED_ON = (
    _HAS_WORKED + "(EXISTS (SELECT * FROM interaction_events WHERE interaction_events.interaction_id ="
    " interactions.id AND interaction_events.actor_id = ?)) LIMIT ? OFFSET ?"
)
# What the desk's reads of interactions select (storage.rows.InteractionFields).
_INTERACTION_FIELDS = ", ".join(
    f"interactions.{column}"
    for column in _names(
        "id customer_id channel state queue enqueued_at priority answer_deadline assigned_agent_id offer_id"
        " offered_agent_id offer_expires_at disposition transfer_note parked_until created_at closed_at"
    )
)
_FOR_CUSTOMER = (
    f"SELECT {_INTERACTION_FIELDS} FROM interactions WHERE interactions.customer_id = ?"
    " ORDER BY interactions.created_at DESC, interactions.id DESC LIMIT ? OFFSET ?"
)
_IDENTITIES = (
    f"SELECT {_IDENTITY_COLUMNS} FROM customer_identities WHERE customer_identities.customer_id = ?"
    " ORDER BY customer_identities.id"
)
_MESSAGES = (
    f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE messages.interaction_id IN ({{marks}})"
    " ORDER BY messages.created_at, messages.id"
)
_EVENTS = (
    "SELECT interaction_events.id, interaction_events.seq, interaction_events.interaction_id,"
    " interaction_events.type, interaction_events.actor_kind, interaction_events.actor_id, interaction_events.data,"
    " interaction_events.created_at FROM interaction_events WHERE interaction_events.interaction_id IN ({marks})"
    " ORDER BY interaction_events.interaction_id, interaction_events.id"
)
_MERGES = (
    "SELECT customer_merges.id, customer_merges.into_id, customer_merges.from_id, customer_merges.identity_ids,"
    " customer_merges.interaction_ids, customer_merges.merged_by, customer_merges.merged_at,"
    " customer_merges.unmerged_by, customer_merges.unmerged_at FROM customer_merges WHERE"
    " customer_merges.into_id = ? ORDER BY customer_merges.id"
)
SEARCH_LIMIT = 20
PAGE = 50


def _in(sql: str, values: Sequence[str]) -> str:
    """An IN list as SQLAlchemy renders one: a mark per value, or never true when empty."""
    return sql.format(marks=", ".join("?" * len(values)) if values else "NULL) AND (1 != 1", columns=_MESSAGE_COLUMNS)


class Bare:
    def __init__(self, database: str, digests: dict[str, str]) -> None:
        # Autocommit, as the service reads: its driver begins a transaction only to write.
        self.db = sqlite3.connect(database, isolation_level=None)
        # The service's connection settings (storage.database.sqlite_pragmas).
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "temp_store=MEMORY", "foreign_keys=ON"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.digests = digests

    def _all(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return self.db.execute(sql, params).fetchall()

    def _agent(self, username: str) -> None:
        now = datetime.now(UTC).isoformat(" ", "microseconds")[:-6]
        if not self._all(_AGENT, (self.digests[username], now)):
            raise RuntimeError(f"no live token for {username}")

    def _identities_of(self, customer_ids: list[str]) -> None:
        query = f"SELECT {_IDENTITY_COLUMNS} FROM customer_identities WHERE customer_identities.customer_id IN"
        self._all(_in(query + " ({marks}) ORDER BY customer_identities.id", customer_ids), customer_ids)

    def search(self, username: str, args: dict[str, Any]) -> int:
        self._agent(username)
        if "key" in args:
            key = args["key"]
            found = self._all(_BY_NAME, (key, key + "\U0010ffff", SEARCH_LIMIT, 0))
        else:
            found = self._all(_BY_IDENTITY, (args["kind"], args["value"]))[:1]
        self._identities_of([row[0] for row in found])
        return len(found)

    def work(self, username: str, args: dict[str, Any]) -> int:
        self._agent(username)
        agent_id = args["agent_id"]
        offered = self._rows(_OFFERED, ("offered", agent_id))
        held = self._rows(_HELD, ("assigned", agent_id))
        parked = self._rows(_PARKED, ("parked", agent_id))
        if args["closed_at"] is None:
            done = self._rows(_COMPLETED + " LIMIT ? OFFSET ?", ("completed", agent_id, PAGE, 0))
        else:
            at, before = args["closed_at"], args["before_id"]
            params = ("completed", agent_id, at, at, at, before, PAGE, 0)
            done = self._rows(_COMPLETED_BEFORE + " LIMIT ? OFFSET ?", params)
        return offered + held + parked + done

    def _rows(self, sql: str, params: tuple[Any, ...]) -> int:
        ids = [row[0] for row in self._all(sql, params)]
        if ids:
            self._all(_in(_LATEST, ids), ids)
            self._all(_in(_UNREAD, ids), [*ids, "inbound", "outbound", "outbound"])
        return len(ids)

    def timeline(self, username: str, args: dict[str, Any]) -> int:
        self._agent(username)
        customer_id, agent_id = args["customer_id"], args["agent_id"]
        if not self._all(_CUSTOMER, (customer_id,)):
            raise RuntimeError(f"no customer {customer_id}")
        held = self._all(_HELD_OR_OFFERED, (customer_id, agent_id, agent_id, 1, 0))
        if not held and not self._all(_ACTED_ON, (customer_id, agent_id, 1, 0)):
            raise RuntimeError(f"agent {agent_id} may not read customer {customer_id}")
        ids = [row[0] for row in self._all(_FOR_CUSTOMER, (customer_id, args["limit"], 0))]
        self._all(_IDENTITIES, (customer_id,))
        self._all(_in(_MESSAGES, ids), ids)
        self._all(_in(_EVENTS, ids), ids)
        self._all(_MERGES, (customer_id,))
        return len(ids)


def _timed(run: Callable[[str, dict[str, Any]], int], samples: list[dict[str, Any]]) -> tuple[list[float], list[int]]:
    times: list[float] = []
    counts: list[int] = []
    for sample in samples:
        started = time.perf_counter()
        found = run(sample["agent"], sample["args"])
        times.append((time.perf_counter() - started) * 1000)
        counts.append(found)
    return times, counts


def sql(path: Path) -> None:
    given = json.loads(path.read_text())
    bare = Bare(given["database"], given["digests"])
    runs = {"phone": bare.search, "email": bare.search, "name": bare.search, "work": bare.work}
    runs["timeline"] = runs["timeline_all"] = bare.timeline
    out: dict[str, Any] = {}
    for operation, run in runs.items():
        _timed(run, given["warmup"][operation])
        times, counts = _timed(run, given["samples"][operation])
        out[operation] = {"ms": times, "counts": counts}
    print(json.dumps(out))


async def _answer(request: web.Request) -> web.Response:
    return web.json_response({"customers": []})


def http(port: int) -> None:
    app = web.Application()
    app.router.add_get("/{tail:.*}", _answer)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    if sys.argv[1] == "sql":
        sql(Path(sys.argv[2]))
    elif sys.argv[1] == "http":
        http(int(sys.argv[2]))
    else:
        raise SystemExit(__doc__)
