"""The hot path's writer: units of work (plain functions on a synchronous Connection), each
in one transaction, one after another.

SQLAlchemy's asyncio layer over aiosqlite costs several thread hops per statement, and on
a busy event loop every hop waits for the GIL; batching contacts did not help while each
batch still made dozens of hops. So for SQLite a unit of work runs whole on one dedicated
thread with its own connection (one hop per unit), starting with BEGIN IMMEDIATE so its
reads and writes see one state of the database. PostgreSQL runs the same function through
``run_sync`` on the async engine: asyncpg has no thread to hop to."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import sqlite_pragmas

T = TypeVar("T")


class Writer:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        if engine.dialect.name == "sqlite":
            self._sqlite = create_engine(engine.url.set(drivername="sqlite"), connect_args={"timeout": 30})
            event.listen(self._sqlite, "connect", _own_transactions)
            event.listen(self._sqlite, "begin", _begin_immediate)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="storage-writer")

    async def run(self, work: Callable[[Connection], T]) -> T:
        """``work``'s result, once its transaction is committed; its exception (and
        nothing written) otherwise."""
        if self._sqlite is None:
            async with self._engine.begin() as conn:
                return await conn.run_sync(work)
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._in_transaction, work)

    def _in_transaction(self, work: Callable[[Connection], T]) -> T:
        assert self._sqlite is not None
        with self._sqlite.begin() as conn:
            return work(conn)

    async def close(self) -> None:
        if self._sqlite is not None and self._thread is not None:
            # SQLite connections may only be closed by the thread that opened them.
            await asyncio.get_running_loop().run_in_executor(self._thread, self._sqlite.dispose)
            self._thread.shutdown(wait=True)


def _own_transactions(dbapi_connection: Any, record: Any) -> None:
    sqlite_pragmas(dbapi_connection, record)
    # The sqlite3 module would open transactions on its own, deferred and only before
    # writes; SQLAlchemy's "begin" event below opens them instead.
    dbapi_connection.isolation_level = None


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
