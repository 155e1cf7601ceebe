"""A consumer of the event log: reads one stream in order, hands each batch on, and
records how far it got, so that it resumes there after a crash.

A ``LogConsumer`` records its position with a later read, at most every
``RECORD_SECONDS`` (a write on the path of every contact would cost it a disk flush), so
a crash replays what was handled since: delivery is at least once, and such consumers
are idempotent by event (routing ignores what it already holds). An
``ExactlyOnceConsumer`` writes its effect and its position in one transaction instead.
A batch that fails is not skipped: it is tried again, with a growing pause, until it
goes through; the failure is logged each time."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeAlias, TypeVar

from sqlalchemy import Connection

from interaction_center.domain.stamps import utcnow
from storage import events
from storage.events import LoggedEvent
from storage.writer import Writer

log = logging.getLogger(__name__)

Loaded = TypeVar("Loaded")
# What one read returns: the events, what ``load`` made of them, the position it started
# at, the last number it covered.
Read: TypeAlias = tuple[list[LoggedEvent], Loaded, int, int]

# Enough to amortize a read, few enough that one batch never holds routing long.
BATCH = 500
# How often the log is looked at without a nudge: for what other processes commit.
POLL_SECONDS = 0.5
# How much a restarted consumer may replay, at most.
RECORD_SECONDS = 0.5
FIRST_RETRY_SECONDS = 0.05
LAST_RETRY_SECONDS = 5.0


class LogConsumer(Generic[Loaded]):
    """It reads the events of ``types`` only (``events.read``), in order, and moves past
    the others. ``load`` runs in the read's transaction, on what was read (to fetch what
    the events name in the same look at the database); ``handle`` gets its result on the
    event loop.
    A consumer never seen before starts at the stream's head when ``from_head`` (its
    past is in the state it is started from) and at the beginning otherwise.

    ``durable=False``: a consumer of this process alone, whose effect dies with it (pushes
    to the sockets it holds): it starts at the head every time and records nothing, as
    every instance must read every event for its own sockets, and a position shared by
    name would be one instance's place in another's stream."""

    def __init__(
        self,
        name: str,
        stream: str,
        types: frozenset[str],
        writer: Writer,
        load: Callable[[Connection, Sequence[LoggedEvent]], Loaded],
        handle: Callable[[Loaded], Awaitable[None]],
        *,
        from_head: bool,
        durable: bool = True,
    ) -> None:
        self.name = name
        self._stream = stream
        self._types = types
        self._writer = writer
        self._load = load
        self._handle = handle
        self._from_head = from_head
        self._durable = durable
        self._woken = asyncio.Event()
        # A write was woken for that no read submitted yet comes after: read again at once.
        self._nudged = False
        # Between reads: the last one's result is in and the next is not yet submitted, so
        # a nudge may submit it (while the last batch is still being handled, too).
        self._between = False
        self._early: tuple[asyncio.Future[Read[Loaded]], int | None] | None = None
        # Read up to here (the next read starts after it); handled up to here, not yet
        # recorded: the next read records it.
        self._read_to: int | None = None
        self._reached: int | None = None
        self._recorded: int | None = None
        self._recorded_at = time.monotonic()

    @property
    def stream(self) -> str:
        return self._stream

    @property
    def reading_to(self) -> int:
        """While a batch is handled: the last number its read covered."""
        assert self._read_to is not None, "asked while no batch is handled"
        return self._read_to

    @property
    def reached(self) -> int:
        """The last event handled (its number), or where the consumer started."""
        return self._reached if self._reached is not None else self._recorded or 0

    def wake(self) -> None:
        """Something is being written to the stream: read now rather than at the next
        poll. A consumer with no read in flight submits its next one at once, even while it
        is still handling the last batch, so the writer runs it right behind that write, in
        the same transaction when it can (rather than in one of its own once the handling
        is done); its result comes only once that transaction is committed."""
        if self._between and self._early is None:
            self._early = self._submit_read()
        else:
            # A read in flight, or one submitted for an earlier write, may come before this
            # one: another is owed after it (two writes woken for in one turn of the loop
            # would otherwise share one read, the second's event left to the next poll).
            self._nudged = True
        self._woken.set()

    async def run(self) -> None:
        pause = FIRST_RETRY_SECONDS
        while True:
            try:
                handled = await self.step()
            except Exception:
                log.exception("consumer %s: batch after %s failed; again in %.2f s", self.name, self._recorded, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, LAST_RETRY_SECONDS)
                continue
            pause = FIRST_RETRY_SECONDS
            if handled < BATCH:
                await self._idle()

    async def step(self) -> int:
        """Record the position reached, read and handle the next batch; how many events
        it held."""
        early, self._early = self._early, None
        reading, record = early or self._submit_read()
        read, loaded, start, to = await reading
        # ``start`` is where the read began: the position just recorded when this is the
        # consumer's first read, or when it recorded one.
        if record is not None or self._recorded is None:
            self._recorded, self._recorded_at = record if record is not None else start, time.monotonic()
        self._read_to = to
        self._between = True
        try:
            # Handled even when empty: ``load`` may have read more than the stream (pushes).
            await self._handle(loaded)
            self._reached = to
        except BaseException:
            # Not handled: read again from there, and drop a read made past it meanwhile.
            self._read_to = self._reached
            if self._early is not None:
                self._early[0].add_done_callback(_dropped)
                self._early = None
            raise
        finally:
            self._between = False
        return len(read)

    def _submit_read(self) -> tuple[asyncio.Future[Read[Loaded]], int | None]:
        """The next read, submitted to the writer, and the position it records."""
        after, reached = self._read_to, self._reached
        due = time.monotonic() - self._recorded_at >= RECORD_SECONDS
        record = reached if self._durable and reached is not None and reached != self._recorded and due else None
        return self._writer.submit(lambda conn: self._read(conn, after, record)), record

    def _read(self, conn: Connection, after: int | None, record: int | None) -> Read[Loaded]:
        if record is not None:
            events.record_position(conn, self.name, record, utcnow())
        if after is not None:
            start = after
        else:
            start = self._stored_position(conn) if self._durable else events.head(conn, self._stream)
        page = events.read(conn, self._stream, start, BATCH, self._types)
        return page.events, self._load(conn, page.events), start, page.to

    def _stored_position(self, conn: Connection, *, lock: bool = False) -> int:
        """Where storage says the consumer is (``lock``: see ``events.position``); one never
        seen before is placed first."""
        start = events.position(conn, self.name, lock=lock)
        if start is None:
            events.place(
                conn, self.name, self._stream, events.head(conn, self._stream) if self._from_head else 0, utcnow()
            )
            start = events.position(conn, self.name, lock=lock)
            assert start is not None, "a consumer just placed has a position"
        return start

    async def _idle(self) -> None:
        if self._nudged:
            self._nudged = False
            return
        self._between = True
        try:
            async with asyncio.timeout(POLL_SECONDS):
                await self._woken.wait()
        except TimeoutError:
            pass
        finally:
            self._between = False
        self._woken.clear()


def _dropped(read: asyncio.Future[Read[Loaded]]) -> None:
    """A read nobody will use: its failure is noted here rather than as never retrieved."""
    if not read.cancelled() and read.exception() is not None:
        log.debug("a dropped read failed: %r", read.exception())


class ExactlyOnceConsumer(LogConsumer[None]):
    """A consumer whose effect is in storage: ``apply`` writes it in the read's own
    transaction, which moves the consumer's position too. So every event takes effect
    exactly once: a transaction that did not commit moved nothing. The read locks the
    position first and runs in a transaction of its own (``Writer.submit(alone=True)``):
    another instance's reader waits for it and then reads from where it got to, and no
    group of other units holds its locks meanwhile. The move is still conditional on the
    position the read started at, so a reader that did not lock fails rather than
    counting twice."""

    def __init__(
        self,
        name: str,
        stream: str,
        types: frozenset[str],
        writer: Writer,
        apply: Callable[[Connection, Sequence[LoggedEvent]], None],
        *,
        from_head: bool,
    ) -> None:
        super().__init__(name, stream, types, writer, apply, _nothing_left, from_head=from_head)

    def _submit_read(self) -> tuple[asyncio.Future[Read[None]], int | None]:
        return self._writer.submit(self._read_and_apply, alone=True), None

    def _read_and_apply(self, conn: Connection) -> Read[None]:
        start = self._stored_position(conn, lock=True)
        page = events.read(conn, self._stream, start, BATCH, self._types)
        if page.events:
            self._load(conn, page.events)
        if page.to != start:
            events.advance_position(conn, self.name, start, page.to, utcnow())
        return page.events, None, start, page.to


async def _nothing_left(_: None) -> None:
    """The effect was committed with the position: nothing is left to do on the loop."""
