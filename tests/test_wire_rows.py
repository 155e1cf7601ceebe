"""What the wire makes of an interaction, its messages and its events is the same, byte
for byte, whether they come as a desk read's rows (their times as text: storage.rows) or as ORM
objects (their times as datetimes), on SQLite and PostgreSQL, for times with and
without microseconds and times left empty."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interaction_center import wire
from interaction_center.domain.json_text import encoded
from interaction_center.domain.stamps import new_id
from storage import interactions as store
from storage.database import create_engine, session_factory
from storage.models import Customer, Interaction, InteractionEvent, Message
from storage.reader import in_session

ROUND = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
FRACTION = datetime(2026, 12, 7, 9, 30, 1, 250, tzinfo=UTC)


@pytest.fixture
async def sessions(migrated_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(migrated_url)
    yield session_factory(engine)
    await engine.dispose()


async def test_an_interaction_read_as_rows_is_written_as_its_orm_objects_are(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    customer, interaction = new_id(), new_id()
    async with sessions.begin() as session:
        session.add(Customer(id=customer, display_name="Ann", created_at=ROUND))
        await session.flush()
        session.add(
            Interaction(id=interaction, customer_id=customer, channel="sms", state="offered", queue="support",
                        thread_key=new_id(), enqueued_at=FRACTION, answer_deadline=ROUND, offer_id=new_id(),
                        offer_expires_at=FRACTION, parked_until=None, created_at=ROUND, closed_at=FRACTION)
        )  # fmt: skip
        await session.flush()
        for at, updated in ((ROUND, None), (FRACTION, ROUND), (ROUND, FRACTION)):
            session.add(
                Message(interaction_id=interaction, channel="sms", direction="inbound", from_address="+15551230001",
                        to_address="+15005550006", body="hi", status="received", status_updated_at=updated,
                        attributes={"n": 1}, created_at=at)
            )  # fmt: skip
            session.add(
                InteractionEvent(interaction_id=interaction, type="created", actor_kind="system", data={"n": 1},
                                 created_at=at)
            )  # fmt: skip
    async with sessions() as session:
        row = await in_session(session, lambda conn: store.interaction_row(conn, interaction))
        rows = await in_session(session, lambda conn: store.messages(conn, [interaction]))
        events = await in_session(session, lambda conn: store.events(conn, [interaction]))
        orm = await session.get(Interaction, interaction)
        assert orm is not None
        objects = (await session.scalars(select(Message).order_by(Message.created_at, Message.id))).all()
        happened = (await session.scalars(select(InteractionEvent).order_by(InteractionEvent.id))).all()
    assert isinstance(row.created_at, str)
    assert isinstance(events[0].created_at, str)
    assert encoded(wire.interaction(row, rows, events)) == encoded(wire.interaction(orm, objects, happened))
    assert [encoded(wire.message(m)) for m in rows] == [encoded(wire.message(m)) for m in objects]
    assert wire.page_cursor(row.created_at, row.id) == wire.page_cursor(orm.created_at, orm.id)
