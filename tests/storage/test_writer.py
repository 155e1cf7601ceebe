"""The hot path's writer, on SQLite and PostgreSQL: a unit of work is one transaction, its
early announcement comes before its result, and a failed unit leaves nothing behind."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from interaction_center.domain.stamps import new_id, utcnow
from storage import intake_rows as rows
from storage.database import create_engine, is_sqlite
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


async def test_units_run_one_after_another_on_sqlite_on_one_writer_thread(engine: AsyncEngine) -> None:
    writer = Writer(engine)
    threads: set[str] = set()

    def where(conn: Connection) -> str:
        threads.add(threading.current_thread().name)
        return _add_customer(conn)

    try:
        await asyncio.gather(*(writer.run(where) for _ in range(10)))
    finally:
        await writer.close()
    # PostgreSQL runs units through asyncpg on the event loop's thread: no hop to make.
    expected = "storage-writer" if is_sqlite(str(engine.url)) else threading.main_thread().name
    assert len(threads) == 1 and next(iter(threads)).startswith(expected)
    assert await _customers(engine) == 10
