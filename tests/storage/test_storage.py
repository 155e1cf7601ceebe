"""Storage on SQLite and PostgreSQL: migrations, constraints and the repositories."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.sqlite import DATETIME
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from interaction_center.domain.errors import IllegalTransition, StorageError
from interaction_center.domain.model import SYSTEM, InteractionState
from interaction_center.domain.stamps import new_id, utcnow
from interaction_center.web.keys import SERVICES
from storage import intake_rows as rows
from storage import interactions as store
from storage.database import create_engine, is_sqlite, session_factory
from storage.migrate import alembic_config, check_current
from storage.models import Base, Customer, CustomerIdentity, Interaction, Message, UTCDateTime, VoiceCall
from storage.reader import in_session
from tests.support import Client, post_sms, sms_form

# A bind processor of a datetime column: the value as handed to the driver.
Processor = Callable[[datetime | None], str | None]


@pytest.fixture
async def sessions(migrated_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(migrated_url)
    yield session_factory(engine)
    await engine.dispose()


async def _schema_diff(engine: AsyncEngine) -> list[Any]:
    """What the database's schema lacks or has beyond the models'."""
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata))


async def test_the_migrations_build_exactly_the_models_schema(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    try:
        diff = await _schema_diff(engine)
    finally:
        await engine.dispose()
    assert diff == []


async def test_every_migration_steps_down_and_up_again(migrated_url: str) -> None:
    """Each downgrade undoes its upgrade: stepping back to nothing and up again ends with
    the models' schema (a downgrade that left something behind would fail the upgrade)."""
    engine = create_engine(migrated_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "base"))
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))
        diff = await _schema_diff(engine)
    finally:
        await engine.dispose()
    assert diff == []


async def test_a_supervisor_on_a_call_across_the_upgrade_keeps_their_mode(migrated_url: str) -> None:
    """Migration 0021 gives a supervisor's leg on a call the mode of its last
    ``call_monitored`` event; a call with no supervisor on it gets none."""
    engine = create_engine(migrated_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0020"))
        sessions = session_factory(engine)
        async with sessions.begin() as session:
            for sid, thread, leg in (("CA1", "call-1", "CA1-sup"), ("CA2", "call-2", None)):
                interaction = await _interaction(session, thread, InteractionState.ASSIGNED)
                await session.execute(
                    insert(VoiceCall).values(
                        call_sid=sid,
                        interaction_id=interaction.id,
                        caller="+15551230009",
                        dialled="+15005550006",
                        phase="bridged",
                        supervisor_id=None if leg is None else "sam",
                        supervisor_call_sid=leg,
                    )
                )
                for mode in ("listen", "barge"):
                    store.record_event(session, interaction.id, "call_monitored", SYSTEM, {"mode": mode})
                    await session.flush()
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))
        async with sessions() as session:
            modes = {
                sid: mode for sid, mode in await session.execute(select(VoiceCall.call_sid, VoiceCall.supervisor_mode))
            }
    finally:
        await engine.dispose()
    assert modes == {"CA1": "barge", "CA2": None}


