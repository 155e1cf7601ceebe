"""The queues' day counts: counted from the event log by a consumer that writes its counts
and its position in one transaction, so every event counts exactly once, whatever
crashes, however many instances read, and the figures survive a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from interaction_center import wire
from interaction_center.dispatch.consumer import ExactlyOnceConsumer
from interaction_center.dispatch.statistics import COUNTED, counter, start_of_day
from interaction_center.domain.errors import StaleState
from interaction_center.domain.model import SYSTEM, Actor, ActorKind
from interaction_center.domain.stamps import new_id, utcnow
from interaction_center.settings.model import Settings
from routing import QueueStats
from storage import events, tallies
from storage import intake_rows as rows
from storage.database import create_engine, session_factory
from storage.events import LoggedEvent
from storage.interactions import event_row, waiting_facts
from storage.tallies import Tally
from storage.writer import Writer
from tests.support import (
    AppFactory,
    Client,
    accept_first,
    agent_id,
    counted,
    login,
    post_sms,
    queue_figures,
    set_status,
    sms_form,
)

AGENT = Actor(ActorKind.AGENT, None)


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url)
    yield engine
    await engine.dispose()


def _interaction(conn: Connection, now: datetime) -> str:
    customer_id, interaction_id = new_id(), new_id()
    rows.add_customers(conn, [(customer_id, "chat", customer_id, "")], now)
    interaction = {
        "id": interaction_id, "customer_id": customer_id, "channel": "chat", "state": "completed",
        "queue": "support", "thread_key": interaction_id, "created_at": now, "updated_at": now,
    }  # fmt: skip
    rows.insert_all(conn, [interaction], (), ())
    return interaction_id


def _waited(enqueued: datetime, target_seconds: float | None) -> dict[str, Any]:
    deadline = None if target_seconds is None else enqueued + timedelta(seconds=target_seconds)
    return waiting_facts("support", "chat", enqueued, deadline)


async def _write(engine: AsyncEngine, write: Callable[[Connection, datetime], None]) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(write, start_of_day(utcnow()) + timedelta(minutes=1))


async def _today(engine: AsyncEngine) -> Tally:
    async with session_factory(engine)() as session:
        counted = await tallies.since(session, start_of_day(utcnow()))
    return counted.get(("support", "chat"), Tally())


# The default threshold: a customer who left within 5 s is a short abandon.
COUNT = counter(5.0)


def _consumer(
    writer: Writer, apply: Callable[[Connection, Sequence[LoggedEvent]], None] = COUNT
) -> ExactlyOnceConsumer:
    return ExactlyOnceConsumer("statistics", events.INTERACTIONS, COUNTED, writer, apply, from_head=False)


async def _drain(consumer: ExactlyOnceConsumer) -> None:
    while await consumer.step():
        pass


async def test_the_day_counts_answers_their_speed_abandons_breaches_and_the_service_level(engine: AsyncEngine) -> None:
    def history(conn: Connection, t0: datetime) -> None:
        written: list[dict[str, Any]] = []
        for answered_after in (5, 15, 40):  # the last after its 20 s target
            iid = _interaction(conn, t0)
            at = t0 + timedelta(seconds=answered_after)
            written.append(event_row(iid, "accepted", AGENT, _waited(t0, 20), at))
        for left_after in (2, 10, 30):  # a short abandon, before and after the target
            iid = _interaction(conn, t0)
            written.append(event_row(iid, "abandoned", SYSTEM, _waited(t0, 20), t0 + timedelta(seconds=left_after)))
        moved = _interaction(conn, t0)  # answered, transferred, answered again: answered once
        written.append(event_row(moved, "accepted", AGENT, _waited(t0, None), t0))
        written.append(event_row(moved, "transferred", AGENT, {"queue": "support"}, t0))
        written.append(event_row(moved, "accepted", AGENT, _waited(t0, None), t0 + timedelta(seconds=100)))
        breach = {"queue": "support", "channel": "chat"}
        written.append(event_row(moved, "sla_breached", SYSTEM, breach, t0))
        written.append(event_row(moved, "first_response_breached", SYSTEM, breach, t0))
        written.append(event_row(moved, "accepted", AGENT, {"offer_id": "from before queues were logged"}, t0))
        rows.insert_all(conn, (), (), written)

    await _write(engine, history)
    writer = Writer(engine)
    try:
        await _drain(_consumer(writer))
    finally:
        await writer.close()
    day = await _today(engine)
    assert (day.answered, day.answered_within_target, day.abandoned, day.abandoned_after_target) == (4, 3, 2, 1)
    assert day.short_abandoned == 1
    assert (day.sla_breaches, day.first_response_breaches) == (1, 1)
    assert day.average_speed_of_answer_seconds == pytest.approx((5 + 15 + 40 + 0) / 4)
    # 3 answered within the target / (4 answered + 1 abandoned after the target); the short
    # abandon is in neither.
    assert day.service_level == pytest.approx(3 / 5)


def _answers(count_: int) -> Callable[[Connection, datetime], None]:
    def write(conn: Connection, t0: datetime) -> None:
        answers = [event_row(_interaction(conn, t0), "accepted", AGENT, _waited(t0, 60), t0) for _ in range(count_)]
        rows.insert_all(conn, (), (), answers)

    return write


async def test_a_reader_that_fails_after_counting_counts_nothing_and_the_next_counts_each_event_once(
    engine: AsyncEngine,
) -> None:
    await _write(engine, _answers(30))

    def count_then_die(conn: Connection, read: Sequence[LoggedEvent]) -> None:
        COUNT(conn, read)
        raise RuntimeError("killed after counting, before its position moved")

    writer = Writer(engine)
    try:
        with pytest.raises(RuntimeError, match="killed"):
            await _consumer(writer, count_then_die).step()
        assert (await _today(engine)).answered == 0
        await _drain(_consumer(writer))
        await _drain(_consumer(writer))  # a restarted reader resumes from the position: nothing again
    finally:
        await writer.close()
    assert (await _today(engine)).answered == 30


async def test_two_instances_reading_the_same_log_count_each_event_once(engine: AsyncEngine) -> None:
    """Each with its own writer, as two processes would be: when both read the same events,
    the second to commit finds the position moved and is rolled back."""
    await _write(engine, _answers(600))
    writers = [Writer(engine), Writer(engine)]

    async def read_all(consumer: ExactlyOnceConsumer) -> None:
        while True:
            try:
                if not await consumer.step():
                    return
            except StaleState:
                continue  # the other got there first: read again from where it got to

    try:
        await asyncio.gather(*(read_all(_consumer(writer)) for writer in writers))
    finally:
        for writer in writers:
            await writer.close()
    assert (await _today(engine)).answered == 600


async def test_the_days_counts_survive_a_restart(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory()
    client = await app_factory(settings)
    alice, sam = await login(client, "alice"), await login(client, "sam")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    await accept_first(client, alice)

    await counted(client)
    before = await queue_figures(client, sam, "support", "sms")
    assert before["answered"] == 1
    await client.close()

    client = await app_factory(settings)
    after = await queue_figures(client, await login(client, "sam"), "support", "sms")
    assert {k: after[k] for k in ("answered", "answered_within_target", "average_speed_of_answer_seconds")} == {
        k: before[k] for k in ("answered", "answered_within_target", "average_speed_of_answer_seconds")
    }


def test_intervals_start_on_the_quarter_hour() -> None:
    moment = datetime(2026, 12, 6, 23, 59, 59, 999_999, tzinfo=UTC)
    assert tallies.interval_of(moment) == datetime(2026, 12, 6, 23, 45, tzinfo=UTC)
    assert tallies.interval_of(datetime(2026, 12, 7, 0, 0, tzinfo=UTC)) == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    assert start_of_day(moment) == datetime(2026, 12, 6, tzinfo=UTC)

    # The centre's own midnight: in New York (UTC-5 in December) the day began at 05:00 UTC,
    # and a moment just after UTC midnight is still the evening before there.
    new_york = ZoneInfo("America/New_York")
    assert start_of_day(moment, new_york) == datetime(2026, 12, 6, 5, tzinfo=UTC)
    assert start_of_day(datetime(2026, 12, 7, 1, tzinfo=UTC), new_york) == datetime(2026, 12, 6, 5, tzinfo=UTC)
    # Whole quarter hours: a local day is a sum of whole tally intervals (Kathmandu: +05:45).
    kathmandu = start_of_day(moment, ZoneInfo("Asia/Kathmandu"))
    assert tallies.interval_of(kathmandu) == kathmandu


async def test_an_interaction_transferred_and_accepted_again_is_answered_once(client: Client) -> None:
    alice, bob, sam = await login(client, "alice"), await login(client, "bob"), await login(client, "sam")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    taken = await accept_first(client, alice)
    moved = await client.post(
        f"/api/v1/interactions/{taken['id']}/transfer", json={"agent_id": await agent_id(client, bob)}, headers=alice
    )
    assert moved.status == 200, await moved.text()
    await set_status(client, bob, "available")
    assert (await accept_first(client, bob))["id"] == taken["id"]

    await counted(client)
    assert (await queue_figures(client, sam, "support", "sms"))["answered"] == 1


async def test_two_instances_counting_while_both_write_events_count_each_event_once(engine: AsyncEngine) -> None:
    """Counts and writes submitted together on two instances, in turns that take the
    position's lock and the stream's numbers in both orders: every count is made once
    (each count runs in a transaction of its own: see ``Writer.submit(alone=True)``)."""
    writers = [Writer(engine), Writer(engine)]
    consumers = [_consumer(writer) for writer in writers]
    rounds, per_round = 20, 5
    answer = _answers(1)
    t0 = start_of_day(utcnow()) + timedelta(minutes=1)

    async def instance(writer: Writer, consumer: ExactlyOnceConsumer, count_first: bool) -> None:
        """Each round, a count and some events submitted together: the first instance's
        count ahead of its writes, the second's behind them."""
        for _ in range(rounds):
            counting = asyncio.ensure_future(consumer.step()) if count_first else None
            await asyncio.sleep(0)  # the count's read is submitted as its task starts
            writing = [writer.submit(lambda conn: answer(conn, t0)) for _ in range(per_round)]
            await asyncio.gather(counting or consumer.step(), *writing)

    try:
        await asyncio.gather(*(instance(w, c, n == 0) for n, (w, c) in enumerate(zip(writers, consumers, strict=True))))
        await _drain(consumers[0])
    finally:
        for writer in writers:
            await writer.close()
    assert (await _today(engine)).answered == 2 * rounds * per_round


def test_a_queue_with_counts_today_and_nothing_live_is_still_listed_with_its_target() -> None:
    live = [QueueStats("support", "sms", 2, 5.0, {"available": 1}, 0.5)]
    today = {("support", "sms"): Tally(answered=3, answer_seconds=6.0), ("retired", "email"): Tally(abandoned=1)}
    body = wire.queues(live, today, {("support", "sms"): 60})["queues"]
    assert [
        (q["queue"], q["channel"], q["waiting"], q["answered"], q["abandoned"], q["answer_target_seconds"])
        for q in body
    ] == [
        ("support", "sms", 2, 3, 0, 60),
        ("retired", "email", 0, 0, 1, None),
    ]
    assert body[0]["average_speed_of_answer_seconds"] == 2.0
