"""Storage on SQLite and PostgreSQL: migrations, constraints and the repositories."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interaction_center.errors import IllegalTransition, StorageError
from interaction_center.model import SYSTEM, InteractionState
from interaction_center.web.keys import SERVICES
from storage import customers
from storage import interactions as store
from storage.database import create_engine, session_factory
from storage.migrate import check_current
from storage.models import Base, Customer, CustomerIdentity, Interaction, Message
from tests.support import post_sms, sms_form


@pytest.fixture
async def sessions(migrated_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(migrated_url)
    yield session_factory(engine)
    await engine.dispose()


async def test_the_migrations_build_exactly_the_models_schema(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []


async def test_an_unmigrated_database_is_refused_with_a_clear_error(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with pytest.raises(StorageError, match="db upgrade"):
            await check_current(engine)
    finally:
        await engine.dispose()


async def test_an_identity_resolves_to_one_customer(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        first = await customers.resolve(session, "phone", "+15551230001")
    async with sessions.begin() as session:
        again = await customers.resolve(session, "phone", "+15551230001")
        other = await customers.resolve(session, "email", "+15551230001")
    assert first.id == again.id != other.id


async def test_two_writers_cannot_create_one_identity_twice(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await customers.resolve(session, "phone", "+15551230001")
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            session.add(customer := Customer(display_name="dup"))
            await session.flush()
            session.add(CustomerIdentity(customer_id=customer.id, kind="phone", value="+15551230001"))


async def _interaction(session: AsyncSession, thread: str, state: InteractionState) -> Interaction:
    customer = await customers.resolve(session, "phone", "+15551230009")
    row = Interaction(customer_id=customer.id, channel="sms", state=state, queue="support", thread_key=thread)
    session.add(row)
    await session.flush()
    return row


async def test_one_thread_has_at_most_one_open_interaction(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await _interaction(session, "sms:a:b", InteractionState.QUEUED)
        await _interaction(session, "sms:a:b", InteractionState.COMPLETED)
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            await _interaction(session, "sms:a:b", InteractionState.NEW)
    async with sessions() as session:
        found = await store.find_open(session, "sms:a:b")
    assert found is not None and found.state == InteractionState.QUEUED


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
        events = await store.events(session, [interaction_id])
    assert row.state == InteractionState.QUEUED
    assert [(e.type, e.data) for e in events] == [("queued", {"from": "new", "to": "queued", "queue": "support"})]


async def test_concurrent_deliveries_of_one_sms_make_one_interaction_and_one_message(client: Any) -> None:
    form = sms_form()
    others = [sms_form(body=f"more {n}") for n in range(4)]
    responses = await asyncio.gather(*(post_sms(client, f) for f in [form] * 5 + others))
    assert [r.status for r in responses] == [200] * 9
    async with client.server.app[SERVICES].sessions() as session:
        counts = [await session.scalar(select(func.count()).select_from(t)) for t in (Customer, Interaction, Message)]
    assert counts == [1, 1, 5]
