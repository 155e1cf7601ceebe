"""The event log and its consumers: the sender's answer never waits for routing; a
consumer killed mid-stream resumes where it got to, losing nothing and doing nothing
twice; a batch that fails is tried again until it goes through."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncEngine

from interaction_center.dispatch import consumer as consumer_module
from interaction_center.dispatch.consumer import LogConsumer
from interaction_center.domain.model import SYSTEM
from interaction_center.domain.stamps import new_id, utcnow
from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from storage import events
from storage import intake_rows as rows
from storage.database import create_engine
from storage.events import LoggedEvent
from storage.interactions import event_row
from storage.models import AgentEvent
from storage.writer import Writer
from tests.support import login, offered, set_status, sms_form, twilio_signature

EVENTS = 1_200
# The kind _write_events writes, which the consumers here read.
NOTES = frozenset({"note"})


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url)
    yield engine
    await engine.dispose()


def _write_events(conn: Connection, count: int = EVENTS) -> int:
    """A fresh interaction with ``count`` events; the last one's number."""
    customer_id, interaction_id = new_id(), new_id()
    now = utcnow()
    rows.add_customers(conn, [(customer_id, "chat", customer_id, "")], now)
    interaction = {
        "id": interaction_id, "customer_id": customer_id, "channel": "chat", "state": "completed",
        "queue": "support", "thread_key": interaction_id, "created_at": now, "updated_at": now,
    }  # fmt: skip
    noted = [event_row(interaction_id, "note", SYSTEM, {"n": n}, now) for n in range(count)]
    rows.insert_all(conn, [interaction], (), noted)
    return events.head(conn, events.INTERACTIONS)


def _seqs(conn: Connection, read: Sequence[LoggedEvent]) -> list[int]:
    return [event.seq for event in read]


