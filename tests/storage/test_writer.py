"""The hot path's writer, on SQLite and PostgreSQL: a unit of work is one transaction, its
early announcement comes before its result, and a failed unit leaves nothing behind. On
SQLite the units run in a writer process, which a dead child does not take down."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import intake_rows as rows
from storage.database import create_engine, is_sqlite
from storage.migrate import upgrade
from storage.models import new_id, utcnow
from storage.writer import Writer
from storage.writer_process import WriterGone


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


def _half_done(conn: Connection) -> str:
    _add_customer(conn)
    raise RuntimeError("half way")


def _where(conn: Connection) -> tuple[int, str]:
    """The process and thread a unit runs on."""
    _add_customer(conn)
    return os.getpid(), threading.current_thread().name


async def test_a_unit_is_committed_when_run_returns_and_announced_before(engine: AsyncEngine) -> None:
    writer = Writer(engine)
    announced: list[tuple[str, bool]] = []

    def before_commit(customer_id: str) -> None:
        announced.append((customer_id, threading.current_thread() is threading.main_thread()))

    try:
        customer_id = await writer.run(_add_customer, before_commit=before_commit)
    finally:
        await writer.close()
    # Announced on the event loop's thread, with the unit's result.
    assert announced == [(customer_id, True)]
    assert await _customers(engine) == 1


async def test_a_failed_unit_writes_nothing_and_announces_nothing(engine: AsyncEngine) -> None:
    writer = Writer(engine)
    announced: list[str] = []
    try:
        with pytest.raises(RuntimeError, match="half way"):
            await writer.run(_half_done, before_commit=announced.append)
        await writer.run(_add_customer)
    finally:
        await writer.close()
    assert announced == []
    assert await _customers(engine) == 1


async def test_units_run_one_after_another_in_one_writer_process_on_sqlite(engine: AsyncEngine) -> None:
    writer = Writer(engine)
    try:
        places = set(await asyncio.gather(*(writer.run(_where) for _ in range(10))))
        assert writer.serial == is_sqlite(str(engine.url))
    finally:
        await writer.close()
    # PostgreSQL runs units through asyncpg on the event loop's thread: nowhere to hop to.
    expected = {(os.getpid(), threading.main_thread().name)}
    if is_sqlite(str(engine.url)):
        assert len(places) == 1 and next(iter(places))[0] != os.getpid()
    else:
        assert places == expected
    assert await _customers(engine) == 10


async def test_a_unit_that_cannot_cross_to_the_writer_is_refused_and_the_writer_goes_on(engine: AsyncEngine) -> None:
    writer = Writer(engine)
    try:
        if is_sqlite(str(engine.url)):
            with pytest.raises((AttributeError, TypeError, pickle.PicklingError)):
                await writer.run(lambda conn: _add_customer(conn))
        await writer.run(_add_customer)
    finally:
        await writer.close()
    assert await _customers(engine) == 1


async def test_a_dead_writer_process_fails_its_units_and_the_next_unit_starts_a_new_one(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/writer.db"
    await upgrade(url)
    engine = create_engine(url)
    writer = Writer(engine)
    try:
        pid, _ = await writer.run(_where)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(WriterGone):
            # The death is noticed by the unit in flight, or by the next one sent.
            for _ in range(50):
                await writer.run(_add_customer)
                await asyncio.sleep(0.02)
        again, _ = await writer.run(_where)
        assert again != pid
    finally:
        await writer.close()
        await engine.dispose()
