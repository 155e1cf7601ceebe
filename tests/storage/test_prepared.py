"""Statements run Prepared on SQLite's cursor (storage/prepared.py) give what SQLAlchemy's
own execution of the same statement gives: the parameters in their places, converted where
their type converts them, the statement's constants and a column's constant default filled
in, lists spliced in, and the columns converted back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    insert,
    select,
    update,
)

from storage.models import UTCDateTime
from storage.prepared import Prepared

T0 = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
TABLE = Table(
    "scratch",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String(20)),
    Column("at", UTCDateTime),
    Column("data", JSON),
    Column("n", Integer, default=7),
)


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    TABLE.metadata.create_all(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _rows(n: int, *, every_n: bool = True) -> list[dict[str, Any]]:
    """``every_n=False``: "n" left out of the even rows (for its default, 7)."""
    return [
        {"id": i, "name": f"row {i}", "at": T0 + timedelta(minutes=i), "data": {"i": i, "é": [i]}}
        | ({"n": i if i % 2 else 7} if every_n or i % 2 else {})
        for i in range(n)
    ]


def test_inserted_rows_are_what_sqlalchemy_reads_back(conn: Connection) -> None:
    rows = _rows(6, every_n=False)
    assert Prepared(insert(TABLE)).run(conn, [r for r in rows if "n" in r]) == 3
    assert Prepared(insert(TABLE)).run(conn, [r for r in rows if "n" not in r]) == 3
    stored = {row.id: row._asdict() for row in conn.execute(select(TABLE))}
    assert stored == {r["id"]: {"n": 7} | r for r in rows}


def test_a_select_with_a_list_beside_converted_parameters_and_a_constant_reads_as_sqlalchemy_does(
    conn: Connection,
) -> None:
    conn.execute(insert(TABLE), _rows(10))
    statement = (
        select(TABLE.c.id, TABLE.c.at, TABLE.c.name, TABLE.c.data)
        .where(
            TABLE.c.at >= bindparam("since"),
            TABLE.c.id.in_(bindparam("ids", expanding=True)),
            TABLE.c.n == 7,
        )
        .order_by(TABLE.c.id)
    )
    for params in (
        {"since": T0 + timedelta(minutes=2), "ids": [1, 2, 4, 6, 9]},
        {"since": T0, "ids": [8]},
        {"since": T0, "ids": []},
    ):
        expected = [tuple(row) for row in conn.execute(statement, params)]
        assert Prepared(statement).rows(conn, params) == expected
        records = Prepared(statement).records(conn, params)
        assert [(r.id, r.at, r.name, r.data) for r in records] == expected
    assert Prepared(statement).rows(conn, {"since": T0, "ids": [2, 4]})[0][1] == T0 + timedelta(minutes=2)


def test_a_conditional_update_converts_its_values_and_counts_what_it_changed(conn: Connection) -> None:
    conn.execute(insert(TABLE), _rows(3))
    statement = (
        update(TABLE)
        .where(TABLE.c.id == bindparam("row_id"), TABLE.c.n == bindparam("was"))
        .values(at=bindparam("at"), data=bindparam("data"))
    )
    later = T0 + timedelta(days=1)
    assert Prepared(statement).run(conn, {"row_id": 1, "was": 1, "at": later, "data": {"x": None}}) == 1
    assert Prepared(statement).run(conn, {"row_id": 2, "was": 1, "at": later, "data": {}}) == 0
    assert Prepared(statement).run(conn, {"row_id": 2, "was": 7, "at": later, "data": []}) == 1
    changed = conn.execute(select(TABLE.c.at, TABLE.c.data).where(TABLE.c.id.in_([1, 2])).order_by(TABLE.c.id))
    assert [tuple(row) for row in changed] == [(later, {"x": None}), (later, [])]


def test_json_reads_as_sqlalchemy_reads_it_numbers_and_null_included(conn: Connection) -> None:
    # SQLite keeps the text of a JSON number as a number (a JSON column's affinity is numeric).
    values: list[Any] = [{"a": [1, "é"]}, 5, 2.5, "text", None, [], True]
    conn.execute(insert(TABLE), [{"id": n, "data": value} for n, value in enumerate(values)])
    statement = select(TABLE.c.data).order_by(TABLE.c.id)
    expected = [tuple(row) for row in conn.execute(statement)]
    assert Prepared(statement).rows(conn, {}) == expected
    assert [data for (data,) in expected] == values
