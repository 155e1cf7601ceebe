"""The hot path's statements run on SQLite's own cursor.

Every contact costs the writer some seventeen statements. Through SQLAlchemy's execution
(cache key, execution context, result object) each cost about 50 us of Python, against
about 4 us for SQLite to run it, and the writer thread spent most of its time there,
holding the GIL the event loop needs. So a statement on that path is built once as a
Core statement, as before, and on SQLite compiled once per shape (the columns an INSERT
sets, how many values each IN list holds) into its SQL, the order of its parameters and
the type conversions SQLAlchemy would apply to them and to the columns it returns, which
are then run on the DBAPI cursor directly. Any other database (PostgreSQL) runs the same
statement through SQLAlchemy, as does a shape this module does not compile (an INSERT
whose missing columns have computed defaults)."""

from __future__ import annotations

import json
import re
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BindParameter, Connection, Insert, Select, UpdateBase
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

Params = Mapping[str, Any]
Processor = Callable[[Any], Any] | None
# What this module runs: SELECTs, and INSERTs and UPDATEs (RETURNING, or not).
Statement = Select[*tuple[Any, ...]] | UpdateBase

_POSTCOMPILE = re.compile(r"__\[POSTCOMPILE_(\w+)\]")


@dataclass(frozen=True, slots=True)
class _Shape:
    sql: str
    # Per positional parameter: its name, its conversion, whether it is a list spliced in.
    binds: tuple[tuple[str, Processor, bool], ...]
    # Values the parameters do not give: the statement's own (``x == 5``) and the constant
    # defaults of columns an INSERT leaves out.
    constants: dict[str, Any]
    # Per column returned: its conversion, if it has one, by its place in the row.
    results: tuple[tuple[int, Callable[[Any], Any]], ...]
    # Whether a parameter is a list spliced in; if none is, the parameters are their names
    # in order, and those with a conversion are converted by place: a statement runs a
    # dozen times an IVR step, and going through ``binds`` one by one cost more than the
    # conversions did.
    lists: bool
    names: tuple[str, ...]
    converted: tuple[tuple[int, Callable[[Any], Any]], ...]


# A shape not compiled yet (None is one that is not compiled at all: SQLAlchemy runs it).
_UNSEEN = _Shape("", (), {}, (), False, (), ())


class Prepared:
    """A Core statement for the hot path: ``rows`` for what it returns, ``run`` for how
    many rows it changed (given a list of parameter sets, it runs once for each)."""

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self._shapes: dict[tuple[Any, ...], _Shape | None] = {}
        # The parameters that take lists: their lengths are part of a shape's key. Found
        # once here, so that keying a run costs only the names it is given (an INSERT's
        # shape depends on which columns it sets).
        self._lists = tuple(
            sorted({b.key for b in visitors.iterate(statement) if isinstance(b, BindParameter) and b.expanding})
        )
        returned = statement.selected_columns if isinstance(statement, Select) else statement.exported_columns
        # What ``records`` makes of each row: a named tuple reads a column by name about as
        # fast as by place, where SQLAlchemy's own rows cost a result object per statement.
        # (Two columns of one name, from two tables, are renamed: read those by place.)
        fields = [str(column.key) for column in returned]
        # mypy wants the fields written out; they are the statement's, whatever it is.
        record: Any = namedtuple("Record", fields, rename=True)  # type: ignore[misc]
        self._record: Callable[[Iterable[Any]], Any] = record._make

    def rows(self, conn: Connection, params: Params) -> list[tuple[Any, ...]]:
        shape = self._shape(conn, params)
        if shape is None:
            return [tuple(row) for row in conn.execute(self.statement, dict(params))]
        return self._fetched(conn, shape, params)

    def records(self, conn: Connection, params: Params) -> list[Any]:
        """The rows with their columns by name as well (the plain rows of storage.rows):
        named tuples on SQLite, SQLAlchemy's own rows elsewhere."""
        shape = self._shape(conn, params)
        if shape is None:
            return list(conn.execute(self.statement, dict(params)))
        return list(map(self._record, self._fetched(conn, shape, params)))

    def _fetched(self, conn: Connection, shape: _Shape, params: Params) -> list[tuple[Any, ...]]:
        cursor = conn.connection.cursor()
        try:
            cursor.execute(shape.sql, _positional(shape, params))
            found = cursor.fetchall()
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(conn, shape, exc) from exc
        finally:
            cursor.close()
        if not shape.results:
            return [tuple(row) for row in found]
        # Each row copied once, to a list its conversions are made in.
        converted = []
        for row in found:
            values = list(row)
            for place, processor in shape.results:
                values[place] = processor(values[place])
            converted.append(tuple(values))
        return converted

    def run(self, conn: Connection, params: Params | Sequence[Params]) -> int:
        sets = [params] if isinstance(params, Mapping) else list(params)
        shape = self._shape(conn, sets[0])
        if shape is None:
            given = dict(params) if isinstance(params, Mapping) else [dict(p) for p in sets]
            return int(conn.execute(self.statement, given).rowcount)
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(shape.sql, [_positional(shape, p) for p in sets])
            return int(cursor.rowcount)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(conn, shape, exc) from exc
        finally:
            cursor.close()

    def _shape(self, conn: Connection, params: Params) -> _Shape | None:
        dialect = conn.dialect
        if dialect.name != "sqlite":
            return None
        # Keyed on every run of the hot path: the names alone when no list is spliced in.
        key = (*params, *(len(params[name]) for name in self._lists if name in params)) if self._lists else (*params,)
        shape = self._shapes.get(key, _UNSEEN)
        if shape is _UNSEEN:
            shape = self._shapes[key] = _compiled(self.statement, dialect, params)
        return shape


