"""Reads for webhooks that must answer fast (the phone channel's): plain functions on a
synchronous Connection, each a few ``Prepared`` statements by key.

Through the asyncio layer over aiosqlite a read costs a thread hop per step (checkout,
cursor, execute, fetch, rollback), each waiting for the GIL on a busy event loop, and an
ORM ``Session.get`` adds its identity map and object loading on top. On SQLite such a
read costs less than one thread hop: it runs right on the event loop's thread, on a
connection of its own outside any transaction (WAL: it sees the last commit and does not
wait for the writer). One that would wait all the same (SQLite busy: a checkpoint or a
recovery under way) does not block the loop: it is run again on a thread of its own
that may wait. PostgreSQL runs the same functions through ``run_sync`` on the async
engine.

Nothing is kept between reads: what a read returns is what storage held at that moment."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, StaticPool, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.database import sqlite_pragmas
from storage.json_text import ENGINE_JSON

T = TypeVar("T")


class Reader:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite: Engine | None = None
        self._inline: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        if engine.dialect.name == "sqlite":
            url = engine.url.set(drivername="sqlite")
            self._sqlite = create_engine(url, connect_args={"timeout": 30}, **ENGINE_JSON)
            event.listen(self._sqlite, "connect", _autocommit)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="storage-reader")
            # One connection, only ever used on the event loop's thread, and kept open: a
            # checkout per read cost about as much as a read by key.
            self._inline = create_engine(url, connect_args={"timeout": 0}, poolclass=StaticPool, **ENGINE_JSON)
            event.listen(self._inline, "connect", _never_waiting)
        self._connection: Connection | None = None

    async def run(self, read: Callable[[Connection], T]) -> T:
        """``read``'s result: what storage holds now."""
        if self._inline is None:
            async with self._engine.connect() as conn:
                return await conn.run_sync(read)
        if self._connection is None:
            self._connection = self._inline.connect()
        try:
            return _within(self._connection, read)
        except OperationalError as exc:
            if not _busy(exc):
                raise
        return await asyncio.get_running_loop().run_in_executor(self._thread, _read, self._sqlite, read)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._inline is not None:
            self._inline.dispose()
        if self._sqlite is not None and self._thread is not None:
            # SQLite connections may only be closed by the thread that opened them.
            await asyncio.get_running_loop().run_in_executor(self._thread, self._sqlite.dispose)
            self._thread.shutdown(wait=True)


async def in_session(session: AsyncSession, read: Callable[[Connection], T]) -> T:
    """``read`` (a function the Reader runs) on a session's own connection, inside its
    transaction: what a change reads on its way. It sees what the session has flushed."""
    return await session.run_sync(lambda sync_session: read(sync_session.connection()))


def _read(engine: Engine | None, read: Callable[[Connection], T]) -> T:
    assert engine is not None
    with engine.connect() as conn:
        return _within(conn, read)


def _within(conn: Connection, read: Callable[[Connection], T]) -> T:
    try:
        return read(conn)
    finally:
        # A statement run through SQLAlchemy began a transaction: its snapshot must not
        # outlive this read.
        if conn.in_transaction():
            conn.rollback()


def _busy(error: OperationalError) -> bool:
    """SQLite would have waited (SQLITE_BUSY or SQLITE_LOCKED, extended codes included)."""
    code = getattr(error.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (5, 6)


def _autocommit(dbapi_connection: Any, record: Any) -> None:
    sqlite_pragmas(dbapi_connection, record)
    # No transaction of the sqlite3 module's own around reads: each sees the last commit.
    dbapi_connection.isolation_level = None


def _never_waiting(dbapi_connection: Any, record: Any) -> None:
    _autocommit(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()
