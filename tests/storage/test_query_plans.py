"""Intake's lookups stay index searches as the tables grow: each batch of contacts reads
what it needs through an index, never by reading a whole table. Checked on SQLite's own
plans for the statements a batch really runs."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine

from interaction_center.domain.model import InboundContact, InteractionState
from interaction_center.domain.stamps import utcnow
from interaction_center.intake import batch as intake_batch
from storage import deadlines, interactions, work
from storage import intake_rows as rows
from storage.migrate import upgrade
from storage.models import CLOSED_STATES_SQL
from tests.support import mail, sms, write_settings


def _selects_of_a_batch(engine: Engine, tmp_path: Path, contacts: list[InboundContact]) -> list[tuple[str, Any]]:
    settings = write_settings(
        tmp_path,
        str(engine.url),
        "http://127.0.0.1:9",
        support="preferred_agent_seconds = 30",
        support_channels='["sms", "email"]',
    )
    seen: list[tuple[str, Any]] = []

    def record(statement: str) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, ()))

    with engine.begin() as conn:
        # Traced by the driver, which sees the statements run through SQLAlchemy and those
        # run on its cursor directly (storage.prepared), with their values written in.
        driver = conn.connection.driver_connection
        driver.set_trace_callback(record)  # type: ignore[union-attr]
        try:
            intake_batch.write(conn, [(c, "support") for c in contacts], settings, utcnow())
        finally:
            driver.set_trace_callback(None)  # type: ignore[union-attr]
    return seen


def _plan(engine: Engine, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as conn:
        # An open connection always has its driver's (sqlite3) connection.
        cursor = conn.connection.driver_connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)  # type: ignore[union-attr]
        return [str(row[3]) for row in cursor.fetchall()]


def test_every_intake_lookup_searches_an_index(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    asyncio.run(upgrade(url.replace("sqlite://", "sqlite+aiosqlite://")))
    engine = create_engine(url)
    try:
        first = [sms(f"+1555123{n:04d}") for n in range(20)] + [mail("<m1@customer.test>")]
        _selects_of_a_batch(engine, tmp_path, first)
        # A returning customer (their last agent is looked up), a new one, and a mail
        # answering one this batch has not seen (looked up by the message it names).
        second = [sms("+15551230001"), sms("+15559990000"), mail("<m2@customer.test>", ("<m1@customer.test>",))]
        selects = _selects_of_a_batch(engine, tmp_path, second)
        plans = {statement: _plan(engine, statement, parameters) for statement, parameters in selects}
    finally:
        engine.dispose()
    assert len(plans) >= 5, plans
    for statement, plan in plans.items():
        assert not [step for step in plan if step.startswith("SCAN")], (statement, plan)
    [last_agent_plan] = [plan for statement, plan in plans.items() if "closed_at >=" in statement]
    assert any("customer_id=?" in step for step in last_agent_plan), last_agent_plan


def test_the_open_thread_condition_names_exactly_the_closed_states() -> None:
    closed = {state.value for state in InteractionState if not state.is_open}
    assert CLOSED_STATES_SQL.startswith("state NOT IN (")
    assert set(re.findall(r"'(\w+)'", CLOSED_STATES_SQL)) == closed


def _plans_of(tmp_path: Path, reads: Callable[[Connection], object]) -> list[list[str]]:
    """The plan of each SELECT ``reads`` runs on a new migrated database, as SQLite ran it
    (traced by the driver: prepared statements pass SQLAlchemy's events by)."""
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    asyncio.run(upgrade(url.replace("sqlite://", "sqlite+aiosqlite://")))
    engine = create_engine(url)
    seen: list[str] = []
    try:
        with engine.begin() as conn:
            driver = conn.connection.driver_connection
            driver.set_trace_callback(seen.append)  # type: ignore[union-attr]
            try:
                reads(conn)
            finally:
                driver.set_trace_callback(None)  # type: ignore[union-attr]
        return [_plan(engine, statement, ()) for statement in seen if statement.lstrip().upper().startswith("SELECT")]
    finally:
        engine.dispose()


def test_the_first_response_check_searches_its_partial_index(tmp_path: Path) -> None:
    """Run every tick: it must read only what is due, through the partial index whose
    condition it shares, never the whole interactions table."""
    [plan] = _plans_of(tmp_path, lambda conn: deadlines.record_first_response_breaches(conn, utcnow()))
    assert plan == ["SEARCH interactions USING INDEX ix_interactions_first_response_due (first_response_deadline<?)"]


def test_the_work_list_reads_an_agents_interactions_by_state(tmp_path: Path) -> None:
    """What an agent holds is found among their interactions in that state, never by
    reading every interaction they ever had; what they completed is read newest first off
    the same index, a page at a time, each page from where the last one ended."""

    def reads(conn: Connection) -> None:
        work.held(conn, "agent-1", None)
        work.completed(conn, "agent-1", None, None, 50)
        work.completed(conn, "agent-1", None, (utcnow(), "interaction-1"), 50)

    plans = _plans_of(tmp_path, reads)
    assert len(plans) == 3, plans
    for plan in plans:
        assert plan[0].startswith("SEARCH interactions USING INDEX ix_interactions_agent_state_closed"), plan
        assert "assigned_agent_id=? AND state=?" in plan[0], plan
    # A page after a cursor starts at the cursor, not at the agent's newest interaction.
    assert "closed_at<?" in plans[2][0], plans[2]


def test_a_customers_timeline_reads_its_page_newest_first_off_an_index(tmp_path: Path) -> None:
    """A page of a customer's timeline is read in order off (customer_id, created_at), from
    where the last page ended: never all of the customer's interactions, sorted."""

    def reads(conn: Connection) -> None:
        interactions.for_customer(conn, "customer-1", None, 20)
        interactions.for_customer(conn, "customer-1", (utcnow(), "interaction-1"), 20)

    plans = _plans_of(tmp_path, reads)
    assert len(plans) == 2, plans
    for plan in plans:
        assert plan[0].startswith("SEARCH interactions USING INDEX ix_interactions_customer_created"), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan
    assert "created_at<?" in plans[1][0], plans[1]


def test_the_events_of_a_timeline_page_are_read_in_the_order_of_their_index(tmp_path: Path) -> None:
    [plan] = _plans_of(tmp_path, lambda conn: interactions.events(conn, ["interaction-1", "interaction-2"]))
    assert plan == ["SEARCH interaction_events USING INDEX ix_interaction_events_interaction_id (interaction_id=?)"]


def test_the_routing_feed_looks_up_the_interactions_it_read_by_id(tmp_path: Path) -> None:
    """Run on the writer for every read of the log: the few interactions a read names are
    looked up by key, never found by walking every queued interaction (the state index,
    which SQLite without statistics preferred for three ids or more, however many were
    waiting)."""
    read = [f"interaction-{n}" for n in range(10)]
    [plan] = _plans_of(tmp_path, lambda conn: rows.routing_fields(conn, read))
    assert plan == ["SEARCH interactions USING INDEX sqlite_autoindex_interactions_1 (id=?)"], plan
