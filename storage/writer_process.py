"""SQLite's writer process: units of work run one after another in a child process, on its
own connection, each in one transaction started with BEGIN IMMEDIATE.

Why a process: the event loop and a writer thread share one GIL. Under load a contact's
Python work on the loop (HTTP, signature, parsing) and in the writer (deciding threads,
building rows, SQLAlchemy's parameter processing) ran one after the other, and the
service never used more than one core. In a child the writer's work runs beside the
loop; a batch crosses the pipe pickled (a few microseconds a contact).

A unit of work is a module-level function (pickled by name) taking a synchronous
Connection and picklable arguments. Units are sent as soon as they are submitted, so the
child starts the next one the moment it has committed the last, whatever the event loop
is busy with. The child answers each unit twice: once its statements have run (the
result, which the parent may announce while the commit is under way), then once it is
committed; or once, with the exception, if it failed. A reader thread takes the answers
in order and settles the submitters' futures on their loop."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import multiprocessing
import pickle
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from storage.database import sqlite_pragmas

log = logging.getLogger(__name__)

Work = Callable[..., Any]
# How long a child is given to finish its units and leave before it is terminated.
_STOP_SECONDS = 10.0


class WriterGone(RuntimeError):
    """The writer process died or could not be reached: the unit may or may not have been
    committed (callers' retries are idempotent), and the next unit starts a new process."""


@dataclass
class _Unit:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    ran: Callable[[Any], None] | None
    result: Any = None


class WriterProcess:
    """The parent's handle; ``submit`` and ``stop`` are called on the event loop."""

    def __init__(self, url: str, child_init: Callable[[], None] | None = None, preload: tuple[str, ...] = ()) -> None:
        self._url = url
        self._child_init = child_init
        self._preload = preload
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pipe: Pipe | None = None
        self._reader: threading.Thread | None = None
        # Units sent and not yet answered, oldest first: the child answers in order.
        self._waiting: collections.deque[_Unit] = collections.deque()

    def submit(self, work: Work, args: tuple[Any, ...], ran: Callable[[Any], None] | None) -> asyncio.Future[Any]:
        """``work(conn, *args)`` sent to the child: the future has its result once it is
        committed. ``ran`` is called on the loop with the result before the commit."""
        loop = asyncio.get_running_loop()
        unit = _Unit(loop, loop.create_future(), ran)
        pipe = self._started()
        self._waiting.append(unit)
        try:
            pipe.send((work, args))
        except (pickle.PicklingError, TypeError, AttributeError):
            # Nothing was written: the unit itself cannot cross to the child.
            self._waiting.remove(unit)
            raise
        except OSError as exc:
            self._waiting.remove(unit)
            self._discard()
            raise WriterGone("the storage writer process is gone") from exc
        return unit.future

    async def stop(self) -> None:
        """Let the child finish what it was sent, then stop it."""
        process, pipe, reader = self._process, self._pipe, self._reader
        self._process = self._pipe = self._reader = None
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.send(None)
        if reader is not None:
            await asyncio.to_thread(reader.join)
        if pipe is not None:
            pipe.close()
        if process is not None:
            await asyncio.to_thread(_join, process)

    def _discard(self) -> None:
        """Forget a child that is gone: its end of the pipe closed, which only its exit
        does (its fork server reaps it)."""
        pipe, self._process, self._pipe, self._reader = self._pipe, None, None, None
        if pipe is not None:
            pipe.close()

    def _started(self) -> Pipe:
        # The reader stops when the pipe closes, which it does the moment the child dies:
        # a surer sign than the process's own state, which its fork server reports late.
        if self._pipe is not None and self._reader is not None and self._reader.is_alive():
            return self._pipe
        self._discard()
        context = _context(self._preload)
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve, args=(self._url, theirs, self._child_init), name="storage-writer", daemon=True
        )
        process.start()
        theirs.close()
        reader = threading.Thread(target=self._read, args=(ours,), name="storage-writer-reader", daemon=True)
        self._process, self._pipe, self._reader = process, ours, reader
        reader.start()
        return ours

    def _read(self, pipe: Pipe) -> None:
        """The reader thread: answers in order, each settling the oldest unit, until the
        child stops or dies; a dead child fails every unit still waiting."""
        while True:
            try:
                kind, value = pipe.recv()
            except (EOFError, OSError):
                break
            unit = self._waiting[0]
            if kind == "ran":
                unit.result = value
                if unit.ran is not None:
                    _on_loop(unit.loop, unit.ran, value)
                continue
            self._waiting.popleft()
            if kind == "failed":
                _on_loop(unit.loop, _settle, unit.future, None, value)
            else:
                _on_loop(unit.loop, _settle, unit.future, unit.result, None)
        while self._waiting:
            unit = self._waiting.popleft()
            _on_loop(unit.loop, _settle, unit.future, None, WriterGone("the storage writer process is gone"))


def _on_loop(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> None:
    # A loop closed meanwhile has nobody left waiting on it.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, *args)


@functools.cache
def _context(preload: tuple[str, ...]) -> multiprocessing.context.ForkServerContext:
    """Children forked from a fork server: not from this process, whose threads (aiosqlite's,
    the reader) hold locks a fork would copy mid-use, and not spawned afresh, which costs
    every new writer its imports again. The server starts once, with this module and the
    units' modules (``preload``) already imported."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["storage.writer_process", *preload])
    return context


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _join(process: multiprocessing.process.BaseProcess) -> None:
    process.join(_STOP_SECONDS)
    if process.is_alive():
        log.warning("the storage writer process did not stop; terminating it")
        process.terminate()
        process.join(_STOP_SECONDS)


def serve(url: str, pipe: Pipe, child_init: Callable[[], None] | None) -> None:
    """The child: units from the pipe until it is told to stop or the parent is gone (the
    pipe closes when the parent dies, even by SIGKILL)."""
    if child_init is not None:
        child_init()
    engine = create_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _own_transactions)
    event.listen(engine, "begin", _begin_immediate)
    try:
        while True:
            try:
                unit = pipe.recv()
            except EOFError:
                return
            if unit is None:
                return
            _run(engine, pipe, *unit)
    finally:
        engine.dispose()


def _run(engine: Engine, pipe: Pipe, work: Work, args: tuple[Any, ...]) -> None:
    try:
        with engine.begin() as conn:
            result = work(conn, *args)
            pipe.send(("ran", result))
    except Exception as exc:
        _send_failure(pipe, exc)
    else:
        pipe.send(("committed", None))


def _send_failure(pipe: Pipe, exc: Exception) -> None:
    # The traceback does not cross the pipe; a note carries it to the parent's logs.
    exc.add_note("in the storage writer process:\n" + "".join(traceback.format_exception(exc)))
    try:
        pipe.send(("failed", exc))
    except (pickle.PicklingError, TypeError, AttributeError):
        pipe.send(("failed", RuntimeError(f"{type(exc).__name__}: {exc}")))


def _own_transactions(dbapi_connection: Any, record: Any) -> None:
    sqlite_pragmas(dbapi_connection, record)
    # The sqlite3 module would open transactions on its own, deferred and only before
    # writes; SQLAlchemy's "begin" event below opens them instead.
    dbapi_connection.isolation_level = None


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
