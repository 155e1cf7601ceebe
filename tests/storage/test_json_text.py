"""JSON text by orjson where it gives what the standard library would
(interaction_center/domain/json_text.py): every value the standard library wrote is written
and reads back the same, what it refused is refused, a text reads as the standard library
reads it, and the engines of ours write and read JSON columns with it."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import JSON, Column, Integer, MetaData, Table, insert, select

from interaction_center.domain import json_text
from storage.database import create_engine
from storage.prepared import Prepared
from storage.reader import Reader
from storage.writer import Writer

# What JSON columns hold: details of events, attributes of messages, a call's place in its
# flow; integers wider than orjson's 64 bits and non-ASCII text included.
_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(_VALUES)
def test_a_value_reads_back_as_the_standard_library_reads_it(value: Any) -> None:
    assert json.loads(json_text.dumps(value)) == value
    assert json.loads(json_text.encoded(value)) == value


@given(_VALUES, st.booleans())
def test_a_text_reads_as_the_standard_library_reads_it(value: Any, ascii_only: bool) -> None:
    for text in (json.dumps(value, ensure_ascii=ascii_only), json_text.dumps(value)):
        read = json_text.loads(text)
        assert read == json.loads(text) == value
        # A wide integer read as a float would compare equal to some integers: the types too.
        assert repr(read) == repr(value)


@pytest.mark.parametrize(
    "text",
    [
        "18446744073709551616",  # 2**64: orjson reads a float
        "-9223372036854775809",  # one below -(2**63)
        '{"n": [123456789012345678901234567890]}',
        "[NaN, Infinity]",  # the standard library writes these; orjson refuses them
        '"\\ud800"',  # a lone surrogate escape: orjson refuses it
        "1e400",
    ],
)
def test_what_orjson_would_read_otherwise_or_refuses_reads_as_the_standard_library_reads_it(text: str) -> None:
    assert repr(json_text.loads(text)) == repr(json.loads(text))


# Digits of every script, lone surrogates (which orjson refuses) and other letters.
_AROUND = st.text(st.characters(categories=["Nd", "Cs", "Ll"]), max_size=30)


@given(st.lists(st.integers() | _AROUND, max_size=6))
def test_integers_beside_any_digits_or_lone_surrogates_read_as_the_standard_library_reads_them(
    values: list[int | str],
) -> None:
    # Only ASCII digits make a JSON number: a run of others is a string's.
    text = json.dumps(values, ensure_ascii=False)
    assert repr(json_text.loads(text)) == repr(json.loads(text))


@pytest.mark.parametrize("text", ["", "{", "[1,]", "nul", '{"a" 1}'])
def test_a_text_that_is_not_json_is_refused_as_the_standard_library_refuses_it(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json_text.loads(text)


def test_keys_that_are_not_strings_are_written_as_the_standard_library_writes_them() -> None:
    keyed = {1: "a", 2.5: "b", None: "c", False: "d"}
    assert json_text.dumps(keyed) == json.dumps(keyed)


def test_a_value_the_standard_library_refuses_is_refused() -> None:
    with pytest.raises(TypeError):
        json_text.dumps({"at": datetime.now(UTC)})


async def test_the_writer_stores_json_as_orjson_writes_it_and_the_reader_reads_it_back_exactly(
    tmp_path: Path,
) -> None:
    path = tmp_path / "json.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    table = Table("scratch", MetaData(), Column("id", Integer, primary_key=True), Column("data", JSON))
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
    plain = {"a": [1, 2], "b": "é"}
    # Past 64 bits on either side: orjson refuses to write these, and would read them back
    # as floats.
    wide = {"wide": [2**64 + 1, -(2**63) - 1]}
    writer, reader = Writer(engine), Reader(engine)
    try:
        rows = [{"id": 1, "data": plain}, {"id": 2, "data": wide}]
        await writer.run(lambda conn: Prepared(insert(table)).run(conn, rows))
        read = await reader.run(lambda conn: Prepared(select(table.c.data).order_by(table.c.id)).rows(conn, {}))
    finally:
        await writer.close()
        await reader.close()
        await engine.dispose()
    assert read == [(plain,), (wide,)]
    with contextlib.closing(sqlite3.connect(path)) as db:
        text = db.execute("SELECT data FROM scratch WHERE id = 1").fetchone()[0]
    # The standard library would have written '{"a": [1, 2], "b": "\\u00e9"}'.
    assert text == '{"a":[1,2],"b":"é"}'


def test_the_service_engine_writes_and_reads_json_columns_with_it() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    assert engine.dialect._json_serializer is json_text.dumps
    assert engine.dialect._json_deserializer is json_text.loads