def _compiled(statement: Statement, dialect: Dialect, params: Params) -> _Shape | None:
    keys = list(params) if isinstance(statement, Insert) else None
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    assert isinstance(compiled, SQLCompiler)
    constants = {}
    for column in compiled.insert_prefetch:
        if column.default is None or not column.default.is_scalar:
            return None
        constants[column.key] = column.default.arg  # type: ignore[attr-defined]
    binds = []
    sql = compiled.string
    for name in compiled.positiontup or ():
        bind = compiled.binds[name]
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if bind.literal_execute:
            # Rendered into the SQL (see intake_rows._STILL_OPEN): the value is the statement's own.
            literal = bind.type.literal_processor(dialect)
            assert literal is not None
            text = ", ".join(literal(value) for value in bind.value or ())
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", text)
            continue
        if name not in params and name not in constants:
            constants[name] = bind.effective_value
        if bind.expanding:
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * len(params[name])) or "NULL")
        binds.append((name, processor, bind.expanding))
    assert not _POSTCOMPILE.search(sql), sql
    returned = statement.selected_columns if isinstance(statement, Select) else statement.exported_columns
    processors = [_reading(column.type, dialect) for column in returned]
    return _Shape(
        sql,
        tuple(binds),
        constants,
        results=_by_place(processors),
        lists=any(expanding for _, _, expanding in binds),
        names=tuple(name for name, _, _ in binds),
        converted=_by_place([processor for _, processor, _ in binds]),
    )


def _reading(column_type: TypeEngine[Any], dialect: Dialect) -> Processor:
    """How a column returned is converted: as SQLAlchemy converts it, but a JSON column by
    the engine's deserializer alone. SQLAlchemy's SQLite JSON wraps it in two layers of
    Python, which cost half what orjson takes to read an event's details, and a customer's
    timeline reads thousands."""
    if type(column_type) is not JSON:
        return column_type.dialect_impl(dialect).result_processor(dialect, None)
    loads = getattr(dialect, "_json_deserializer", None) or json.loads

    def read(value: Any) -> Any:
        # A JSON text that is a number, SQLite gives as one (a JSON column's affinity is
        # numeric), and NULL as None.
        return loads(value) if isinstance(value, str) else value

    return read


def _by_place(processors: Sequence[Processor]) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    return tuple((place, processor) for place, processor in enumerate(processors) if processor is not None)


def _positional(shape: _Shape, params: Params) -> list[Any]:
    constants = shape.constants
    if not shape.lists:
        values = [params[name] if name in params else constants[name] for name in shape.names]
        for place, convert in shape.converted:
            values[place] = convert(values[place])
        return values
    values = []
    for name, processor, expanding in shape.binds:
        value = params[name] if name in params else constants[name]
        if expanding:
            values.extend(value if processor is None else map(processor, value))
        else:
            values.append(value if processor is None else processor(value))
    return values


def _wrapped(conn: Connection, shape: _Shape, error: Exception) -> StatementError:
    """The driver's error as SQLAlchemy raises it (IntegrityError for a unique key, ...),
    which is what callers catch."""
    return DBAPIError.instance(shape.sql, None, error, conn.dialect.loaded_dbapi.Error)
