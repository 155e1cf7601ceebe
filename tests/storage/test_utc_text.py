"""A time read as its text (storage.models.UTCText) is, byte for byte, the ``isoformat()``
of the datetime the same column reads as (UTCDateTime): on SQLite, where the stored text
is rewritten rather than parsed, for every time UTCDateTime writes and for text of other
shapes, by SQLAlchemy's execution and by Prepared's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Connection, Integer, MetaData, Table, create_engine, insert, select, text, type_coerce
from sqlalchemy.dialects import sqlite

from storage.models import UTCDateTime, UTCText, sqlite_iso_text
from storage.prepared import Prepared

TABLE = Table("scratch", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
# Every offset a zone may have, to the minute; microseconds nought or not.
_ZONES = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda minutes: timezone(timedelta(minutes=minutes)))
_TIMES = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC) | _ZONES
) | st.datetimes(timezones=st.just(UTC)).map(lambda at: at.replace(microsecond=0))


@pytest.fixture(scope="module")
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    TABLE.metadata.create_all(engine)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _written(at: datetime) -> str:
    write = UTCDateTime().bind_processor(sqlite.dialect())
    assert write is not None
    stored = write(at)
    assert isinstance(stored, str)
    return stored


@given(_TIMES)
def test_the_text_of_a_stored_time_is_its_isoformat(at: datetime) -> None:
    assert sqlite_iso_text(_written(at)) == at.astimezone(UTC).isoformat()


@pytest.mark.parametrize(
    "stored",
    ["2024-05-01 12:00:00", "2024-05-01 12:00:00.25", "2024-05-01T12:00:00.250000", "2024-05-01 12:00"],
)
def test_a_time_stored_in_another_shape_is_parsed(stored: str) -> None:
    assert sqlite_iso_text(stored) == datetime.fromisoformat(stored).replace(tzinfo=UTC).isoformat()


def test_a_missing_time_is_none() -> None:
    assert sqlite_iso_text(None) is None


@given(st.lists(_TIMES | st.none(), max_size=5))
def test_a_column_read_as_text_reads_as_the_datetimes_isoformat_by_either_execution(
    conn: Connection, times: list[datetime | None]
) -> None:
    conn.execute(TABLE.delete())
    if times:
        conn.execute(insert(TABLE), [{"id": n, "at": at} for n, at in enumerate(times)])
    # And one written by SQLite itself, in a shape of its own.
    conn.execute(text("INSERT INTO scratch VALUES (99, '2024-05-01 12:00:00')"))
    as_text = select(type_coerce(TABLE.c.at, UTCText()).label("at")).order_by(TABLE.c.id)
    as_datetimes = [at for (at,) in conn.execute(select(TABLE.c.at).order_by(TABLE.c.id))]
    expected = [None if at is None else at.isoformat() for at in as_datetimes]
    assert [at for (at,) in conn.execute(as_text)] == expected
    assert [at for (at,) in Prepared(as_text).rows(conn, {})] == expected
