"""The hot path's writer: units of work (plain functions on a synchronous Connection), run
in the order they were submitted, and committed in groups.

SQLAlchemy's asyncio layer over aiosqlite costs several thread hops per statement, and on
a busy event loop every hop waits for the GIL; batching contacts did not help while each
batch still made dozens of hops. So on SQLite the writer keeps one connection of its own
and runs units right on the event loop's thread, in transactions that start with BEGIN
IMMEDIATE so their reads and writes see one state of the database. Only what may wait
goes to a dedicated thread: COMMIT, the disk flush, and a BEGIN that finds the database
locked (another process writing, a checkpoint), which the loop tries first without
waiting. Units used to run on that thread, but the sqlite3 module lets go of the GIL
around every statement and took it back from the busy loop each time (half of a unit's
time), and each hop back to the loop waits for a whole turn of it: the writer was the
phone channel's bottleneck. PostgreSQL runs the same functions through ``run_sync`` on
the async engine: asyncpg has no thread to hop to.

Units submitted while a transaction is being written go together into the next one, each
in a savepoint of its own: the cost of a commit (the disk flush above all) is shared by
everything that arrived meanwhile, and a unit that fails is rolled back alone while the
others stand. One transaction at a time, in submission order: a caller that submits under
its own lock has its records stored in the order of its decisions.

On SQLite a unit's savepoint is two statements on the driver's connection: SQLAlchemy's
``begin_nested`` cost about 100 us of Python per unit and a pool checkout about 40 us per
transaction, against 2 us for SQLite to run the statements, and an IVR step or a contact
is only a few units."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import BUSY_TIMEOUT_MS, sqlite_pragmas
from storage.json_text import ENGINE_JSON

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Connection], Any]

# Units in one transaction at most: enough to share a flush among a busy moment's
# submissions, few enough that one transaction never holds the database for long.
MAX_UNITS = 100


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


class Writer:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        if engine.dialect.name == "sqlite":
            # Opened and committed on the writer's thread, used between on the event loop's:
            # never by two threads at once.
            self._sqlite = create_engine(
                engine.url.set(drivername="sqlite"),
                connect_args={"timeout": 30, "check_same_thread": False},
                **ENGINE_JSON,
            )
            event.listen(self._sqlite, "connect", _own_transactions)
            event.listen(self._sqlite, "begin", _begin_immediate)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="storage-writer")
        # Opened by the writer's thread on its first transaction.
        self._connection: Connection | None = None
        # The writer's thread rolling back a failed transaction.
        self._rolling_back: Future[None] = Future()
        self._rolling_back.set_result(None)
        # Each unit with its future, and whether it must have a transaction to itself.
        self._pending: list[tuple[Work, asyncio.Future[Any], bool]] = []
        self._draining: asyncio.Task[None] | None = None

    def submit(self, work: Callable[[Connection], T], *, alone: bool = False) -> asyncio.Future[T]:
        """Queue ``work`` behind everything submitted before it. The future has its result
        once the transaction holding it is committed, or its exception (and nothing of it
        written). A caller that stops waiting does not withdraw the unit: it may already
        be written.

        ``alone``: in a transaction of its own, never grouped. For a unit that locks rows
        no other unit does (a consumer's position) before rows every unit does (a
        stream's numbers): grouped, its locks would be held across other units' writes,
        and another instance's group taking the same rows the other way round would
        deadlock with this one (PostgreSQL then fails one group whole). SQLite has no such
        order to invert (its writer holds the whole database from BEGIN IMMEDIATE), so
        there such a unit is grouped like any other."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((work, future, alone and self._sqlite is None))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain(), name="storage-writer")
        return future

    async def run(self, work: Callable[[Connection], T]) -> T:
        """``work``'s result, once its transaction is committed."""
        return await self.submit(work)

    async def _drain(self) -> None:
        batch: list[tuple[Work, asyncio.Future[Any], bool]] = []
        try:
            while self._pending:
                size = _group_size(self._pending)
                batch, self._pending = self._pending[:size], self._pending[size:]
                units = [work for work, _, _ in batch]
                try:
                    outcomes = await self._committed(units)
                except Exception as exc:
                    # Nothing of the transaction is written: every unit in it failed.
                    outcomes = [_Failed(exc)] * len(units)
                for (_, future, _), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, _Failed):
                        future.set_exception(outcome.error)
                    else:
                        future.set_result(outcome)
                batch = []
        except BaseException:
            # Stopped mid-transaction (the service shutting down): every caller still
            # waiting hears so as an error, which their undo paths handle as a failed write;
            # a cancellation would skip them.
            stopped = RuntimeError("the storage writer stopped before this was written")
            for _, future, _ in [*batch, *self._pending]:
                if not future.done():
                    future.set_exception(stopped)
            self._pending = []
            raise

    async def _committed(self, units: Sequence[Work]) -> list[Any]:
        if self._sqlite is None:
            async with self._engine.begin() as conn:
                return await conn.run_sync(_each, units, _sqlalchemy_savepoint)
        assert self._thread is not None
        loop = asyncio.get_running_loop()
        try:
            connection = self._begun_here()
            if connection is None:
                connection = await loop.run_in_executor(self._thread, self._begun)
            outcomes = _each(connection, units, _driver_savepoint)
            await loop.run_in_executor(self._thread, connection.commit)
        except BaseException:
            # A lone unit failed, the commit did, or the writer was stopped while its thread
            # was beginning or committing: whatever is still open is rolled back there,
            # behind what the thread is doing, and before any next transaction.
            self._rolling_back = self._thread.submit(self._rolled_back)
            raise
        return outcomes

    def _begun_here(self) -> Connection | None:
        """The transaction begun on the event loop's thread if the database is free at
        once (it is but for another process writing, or a checkpoint); None if it would
        wait, which the writer's thread then does. A hop there cost a whole turn of a busy
        loop to come back: with the commit's, most of a transaction's time."""
        if self._connection is None or not self._rolling_back.done():
            # Opened there, or a rollback is still to run there: the begin goes behind it.
            return None
        driver = self._connection.connection.driver_connection
        assert driver is not None
        driver.execute("PRAGMA busy_timeout=0")
        try:
            driver.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
            return None
        finally:
            driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # SQLAlchemy's record of it (_begin_immediate sees the driver's transaction open).
        self._connection.begin()
        return self._connection

    def _begun(self) -> Connection:
        assert self._sqlite is not None
        if self._connection is None:
            self._connection = self._sqlite.connect()
        self._connection.begin()
        return self._connection

    def _rolled_back(self) -> None:
        if self._connection is not None and self._connection.in_transaction():
            self._connection.rollback()

    async def close(self) -> None:
        """Once everything submitted is written, the connection closed."""
        while self._draining is not None and not self._draining.done():
            await asyncio.wait([self._draining])
        if self._sqlite is not None and self._thread is not None:
            # SQLite connections may only be closed by the thread that opened them.
            await asyncio.get_running_loop().run_in_executor(self._thread, self._dispose)
            self._thread.shutdown(wait=True)

    def _dispose(self) -> None:
        assert self._sqlite is not None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self._sqlite.dispose()


