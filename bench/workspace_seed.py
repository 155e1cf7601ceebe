"""The database ``bench.workspace`` measures: a SQLite file with the project's schema (its
own migrations) and CUSTOMERS customers, INTERACTIONS interactions with their messages and
events, and AGENTS agents, as the service would have written them over the years.

- Customers are created over three years, each by their first contact; most have a phone
  (E.164, US numbers), most an email address (lower case, as intake stores it), some both
  or two phones; names are drawn from weighted lists, so name prefixes are as unevenly
  common as real ones ("ma" matches far more than "qu").
- Interactions per customer: geometric (most have one to three, a few dozen at most), a
  hundred heavy customers with 201 to 1,000, and TIMELINE_CUSTOMERS with exactly
  TIMELINE_INTERACTIONS each (the timeline the benchmark reads). Each interaction after a
  customer's first falls anywhere between then and the seeding.
- Each interaction is an SMS, email or chat conversation: one to four customer messages,
  each answered by its agent; events as the service writes them (created, queued,
  message_received, offered, accepted, message_sent, message_status for SMS, wrap_up_started,
  completed), numbered in the event log. 92% completed by an agent (agents' loads differ),
  5% abandoned in the queue, 3% filed; OPEN_PER_AGENT of the most recent held by each agent.

Ids are UUIDv7 minted at each row's time, as ``new_id`` mints them, and rows go in in time
order, as the service writes them. The tables' own indexes are dropped while rows go in and
built again after, from the very SQL the migrations made them with. Nothing is ANALYZEd:
the service never does, so its planner works without statistics here as in production.

A manifest beside the file (``<file>.json``) says what was seeded; a later run with the same
sizes reuses the file."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.workspace_rows import AGENTS, InteractionRows, Plan, customer_rows, plan_interactions, stamp
from interaction_center.desk.accounts import hash_password
from storage.migrate import upgrade

# Raised whenever what is seeded changes: an older file is then seeded again.
SEED_VERSION = 1
BENCH_PASSWORD = "workspace-bench-pw-2026"
BATCH = 20_000
# The tables filled here: their secondary indexes are built after the rows.
BIG_TABLES = ("customers", "customer_identities", "interactions", "messages", "interaction_events")


@dataclass(frozen=True)
class Manifest:
    version: int
    customers: int
    interactions: int
    rng_seed: int
    seeded_at: float
    seconds: float
    agents: list[str]  # usernames, all with BENCH_PASSWORD
    timeline_customers: list[str]
    rows: dict[str, int]

    @staticmethod
    def path_for(database: Path) -> Path:
        return database.with_name(database.name + ".json")


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, a line every tenth
    otherwise (a log file keeps no carriage returns)."""

    def __init__(self, label: str, total: int, unit: str = "rows") -> None:
        self.label, self.total, self.unit = label, max(total, 1), unit
        self.done = 0
        self.started = time.monotonic()
        self._drawn = 0.0
        self._tty = sys.stderr.isatty()
        self._tenth = 0

    def add(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self._tty and now - self._drawn >= 0.2:
            self._drawn = now
            sys.stderr.write("\r" + self._line(now))
            sys.stderr.flush()
        elif not self._tty and self.done * 10 // self.total > self._tenth:
            self._tenth = self.done * 10 // self.total
            print(self._line(now), file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._tty:
            print("\r" + self._line(time.monotonic()), file=sys.stderr, flush=True)
        elif self._tenth < 10:
            print(self._line(time.monotonic()), file=sys.stderr, flush=True)

    def _line(self, now: float) -> str:
        share = min(self.done / self.total, 1.0)
        bar = "#" * int(share * 30)
        elapsed = now - self.started
        eta = elapsed * (1 - share) / share if share > 0 else 0.0
        return (
            f"{self.label:<13} [{bar:<30}] {share:6.1%} {self.done:>12,}/{self.total:,} {self.unit}"
            f"  {elapsed:6.1f} s  ETA {eta:5.0f} s "
        )


def reusable(database: Path, customers: int, interactions: int) -> Manifest | None:
    """The manifest of a complete seeding of these sizes in ``database``, if there is one."""
    path = Manifest.path_for(database)
    if not database.exists() or not path.exists():
        return None
    try:
        manifest = Manifest(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None
    same = (manifest.version, manifest.customers, manifest.interactions) == (SEED_VERSION, customers, interactions)
    return manifest if same else None


def seed(database: Path, customers: int, interactions: int, rng_seed: int = 14) -> Manifest:
    """A fresh file at ``database`` (any old one and its manifest removed first)."""
    started = time.monotonic()
    manifest_path = Manifest.path_for(database)
    manifest_path.unlink(missing_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.parent.mkdir(parents=True, exist_ok=True)
    print(f"seeding {database}: schema by the project's migrations", file=sys.stderr, flush=True)
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{database}"))
    rng = random.Random(rng_seed)
    now = time.time()
    plan = plan_interactions(rng, customers, interactions, now)
    db = sqlite3.connect(database, isolation_level=None)
    try:
        _fast_pragmas(db)
        indexes = _drop_indexes(db)
        counts: dict[str, int] = {}
        db.execute("BEGIN")
        usernames = _agents(db, plan, now)
        counts["customers"], counts["customer_identities"] = _customers(db, plan, rng)
        db.execute("COMMIT")
        counts |= _interactions(db, plan, rng, now)
        _build_indexes(db, indexes)
        db.execute("UPDATE event_streams SET last_seq = ? WHERE name = 'interactions'", (counts["interaction_events"],))
        db.execute("PRAGMA journal_mode=WAL")
    finally:
        db.close()
    manifest = Manifest(
        version=SEED_VERSION,
        customers=customers,
        interactions=interactions,
        rng_seed=rng_seed,
        seeded_at=now,
        seconds=round(time.monotonic() - started, 1),
        agents=usernames,
        timeline_customers=[plan.customer_ids[k] for k in plan.timeline],
        rows=counts,
    )
    manifest_path.write_text(json.dumps(asdict(manifest), indent=1))
    size = database.stat().st_size / 2**30
    print(f"seeded in {manifest.seconds:.0f} s: {counts}, {size:.1f} GiB", file=sys.stderr, flush=True)
    return manifest


def _fast_pragmas(db: sqlite3.Connection) -> None:
    # Nothing here must survive a crash: a seeding cut short is begun again.
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")
    db.execute("PRAGMA threads=4")
    db.execute("PRAGMA foreign_keys=OFF")


def _drop_indexes(db: sqlite3.Connection) -> list[tuple[str, str]]:
    """The big tables' own indexes (not those of their keys and unique constraints, which
    SQLite keeps itself), dropped; their names and the SQL that made them."""
    placeholders = ",".join("?" * len(BIG_TABLES))
    rows = db.execute(
        "SELECT name, sql FROM sqlite_master"
        f" WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({placeholders})",
        BIG_TABLES,
    ).fetchall()
    for name, _ in rows:
        db.execute(f'DROP INDEX "{name}"')
    return [(str(name), str(sql)) for name, sql in rows]


def _build_indexes(db: sqlite3.Connection, indexes: list[tuple[str, str]]) -> None:
    progress = Progress("indexes", len(indexes), "indexes")
    for _, sql in indexes:
        db.execute(sql)
        progress.add(1)
    progress.close()


def _insert(db: sqlite3.Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    if rows:
        names = ", ".join(columns)
        db.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)


def _check_columns(db: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> None:
    """Every column of the table is written: a migration that adds one must be seeded too."""
    have = {str(row[1]) for row in db.execute(f"PRAGMA table_info({table})")}
    if have != set(columns):
        raise RuntimeError(f"{table}: the schema has {sorted(have)}, the seeding writes {sorted(columns)}")


AGENT_COLUMNS = (
    "id", "username", "display_name", "password_hash", "role", "status", "status_reason", "status_changed_at",
    "queues", "skills", "capacity", "phone", "active", "created_at", "version",
)  # fmt: skip


def _agents(db: sqlite3.Connection, plan: Plan, now: float) -> list[str]:
    _check_columns(db, "agents", AGENT_COLUMNS)
    password_hash = hash_password(BENCH_PASSWORD)
    queues = json.dumps([{"queue": "support", "priority": 1, "delay_seconds": 0}])
    at = stamp(now - 4 * 365 * 86400)
    rows = [
        (
            *(agent_id, f"agent{n:03d}", f"Agent {n:03d}", password_hash, "agent", "offline", None, at, queues),
            *("{}", "{}", None, 1, at, 1),
        )
        for n, agent_id in enumerate(plan.agent_ids, start=1)
    ]
    _insert(db, "agents", AGENT_COLUMNS, rows)
    return [f"agent{n:03d}" for n in range(1, len(plan.agent_ids) + 1)]


CUSTOMER_COLUMNS = ("id", "display_name", "name_key", "merged_into", "created_at")
IDENTITY_COLUMNS = ("id", "customer_id", "kind", "value", "opted_out_at", "created_at")


def _customers(db: sqlite3.Connection, plan: Plan, rng: random.Random) -> tuple[int, int]:
    _check_columns(db, "customers", CUSTOMER_COLUMNS)
    _check_columns(db, "customer_identities", IDENTITY_COLUMNS)
    progress = Progress("customers", len(plan.customer_ids), "customers")
    identities = 0
    for customers, idents in customer_rows(plan, rng, BATCH):
        _insert(db, "customers", CUSTOMER_COLUMNS, customers)
        _insert(db, "customer_identities", IDENTITY_COLUMNS, idents)
        identities += len(idents)
        progress.add(len(customers))
    progress.close()
    return len(plan.customer_ids), identities


def _interactions(db: sqlite3.Connection, plan: Plan, rng: random.Random, now: float) -> dict[str, int]:
    rows = InteractionRows(plan, rng, now)
    for table, columns in rows.columns.items():
        _check_columns(db, table, columns)
    progress = Progress("interactions", len(plan.order), "interactions")
    counts = dict.fromkeys(rows.columns, 0)
    for done, batch in enumerate(rows.batches(BATCH), start=1):
        if done % 50 == 1:
            db.execute("BEGIN")
        for table, table_rows in batch.items():
            _insert(db, table, rows.columns[table], table_rows)
            counts[table] += len(table_rows)
        if done % 50 == 0:
            db.execute("COMMIT")
        progress.add(len(batch["interactions"]))
    if db.in_transaction:
        db.execute("COMMIT")
    progress.close()
    return counts


__all__ = ["AGENTS", "BENCH_PASSWORD", "Manifest", "Progress", "reusable", "seed"]
