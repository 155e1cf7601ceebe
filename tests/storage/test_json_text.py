"""JSON columns by orjson (storage/json_text.py): every value the standard library stored
stores and reads back the same, text it wrote still reads, and what it refused is refused."""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import JSON, Column, Integer, MetaData, Table, insert

from storage import json_text
from storage.database import create_engine
from storage.prepared import Prepared
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
    text = json_text.dumps(value)
    assert json.loads(text) == value
    assert json_text.loads(text) == value


_KEYED = {1: "a", 2.5: "b", None: "c", False: "d"}


def test_keys_that_are_not_strings_become_strings_as_the_standard_library_makes_them() -> None:
    assert json.loads(json_text.dumps(_KEYED)) == json.loads(json.dumps(_KEYED))


def test_a_value_the_standard_library_refuses_is_refused() -> None:
    with pytest.raises(TypeError):
        json_text.dumps({"at": datetime.now(UTC)})


def test_text_the_standard_library_wrote_still_reads() -> None:
    assert json_text.loads(json.dumps({"big": 2**70})) == {"big": 2**70}
    assert math.isnan(json_text.loads(json.dumps({"x": math.nan}))["x"])


async def test_the_writer_stores_json_columns_as_orjson_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "json.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    table = Table("scratch", MetaData(), Column("id", Integer, primary_key=True), Column("data", JSON))
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
    writer = Writer(engine)
    try:
        await writer.run(lambda conn: Prepared(insert(table)).run(conn, {"id": 1, "data": {"a": [1, 2], "b": "é"}}))
    finally:
        await writer.close()
        await engine.dispose()
    with contextlib.closing(sqlite3.connect(path)) as db:
        ((text,),) = db.execute("SELECT data FROM scratch").fetchall()
    # The standard library would have written '{"a": [1, 2], "b": "\\u00e9"}'.
    assert text == '{"a":[1,2],"b":"é"}'


def test_the_service_engine_reads_and_writes_json_columns_with_it() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    assert engine.dialect._json_serializer is json_text.dumps
    assert engine.dialect._json_deserializer is json_text.loads