def _group_size(pending: Sequence[tuple[Work, asyncio.Future[Any], bool]]) -> int:
    """How many of the first pending units go into the next transaction: a unit that must
    be alone goes by itself, and a group stops before one."""
    if pending[0][2]:
        return 1
    alone = next((n for n, (_, _, by_itself) in enumerate(pending) if by_itself), len(pending))
    return min(alone, MAX_UNITS)


def _each(conn: Connection, units: Sequence[Work], unit: Callable[[Connection, Work], Any]) -> list[Any]:
    """Every unit's result, or its failure with its own writes rolled back (``unit`` runs
    one in a savepoint). A lone unit needs no savepoint: its failure rolls back the
    transaction, which is only its own."""
    if len(units) == 1:
        return [units[0](conn)]
    outcomes: list[Any] = []
    for work in units:
        try:
            outcomes.append(unit(conn, work))
        except Exception as exc:
            log.debug("a unit failed alone in a transaction of %d: %r", len(units), exc)
            outcomes.append(_Failed(exc))
    return outcomes


def _sqlalchemy_savepoint(conn: Connection, work: Work) -> Any:
    with conn.begin_nested():
        return work(conn)


def _driver_savepoint(conn: Connection, work: Work) -> Any:
    """``work`` in a savepoint SQLAlchemy does not track: nothing of SQLAlchemy's runs
    between units (the driver's errors inside ``work`` still reach it as SQLAlchemy's)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute("SAVEPOINT unit")
    try:
        result = work(conn)
    except BaseException:
        driver.execute("ROLLBACK TO unit")
        driver.execute("RELEASE unit")
        raise
    driver.execute("RELEASE unit")
    return result


def _own_transactions(dbapi_connection: Any, record: Any) -> None:
    sqlite_pragmas(dbapi_connection, record)
    # The sqlite3 module would open transactions on its own, deferred and only before
    # writes; SQLAlchemy's "begin" event below opens them instead.
    dbapi_connection.isolation_level = None


def _begin_immediate(conn: Connection) -> None:
    driver = conn.connection.driver_connection
    if driver is None or not driver.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