async def test_an_unmigrated_database_is_refused_with_a_clear_error(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with pytest.raises(StorageError, match="db upgrade"):
            await check_current(engine)
    finally:
        await engine.dispose()


async def _customer(session: AsyncSession, kind: str, value: str) -> str:
    """The customer holding the identity, created with it when unknown (as intake does)."""
    conn = await session.connection()
    known = await conn.run_sync(lambda sync: rows.owners(sync, kind, [value]))
    if value in known:
        return known[value]
    customer_id = new_id()
    await conn.run_sync(lambda sync: rows.add_customers(sync, [(customer_id, kind, value, value)], utcnow()))
    return customer_id


async def test_an_identity_leads_to_one_customer(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        first = await _customer(session, "phone", "+15551230001")
    async with sessions.begin() as session:
        again = await _customer(session, "phone", "+15551230001")
        other = await _customer(session, "email", "+15551230001")
    assert first == again != other


async def test_two_writers_cannot_create_one_identity_twice(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await _customer(session, "phone", "+15551230001")
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            session.add(customer := Customer(display_name="dup"))
            await session.flush()
            session.add(CustomerIdentity(customer_id=customer.id, kind="phone", value="+15551230001"))


async def _interaction(session: AsyncSession, thread: str, state: InteractionState) -> Interaction:
    customer_id = await _customer(session, "phone", "+15551230009")
    row = Interaction(customer_id=customer_id, channel="sms", state=state, queue="support", thread_key=thread)
    session.add(row)
    await session.flush()
    return row


async def test_a_second_customer_for_one_identity_is_refused_as_sqlalchemy_would(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The hot path's statements run on SQLite's own cursor (storage.prepared): a race on an
    identity still raises SQLAlchemy's IntegrityError, which intake's retry catches."""
    async with sessions.begin() as session:
        await _customer(session, "phone", "+15551230009")
    twin = [(new_id(), "phone", "+15551230009", "twin")]
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            conn = await session.connection()
            await conn.run_sync(lambda sync: rows.add_customers(sync, twin, utcnow()))


async def test_one_thread_has_at_most_one_open_interaction(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await _interaction(session, "sms:a:b", InteractionState.QUEUED)
        await _interaction(session, "sms:a:b", InteractionState.COMPLETED)
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            await _interaction(session, "sms:a:b", InteractionState.NEW)
    async with sessions() as session:
        conn = await session.connection()
        found = await conn.run_sync(lambda sync: rows.open_threads(sync, ["sms:a:b"]))
        queued = await store.get(session, found["sms:a:b"].interaction_id)
    assert queued.state == InteractionState.QUEUED


async def test_a_transition_writes_its_event_and_an_illegal_one_writes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        row = await _interaction(session, "t", InteractionState.NEW)
        store.transition(session, row, InteractionState.QUEUED, SYSTEM, "queued", {"queue": "support"})
        interaction_id = row.id
    with pytest.raises(IllegalTransition):
        async with sessions.begin() as session:
            row = await store.get(session, interaction_id)
            store.transition(session, row, InteractionState.COMPLETED, SYSTEM, "completed")
    async with sessions() as session:
        row = await store.get(session, interaction_id)
        events = await in_session(session, lambda conn: store.events(conn, [interaction_id]))
    assert row.state == InteractionState.QUEUED
    assert [(e.type, e.data) for e in events] == [("queued", {"from": "new", "to": "queued", "queue": "support"})]


async def test_concurrent_deliveries_of_one_sms_make_one_interaction_and_one_message(client: Client) -> None:
    form = sms_form()
    others = [sms_form(body=f"more {n}") for n in range(4)]
    responses = await asyncio.gather(*(post_sms(client, f) for f in [form] * 5 + others))
    assert [r.status for r in responses] == [200] * 9
    async with client.app[SERVICES].sessions() as session:
        counts = [await session.scalar(select(func.count()).select_from(t)) for t in (Customer, Interaction, Message)]
    assert counts == [1, 1, 5]


def test_ids_are_time_ordered_uuids_of_version_7() -> None:
    first = new_id()
    time.sleep(0.002)
    later = [new_id() for _ in range(1000)]
    parsed = [uuid.UUID(i) for i in (first, *later)]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    # A millisecond later sorts later, as text too: new rows go to the end of an index.
    assert all(first < i for i in later)
    assert len(set(later)) == len(later)
    # The first 48 bits are the time they were made.
    assert abs(int(first.replace("-", "")[:12], 16) - time.time() * 1000) < 60_000


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 23, 1, 2, 3, 456789, tzinfo=UTC),
        datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC),  # no microseconds: still written out
        datetime(2026, 11, 23, 3, 2, 3, 5, tzinfo=timezone(timedelta(hours=2))),
        datetime(999, 1, 1, tzinfo=UTC),
    ],
)
async def test_a_datetime_round_trips_and_compares_as_sqlalchemy_writes_it(
    migrated_url: str, sessions: async_sessionmaker[AsyncSession], moment: datetime
) -> None:
    async with sessions.begin() as session:
        session.add(Customer(id="c", display_name="", created_at=moment))
    counted = select(func.count()).select_from(Customer)
    async with sessions() as session:
        assert await session.scalar(select(Customer.created_at)) == moment
        # Compared in SQL with a bound value, not only read back.
        assert await session.scalar(counted.where(Customer.created_at >= moment)) == 1
        assert await session.scalar(counted.where(Customer.created_at > moment + timedelta(microseconds=1))) == 0
        if is_sqlite(migrated_url):
            # SQLAlchemy's own SQLite DATETIME text: rows written before compare alike.
            naive = moment.astimezone(UTC).replace(tzinfo=None)
            # SQLAlchemy's SQLite DATETIME is unannotated: its processor typed here.
            written: Processor | None = DATETIME().bind_processor(sqlite.dialect())  # type: ignore[no-untyped-call]
            assert written is not None
            assert (await session.execute(text("SELECT created_at FROM customers"))).scalar() == written(naive)


@given(
    moment=st.datetimes(
        # A day inside the years a datetime holds, so that any offset stays inside them.
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
    )
)
def test_aware_datetimes_in_several_zones_are_written_as_sqlalchemy_writes_their_utc_time(moment: datetime) -> None:
    ours = UTCDateTime().bind_processor(sqlite.dialect())
    # SQLAlchemy's SQLite DATETIME is unannotated: its processor typed here.
    theirs: Processor | None = DATETIME().bind_processor(sqlite.dialect())  # type: ignore[no-untyped-call]
    assert ours is not None and theirs is not None
    assert ours(moment) == theirs(moment.astimezone(UTC).replace(tzinfo=None))


# PostgreSQL's default dialect (psycopg) has an unannotated constructor.
@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])  # type: ignore[no-untyped-call]
def test_a_naive_datetime_is_refused_before_it_reaches_the_database(dialect: Dialect) -> None:
    process = UTCDateTime().bind_processor(dialect)
    assert process is not None
    with pytest.raises(ValueError, match="naive"):
        process(datetime(2026, 1, 1))
