"""Group commit: items that arrive while one batch is being written go together into the
next, so the cost of a transaction (statements, the disk flush) is shared by every
contact that arrived meanwhile. An idle system writes batches of one at once; a busy one
writes bigger batches instead of a longer queue of small ones."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

# Large enough to amortize a transaction, small enough that one batch never holds the
# database (and the routing step after it) for long.
MAX_BATCH = 200
# How long a writer waits for a batch to fill when the last one was bigger than what is
# pending: under load, senders answered together come back together, and one flush for
# all of them beats one for the first and another for the rest. Idle, it never waits.
LINGER_SECONDS = 0.002


class GroupCommit(Generic[Item, Result]):
    """``write`` takes a batch and returns one result per item, in order, once they are
    committed; ``after`` then gets those results, once their callers have them (for work
    the callers need not wait for). When a batch fails, its items are written one by one,
    so a bad item fails alone whatever it raises, and only its caller gets the error;
    only a failure ``whole_batch`` names as one no item could cause (the database gone)
    fails the whole batch at once, rather than once for every item."""

    def __init__(
        self,
        write: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        after: Callable[[Sequence[Result]], Awaitable[None]] | None = None,
        whole_batch: Callable[[Exception], bool] = lambda exc: False,
    ) -> None:
        self._write = write
        self._after = after
        self._whole_batch = whole_batch
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._expected = 1
        self._filled: asyncio.Event | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._filled is not None and len(self._pending) >= self._expected:
            self._filled.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        # A caller that gives up waiting cancels only its future, not its item: the item
        # may already be committed, and the sender will retry into an idempotent intake
        # anyway. (No shield: it would cost every caller one more turn of the loop.)
        return await future

    async def close(self) -> None:
        """Wait until everything submitted is written."""
        if self._writer is not None:
            await self._writer

    async def _drain(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        try:
            while self._pending:
                await self._linger()
                self._expected = min(len(self._pending), MAX_BATCH)
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                results = await self._written(batch)
                if self._after is not None and results:
                    try:
                        await self._after(results)
                    except Exception:
                        # Committed and answered: a failure here must not stop the writer.
                        log.exception("after a batch of %d", len(results))
        except BaseException:
            # Torn down mid-batch: nobody is left waiting for an answer that cannot come.
            for _, future in [*batch, *self._pending]:
                future.cancel()
            self._pending = []
            raise

    async def _written(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> list[Result]:
        """The batch written, each caller answered; the results of the items written."""
        try:
            results = list(await self._write([item for item, _ in batch]))
        except Exception as exc:
            if len(batch) == 1 or self._whole_batch(exc):
                for _, future in batch:
                    _settle(future, exc)
                return []
            log.warning("a batch of %d failed (%r); writing its items one by one", len(batch), exc)
            return await self._one_by_one(batch)
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result)
        return results

    async def _one_by_one(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> list[Result]:
        written = []
        for n, (item, future) in enumerate(batch):
            try:
                (result,) = await self._write([item])
            except Exception as exc:
                if self._whole_batch(exc):
                    # Gone meanwhile: the rest would only fail the same way, one at a time.
                    for _, rest in batch[n:]:
                        _settle(rest, exc)
                    break
                _settle(future, exc)
            else:
                _settle(future, result)
                written.append(result)
        return written

    async def _linger(self) -> None:
        if len(self._pending) >= self._expected:
            return
        self._filled = asyncio.Event()
        try:
            async with asyncio.timeout(LINGER_SECONDS):
                await self._filled.wait()
        except TimeoutError:
            pass
        finally:
            self._filled = None


def _settle(future: asyncio.Future[Result], outcome: Result | Exception) -> None:
    if future.done():
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
