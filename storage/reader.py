"""Reads for webhooks that must answer fast (the phone channel's): plain functions on a
synchronous Connection, run whole in one hop.

Through the asyncio layer over aiosqlite a read costs a thread hop per step (checkout,
cursor, execute, fetch, rollback), each waiting for the GIL on a busy event loop, and an
ORM ``Session.get`` adds its identity map and object loading on top. So on SQLite a read
runs on one thread of its own with its own connection, outside any transaction (WAL: it
sees the last commit, and never waits for the writer), its statements ``Prepared``.
PostgreSQL runs the same functions through ``run_sync`` on the async engine.

Nothing is kept between reads: what a read returns is what storage held at that moment."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import sqlite_pragmas

T = TypeVar("T")


class Reader:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        if engine.dialect.name == "sqlite":
            self._sqlite = create_engine(engine.url.set(drivername="sqlite"), connect_args={"timeout": 30})
            event.listen(self._sqlite, "connect", _autocommit)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="storage-reader")

    async def run(self, read: Callable[[Connection], T]) -> T:
        """``read``'s result: what storage holds now."""
        if self._sqlite is None:
            async with self._engine.connect() as conn:
                return await conn.run_sync(read)
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._read, read)

    def _read(self, read: Callable[[Connection], T]) -> T:
        assert self._sqlite is not None
        with self._sqlite.connect() as conn:
            try:
                return read(conn)
            finally:
                # A statement run through SQLAlchemy began a transaction: its snapshot must
                # not outlive this read.
                if conn.in_transaction():
                    conn.rollback()

    async def close(self) -> None:
        if self._sqlite is not None and self._thread is not None:
            # SQLite connections may only be closed by the thread that opened them.
            await asyncio.get_running_loop().run_in_executor(self._thread, self._sqlite.dispose)
            self._thread.shutdown(wait=True)


def _autocommit(dbapi_connection: Any, record: Any) -> None:
    sqlite_pragmas(dbapi_connection, record)
    # No transaction of the sqlite3 module's own around reads: each sees the last commit.
    dbapi_connection.isolation_level = None
