"""The hot path's writer, on SQLite and PostgreSQL: units run in the order they were
submitted, those submitted together share one transaction, and a failed unit leaves
nothing of its own behind."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from interaction_center.domain.stamps import new_id, utcnow
from storage import intake_rows as rows
from storage.database import create_engine, is_sqlite
from storage.migrate import upgrade
from storage.writer import Writer


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url)
    yield engine
    await engine.dispose()


async def _customers(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(rows.CUSTOMERS)) or 0)


def _add_customer(conn: Connection) -> str:
    customer_id = new_id()
    rows.add_customers(conn, [(customer_id, "chat", customer_id, "")], utcnow())
    return customer_id


async def test_a_unit_is_committed_when_run_returns(engine: AsyncEngine) -> None:
    writer = Writer(engine)
    try:
        await writer.run(_add_customer)
    finally:
        await writer.close()
    assert await _customers(engine) == 1


async def test_a_failed_unit_writes_nothing(engine: AsyncEngine) -> None:
    writer = Writer(engine)

    def half_done(conn: Connection) -> str:
        _add_customer(conn)
        raise RuntimeError("half way")

    try:
        with pytest.raises(RuntimeError, match="half way"):
            await writer.run(half_done)
        await writer.run(_add_customer)
    finally:
        await writer.close()
    assert await _customers(engine) == 1


async def test_units_run_on_the_event_loops_thread(engine: AsyncEngine) -> None:
    """On SQLite only BEGIN and COMMIT go to the writer's thread: a unit's statements run
    where its caller is, without giving up the GIL and waiting to get it back for each."""
    writer = Writer(engine)
    threads: set[str] = set()

    def where(conn: Connection) -> str:
        threads.add(threading.current_thread().name)
        return _add_customer(conn)

    try:
        await asyncio.gather(*(writer.run(where) for _ in range(10)))
    finally:
        await writer.close()
    assert threads == {threading.main_thread().name}
    assert await _customers(engine) == 10


async def test_a_writer_stopped_mid_transaction_leaves_the_database_to_the_next(engine: AsyncEngine) -> None:
    """Its task cancelled (the service stopping) while its thread begins or commits, the
    writer fails the units still waiting and rolls back whatever it left open: another
    writer (a restart, another instance) writes at once."""
    writer = Writer(engine)
    waiting = [writer.submit(_add_customer) for _ in range(5)]
    [draining] = [task for task in asyncio.all_tasks() if task.get_name() == "storage-writer"]
    await asyncio.sleep(0)
    draining.cancel()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes), outcomes
    other = Writer(engine)
    try:
        # While the first writer's connection is still open.
        await asyncio.wait_for(other.run(_add_customer), 10)
    finally:
        await other.close()
        await writer.close()
    assert await _customers(engine) == 1


async def test_units_submitted_together_share_one_commit_and_a_failing_one_fails_alone(engine: AsyncEngine) -> None:
    """A poison unit amid others: its own writes are rolled back, theirs are committed,
    and all of them went in one transaction (one disk flush for the lot)."""
    writer = Writer(engine)
    transactions: list[object] = []
    order: list[int] = []

    def unit(n: int) -> Callable[[Connection], str]:
        def work(conn: Connection) -> str:
            transactions.append(conn.get_transaction())
            order.append(n)
            customer_id = _add_customer(conn)
            if n == 3:
                raise RuntimeError("poison")
            return customer_id

        return work

    try:
        # Submitted before the writer gets a turn of the loop: one batch.
        futures = [writer.submit(unit(n)) for n in range(6)]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
    finally:
        await writer.close()
    assert [isinstance(outcome, RuntimeError) for outcome in outcomes] == [n == 3 for n in range(6)]
    assert order == list(range(6))
    assert all(transaction is transactions[0] for transaction in transactions)
    assert await _customers(engine) == 5


async def test_a_unit_runs_after_everything_submitted_before_it(engine: AsyncEngine) -> None:
    writer = Writer(engine)
    seen: list[int] = []

    def unit(n: int) -> Callable[[Connection], None]:
        return lambda conn: seen.append(n)

    try:
        first = [writer.submit(unit(n)) for n in range(3)]
        await first[0]
        await asyncio.gather(*first, *(writer.submit(unit(n)) for n in range(3, 250)))
    finally:
        await writer.close()
    assert seen == list(range(250))


async def test_a_unit_submitted_alone_has_a_transaction_of_its_own_on_postgresql(engine: AsyncEngine) -> None:
    """On PostgreSQL a unit submitted ``alone`` runs in a transaction with nothing else,
    and the group around it is split there; SQLite's writer holds the whole database in
    every transaction, so there it is grouped like the others (one flush for the lot)."""
    writer = Writer(engine)
    transactions: list[object] = []

    def unit(conn: Connection) -> None:
        transactions.append(conn.get_transaction())

    try:
        alone = [False, False, True, False, False]
        await asyncio.gather(*(writer.submit(unit, alone=by_itself) for by_itself in alone))
    finally:
        await writer.close()
    first = [transactions.index(t) for t in transactions]
    assert first == ([0, 0, 0, 0, 0] if is_sqlite(str(engine.url)) else [0, 0, 2, 3, 3])


async def test_a_writer_waits_for_another_connections_lock_without_holding_up_the_event_loop(tmp_path: Path) -> None:
    """SQLite: while another connection (another process, a command line tool) holds the
    write lock, the transaction is begun on the writer's thread, which waits; the event
    loop goes on, and the unit is written once the lock is let go."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}"
    await upgrade(url)
    engine = create_engine(url)
    writer = Writer(engine)
    other = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    try:
        await writer.run(_add_customer)  # the writer's connection opened
        other.execute("BEGIN IMMEDIATE")
        waiting = writer.submit(_add_customer)
        started = time.monotonic()
        await asyncio.sleep(0.3)
        assert time.monotonic() - started < 0.5 and not waiting.done()
        other.execute("COMMIT")
        await asyncio.wait_for(waiting, 10)
        assert await _customers(engine) == 2
    finally:
        other.close()
        await writer.close()
        await engine.dispose()
