"""The hot path's writer: units of work, each in one transaction, one after another.

A unit of work is a module-level function taking a synchronous Connection, and its
arguments. On SQLite the units run in a writer process (storage/writer_process.py) with its
own connection: one hop a unit, and its Python work off the event loop's GIL. SQLAlchemy's
asyncio layer over aiosqlite cost several thread hops per statement, each waiting for the
GIL on a busy loop, and a writer thread in this process still ran its Python work one
after the loop's. PostgreSQL runs the same function through ``run_sync`` on the async
engine: asyncpg has no thread to hop to, and the database works in its own processes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.writer_process import WriterProcess

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class Writer:
    def __init__(
        self, engine: AsyncEngine, child_init: Callable[[], None] | None = None, preload: tuple[str, ...] = ()
    ) -> None:
        """``child_init`` (picklable) is called first in the writer process: logging set up
        as in this one, say. ``preload`` names the modules the units come from, imported
        once for every writer process."""
        self._engine = engine
        self._process: WriterProcess | None = None
        if engine.dialect.name == "sqlite":
            self._process = WriterProcess(str(engine.url.set(drivername="sqlite")), child_init, preload)

    @property
    def serial(self) -> bool:
        """Units run one after another in the order submitted: one submitted while another
        runs waits its turn (and sees what the other wrote) instead of running beside it."""
        return self._process is not None

    async def run(
        self,
        work: Callable[[Connection, *Ts], T],
        *args: *Ts,
        before_commit: Callable[[T], None] | None = None,
    ) -> T:
        """``work(conn, *args)``'s result, once its transaction is committed; its exception
        (and nothing written) otherwise. ``before_commit`` is called on the event loop with
        the result once ``work`` is done, while the commit (the disk flush) is still under
        way: for what may go out before it, as long as nothing can act on it until it is
        committed."""
        if self._process is None:
            async with self._engine.begin() as conn:
                done = await conn.run_sync(work, *args)
                if before_commit is not None:
                    before_commit(done)
                return done
        committed: T = await self._process.submit(work, args, before_commit)
        return committed

    async def close(self) -> None:
        if self._process is not None:
            await self._process.stop()