async def test_a_consumer_killed_mid_stream_resumes_from_its_position_without_loss_or_double_effect(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed while handling its second batch: the one it had recorded is not read again,
    nothing after it is lost, and a handler idempotent by event (as routing is, which
    ignores what it holds) applies each event once."""
    monkeypatch.setattr(consumer_module, "RECORD_SECONDS", 0.0)
    writer = Writer(engine)
    applied: Counter[int] = Counter()
    handled: list[int] = []
    second_batch = asyncio.Event()
    gate = asyncio.Event()

    async def apply(seqs: list[int]) -> None:
        handled.extend(seqs)
        if len(handled) > consumer_module.BATCH:
            second_batch.set()
            # Killed here, half way through this batch's work.
            await gate.wait()
        applied.update(seq for seq in seqs if seq not in applied)

    def consumer() -> LogConsumer[list[int]]:
        return LogConsumer("counting", events.INTERACTIONS, NOTES, writer, _seqs, apply, from_head=False)

    try:
        await writer.run(_write_events)
        first = asyncio.create_task(consumer().run())
        await asyncio.wait_for(second_batch.wait(), 10)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        gate.set()
        recorded = await writer.run(lambda conn: events.position(conn, "counting"))
        assert recorded == consumer_module.BATCH
        handled.clear()
        resumed = consumer()
        while resumed.reached < EVENTS:
            await resumed.step()
    finally:
        await writer.close()
    # Resumed after what it had recorded: the killed batch again, and everything after it.
    assert handled == list(range(consumer_module.BATCH + 1, EVENTS + 1))
    assert sorted(applied) == list(range(1, EVENTS + 1))
    assert set(applied.values()) == {1}


async def test_a_failing_batch_is_retried_until_it_goes_through(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer_module, "FIRST_RETRY_SECONDS", 0.001)
    writer = Writer(engine)
    attempts: list[int] = []
    done = asyncio.Event()

    async def flaky(seqs: list[int]) -> None:
        attempts.append(seqs[0])
        if len(attempts) < 3:
            raise RuntimeError("storage away")
        if seqs[-1] == EVENTS:
            done.set()

    try:
        await writer.run(_write_events)
        task = asyncio.create_task(
            LogConsumer("flaky", events.INTERACTIONS, NOTES, writer, _seqs, flaky, from_head=False).run()
        )
        await asyncio.wait_for(done.wait(), 10)
        task.cancel()
    finally:
        await writer.close()
    # The same first batch three times, then on.
    assert attempts[:3] == [1, 1, 1] and attempts[3] == consumer_module.BATCH + 1


async def test_a_read_made_ahead_of_a_failing_batch_is_dropped_and_the_batch_read_again(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nudged while it handles a batch, a consumer reads the next one at once; when the
    batch then fails, that read goes unused: the failed batch comes again, then the rest."""
    monkeypatch.setattr(consumer_module, "FIRST_RETRY_SECONDS", 0.001)
    writer = Writer(engine)
    firsts: list[int] = []
    done = asyncio.Event()

    async def failing_once(seqs: list[int]) -> None:
        firsts.append(seqs[0])
        if len(firsts) == 1:
            consumer.wake()
            # The read made ahead lands meanwhile.
            await writer.run(lambda conn: None)
            raise RuntimeError("routing away")
        if seqs[-1] == EVENTS:
            done.set()

    consumer = LogConsumer("ahead", events.INTERACTIONS, NOTES, writer, _seqs, failing_once, from_head=False)
    try:
        await writer.run(_write_events)
        task = asyncio.create_task(consumer.run())
        await asyncio.wait_for(done.wait(), 10)
        task.cancel()
    finally:
        await writer.close()
    batch = consumer_module.BATCH
    assert firsts == [1, 1, batch + 1, 2 * batch + 1]


async def test_a_consumer_reads_only_its_kinds_and_records_its_place_past_the_others(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Notes among events of another kind: the consumer handles the notes alone, in order,
    and its recorded position moves past the last event of either kind (a reader of
    nothing but other kinds still moves on, or it would read them again forever)."""
    monkeypatch.setattr(consumer_module, "RECORD_SECONDS", 0.0)
    writer = Writer(engine)
    handled: list[int] = []

    async def note(seqs: list[int]) -> None:
        handled.extend(seqs)

    def mixed(conn: Connection) -> list[int]:
        """Two notes among three events of another kind; the notes' numbers."""
        first = _write_events(conn, 1)
        [written] = events.read(conn, events.INTERACTIONS, first - 1, 1, NOTES).events

        def others(*numbers: int) -> None:
            prompts = [event_row(written.subject, "ivr_prompt", SYSTEM, {"n": n}, utcnow()) for n in numbers]
            rows.insert_all(conn, (), (), prompts)

        others(1, 2)
        second = _write_events(conn, 1)
        others(3)
        return [first, second]

    consumer = LogConsumer("notes", events.INTERACTIONS, NOTES, writer, _seqs, note, from_head=False)
    try:
        notes = await writer.run(mixed)
        await consumer.step()
        await consumer.step()  # records where the first got to
        head = await writer.run(lambda conn: events.head(conn, events.INTERACTIONS))
        recorded = await writer.run(lambda conn: events.position(conn, "notes"))
    finally:
        await writer.close()
    assert handled == notes
    assert recorded == head == notes[-1] + 1


async def test_the_sms_200_does_not_wait_for_routing_and_the_contact_is_routed_once_it_runs(
    app_factory: Callable[[Settings], Any], settings_factory: Callable[..., Settings]
) -> None:
    client = await app_factory(settings_factory())
    services = client.app[SERVICES]
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    form = sms_form()
    headers = {"X-Twilio-Signature": twilio_signature("/twilio/sms", form)}
    async with services.dispatcher.paused():
        response = await asyncio.wait_for(
            client.post(
                "/twilio/sms",
                data=urlencode(form),
                headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
            ),
            5,
        )
        assert response.status == 200
        listed = await client.get("/api/v1/offers", headers=alice)
        assert (await listed.json())["offers"] == []
    [offer] = await offered(client, alice)
    assert offer["messages"][0]["body"] == form["Body"]


async def test_every_change_of_an_agents_state_is_an_event_of_the_agents_stream(
    app_factory: Callable[[Settings], Any], settings_factory: Callable[..., Settings]
) -> None:
    client = await app_factory(settings_factory())
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await set_status(client, alice, "away")
    async with client.app[SERVICES].sessions() as session:
        logged = (await session.scalars(select(AgentEvent).order_by(AgentEvent.seq))).all()
    changes = [(event.type, event.data["from"], event.data["to"], event.actor_kind) for event in logged]
    assert changes[-2:] == [
        ("status_changed", "offline", "available", "agent"),
        ("status_changed", "available", "away", "agent"),
    ]
    assert [event.seq for event in logged] == list(range(1, len(logged) + 1))


async def test_two_writes_woken_for_in_one_turn_are_both_read_at_once_not_at_the_next_poll(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first wake submits a read right behind the first write, which runs before the
    second write: the second wake owes another read after it. (Both once cleared one flag,
    and the second write waited for the poll: an offer's frame then came after it lapsed.)"""
    monkeypatch.setattr(consumer_module, "POLL_SECONDS", 60.0)
    writer = Writer(engine)
    handled: list[int] = []
    changed = asyncio.Event()

    async def note(seqs: list[int]) -> None:
        handled.extend(seqs)
        changed.set()

    consumer = LogConsumer("woken", events.INTERACTIONS, NOTES, writer, _seqs, note, from_head=True)
    task = asyncio.create_task(consumer.run())
    try:
        await asyncio.wait_for(changed.wait(), 5)  # its first read, of nothing: it idles
        first = writer.submit(lambda conn: _write_events(conn, 1))
        consumer.wake()
        second = writer.submit(lambda conn: _write_events(conn, 1))
        consumer.wake()
        expected = [await first, await second]
        async with asyncio.timeout(5):
            while handled != expected:
                changed.clear()
                await changed.wait()
    finally:
        task.cancel()
        await writer.close()
