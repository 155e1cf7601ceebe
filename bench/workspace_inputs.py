"""What ``bench.workspace`` asks, drawn from the seeded database before anything is timed:
each sample is the request an agent's desk sends (the path and query, as typed) and what
the storage layer is handed for it (a normalized value, a name key, a cursor), which the
bare SQL side runs with."""

from __future__ import annotations

import contextlib
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.workspace_rows import TIMELINE_INTERACTIONS
from interaction_center.desk.work import TIMELINE_PAGE
from interaction_center.domain.identity import name_key

OPERATIONS = ("phone", "email", "name", "work", "timeline", "timeline_all")
# Agents whose desks ask (each logs in once): the work lists are theirs, and any of them searches.
DESKS = 40
# Searches for someone who is not there: a caller the company has never heard from.
MISS_SHARE = 0.1
# Work lists read a page further down (after a cursor) rather than the first.
DEEPER_SHARE = 0.3


@dataclass(frozen=True)
class Sample:
    agent: str  # the username of the agent who asks
    path: str  # what the desk requests
    args: dict[str, Any]  # what the storage layer is handed for it


@dataclass
class Inputs:
    agents: dict[str, str]  # username -> agent id, every agent who asks
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    warmup: dict[str, list[Sample]] = field(default_factory=dict)


def _phone_as_typed(e164: str, rng: random.Random) -> str:
    """A US number in one of the ways people write it."""
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    forms = (
        e164,
        f"({area}) {exchange}-{line}",
        f"{area}-{exchange}-{line}",
        f"{area}.{exchange}.{line}",
        f"1 {area} {exchange} {line}",
        f"+1 {area} {exchange} {line}",
        f"{area}{exchange}{line}",
    )
    return rng.choice(forms)


def _email_as_typed(address: str, rng: random.Random) -> str:
    local, _, domain = address.partition("@")
    forms = (address, address.upper(), f"{local.title()}@{domain.title()}", f" {address} ")
    return rng.choice(forms)


def _prefix_as_typed(key: str, rng: random.Random) -> str:
    prefix = key[: rng.randint(2, 4)].strip() or key[:2]
    return rng.choice((prefix, prefix.title(), prefix.upper()))


def choose(database: Path, timeline_customers: list[str], count: int, warmup: int, seed: int = 7) -> Inputs:
    rng = random.Random(seed)
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        agents = dict(db.execute("SELECT username, id FROM agents ORDER BY username").fetchall())
        desks = rng.sample(sorted(agents), min(DESKS, len(agents)))
        (identities,) = db.execute("SELECT max(id) FROM customer_identities").fetchone()
        (customers,) = db.execute("SELECT max(rowid) FROM customers").fetchone()
        (interactions,) = db.execute("SELECT max(rowid) FROM interactions").fetchone()

        def identity(kind: str) -> str:
            while True:
                row = db.execute(
                    "SELECT value FROM customer_identities WHERE id = ? AND kind = ?",
                    (rng.randint(1, identities), kind),
                ).fetchone()
                if row is not None:
                    return str(row[0])

        def phone() -> Sample:
            # One in ten: an area code nobody here has.
            miss = rng.random() < MISS_SHARE
            value = f"+1311{rng.randint(2_000_000, 9_999_999)}" if miss else identity("phone")
            typed = _phone_as_typed(value, rng)
            return Sample(rng.choice(desks), _path("customers", phone=typed), {"kind": "phone", "value": value})

        def email() -> Sample:
            value = identity("email")
            if rng.random() < MISS_SHARE:
                value = "x" + value
            typed = _email_as_typed(value, rng)
            return Sample(rng.choice(desks), _path("customers", email=typed), {"kind": "email", "value": value})

        def name() -> Sample:
            (key,) = db.execute(
                "SELECT name_key FROM customers WHERE rowid = ?", (rng.randint(1, customers),)
            ).fetchone()
            typed = _prefix_as_typed(str(key), rng)
            return Sample(rng.choice(desks), _path("customers", name=typed), {"key": name_key(typed)})

        by_id = {agent_id: username for username, agent_id in agents.items()}
        desk_ids = [agents[username] for username in desks]

        def work() -> Sample:
            agent = rng.choice(desks)
            args: dict[str, Any] = {"agent_id": agents[agent], "closed_at": None, "before_id": None}
            if rng.random() < DEEPER_SHARE:
                # A page further down: after one of their completed interactions.
                marks = ",".join("?" * len(desk_ids))
                while True:
                    row = db.execute(
                        "SELECT closed_at, id, assigned_agent_id FROM interactions WHERE rowid = ? AND state ="
                        f" 'completed' AND assigned_agent_id IN ({marks})",
                        (rng.randint(1, interactions), *desk_ids),
                    ).fetchone()
                    if row is not None:
                        break
                closed_at, before_id, agent_id = row
                agent = by_id[agent_id]
                args = {"agent_id": agent_id, "closed_at": closed_at, "before_id": before_id}
                cursor = f"{closed_at.replace(' ', 'T')}Z|{before_id}"
                return Sample(agent, _path("work", before=cursor), args)
            return Sample(agent, _path("work"), args)

        # Each timeline is read by the agent who last served the customer.
        readers: list[tuple[str, str]] = []
        for customer_id in timeline_customers:
            (agent_id,) = db.execute(
                "SELECT assigned_agent_id FROM interactions WHERE customer_id = ? AND state = 'completed'"
                " ORDER BY closed_at DESC LIMIT 1",
                (customer_id,),
            ).fetchone()
            readers.append((customer_id, by_id[agent_id]))

        def timeline() -> Sample:
            """What a desk reads on opening a customer: the newest page."""
            customer_id, agent = rng.choice(readers)
            args = {"customer_id": customer_id, "agent_id": agents[agent], "limit": TIMELINE_PAGE}
            return Sample(agent, f"/api/v1/customers/{customer_id}", args)

        def timeline_all() -> Sample:
            """All of a customer's interactions in one page (the most a page may hold)."""
            customer_id, agent = rng.choice(readers)
            args = {"customer_id": customer_id, "agent_id": agents[agent], "limit": TIMELINE_INTERACTIONS}
            return Sample(agent, f"/api/v1/customers/{customer_id}?limit={TIMELINE_INTERACTIONS}", args)

        makers: dict[str, Callable[[], Sample]] = {
            "phone": phone,
            "email": email,
            "name": name,
            "work": work,
            "timeline": timeline,
            "timeline_all": timeline_all,
        }
        inputs = Inputs({})
        for operation, make in makers.items():
            inputs.warmup[operation] = [make() for _ in range(warmup)]
            inputs.samples[operation] = [make() for _ in range(count)]
    asking = {s.agent for kind in (inputs.samples, inputs.warmup) for samples in kind.values() for s in samples}
    inputs.agents = {username: agents[username] for username in sorted(asking)}
    return inputs


def _path(what: str, **query: str) -> str:
    return f"/api/v1/{what}" + (f"?{urlencode(query)}" if query else "")
