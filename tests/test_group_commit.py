"""Group commit: what arrives together is written together, each caller gets its own
result, and one bad item fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from interaction_center.intake.group_commit import MAX_BATCH, GroupCommit


class Store:
    """A write function that records its batches; items named "bad" make a batch fail."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def write(self, items: Sequence[str]) -> list[str]:
        await self.gate.wait()
        if "bad" in items:
            raise ValueError("bad item")
        self.batches.append(list(items))
        return [item.upper() for item in items]


async def test_items_submitted_together_are_written_in_one_batch() -> None:
    store = Store()
    commit: GroupCommit[str, str] = GroupCommit(store.write)
    results = await asyncio.gather(*(commit.submit(f"c{n}") for n in range(20)))
    assert results == [f"C{n}" for n in range(20)]
    assert store.batches == [[f"c{n}" for n in range(20)]]


async def test_items_that_arrive_while_a_batch_is_written_go_together_into_the_next() -> None:
    store = Store()
    store.gate.clear()
    commit: GroupCommit[str, str] = GroupCommit(store.write)
    first = asyncio.create_task(commit.submit("a"))
    await asyncio.sleep(0.01)
    rest = [asyncio.create_task(commit.submit(name)) for name in ("b", "c", "d")]
    await asyncio.sleep(0)
    store.gate.set()
    assert await asyncio.gather(first, *rest) == ["A", "B", "C", "D"]
    assert store.batches == [["a"], ["b", "c", "d"]]


async def test_an_idle_writer_writes_each_item_at_once() -> None:
    store = Store()
    commit: GroupCommit[str, str] = GroupCommit(store.write)
    for name in ("a", "b", "c"):
        assert await commit.submit(name) == name.upper()
    assert store.batches == [["a"], ["b"], ["c"]]


async def test_a_bad_item_fails_alone_and_the_rest_of_its_batch_is_written() -> None:
    store = Store()
    commit: GroupCommit[str, str] = GroupCommit(store.write)
    results = await asyncio.gather(*(commit.submit(n) for n in ("a", "bad", "c")), return_exceptions=True)
    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], ValueError)
    assert store.batches == [["a"], ["c"]]


@pytest.mark.parametrize(
    "error", [UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates"), RecursionError(), KeyError()]
)
async def test_a_bad_item_fails_alone_whatever_it_raises(error: Exception) -> None:
    async def write(items: Sequence[str]) -> list[str]:
        if "bad" in items:
            raise error
        return [item.upper() for item in items]

    commit: GroupCommit[str, str] = GroupCommit(write, whole_batch=lambda exc: isinstance(exc, ConnectionError))
    names = [f"c{n}" for n in range(50)]
    names.insert(25, "bad")
    results = await asyncio.gather(*(commit.submit(n) for n in names), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == [error]
    assert [r for r in results if not isinstance(r, BaseException)] == [n.upper() for n in names if n != "bad"]


async def test_the_database_gone_while_items_are_written_one_by_one_fails_the_rest_at_once() -> None:
    calls: list[list[str]] = []

    async def write(items: Sequence[str]) -> list[str]:
        calls.append(list(items))
        raise ValueError("bad") if len(calls) == 1 else ConnectionError("database gone")

    commit: GroupCommit[str, str] = GroupCommit(write, whole_batch=lambda exc: isinstance(exc, ConnectionError))
    results = await asyncio.gather(*(commit.submit(n) for n in ("a", "b", "c")), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert calls == [["a", "b", "c"], ["a"]]


async def test_batches_are_bounded() -> None:
    store = Store()
    commit: GroupCommit[str, str] = GroupCommit(store.write)
    count = MAX_BATCH * 2 + 5
    await asyncio.gather(*(commit.submit(str(n)) for n in range(count)))
    assert max(len(batch) for batch in store.batches) == MAX_BATCH
    assert [item for batch in store.batches for item in batch] == [str(n) for n in range(count)]


async def test_close_waits_until_everything_submitted_is_written() -> None:
    store = Store()
    store.gate.clear()
    commit: GroupCommit[str, str] = GroupCommit(store.write)
    pending = [asyncio.create_task(commit.submit(n)) for n in ("a", "b")]
    await asyncio.sleep(0)
    closing = asyncio.create_task(commit.close())
    await asyncio.sleep(0.01)
    assert not closing.done()
    store.gate.set()
    await closing
    assert [task.result() for task in pending] == ["A", "B"]


async def test_a_caller_that_stops_waiting_does_not_stop_its_item_from_being_written() -> None:
    store = Store()
    store.gate.clear()
    commit: GroupCommit[str, str] = GroupCommit(store.write)
    impatient = asyncio.create_task(commit.submit("a"))
    await asyncio.sleep(0)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    store.gate.set()
    await commit.close()
    assert store.batches == [["a"]]


async def test_a_failure_no_item_could_cause_fails_the_whole_batch_at_once() -> None:
    calls: list[list[str]] = []

    async def write(items: Sequence[str]) -> list[str]:
        calls.append(list(items))
        raise ConnectionError("database gone")

    commit: GroupCommit[str, str] = GroupCommit(write, whole_batch=lambda exc: isinstance(exc, ConnectionError))
    results = await asyncio.gather(*(commit.submit(n) for n in ("a", "b", "c")), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert calls == [["a", "b", "c"]]


async def test_after_gets_the_results_and_the_callers_do_not_wait_for_it() -> None:
    store = Store()
    seen: list[list[str]] = []
    release = asyncio.Event()

    async def after(results: Sequence[str]) -> None:
        seen.append(list(results))
        await release.wait()

    commit: GroupCommit[str, str] = GroupCommit(store.write, after=after)
    async with asyncio.timeout(5):
        # Answered while ``after`` still waits.
        # A list at run time; typeshed types a gather of two awaitables as a tuple.
        assert list(await asyncio.gather(commit.submit("a"), commit.submit("b"))) == ["A", "B"]
    release.set()
    await commit.close()
    assert seen == [["A", "B"]]


async def test_a_writer_torn_down_mid_batch_leaves_nobody_waiting() -> None:
    store = Store()
    store.gate.clear()
    commit: GroupCommit[str, str] = GroupCommit(store.write)
    callers = [asyncio.create_task(commit.submit(n)) for n in ("a", "b")]
    await asyncio.sleep(0.01)
    assert commit._writer is not None
    commit._writer.cancel()
    done, _ = await asyncio.wait(callers, timeout=1)
    assert done == set(callers) and all(task.cancelled() for task in callers)
