"""Engine and session factory for either database."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from interaction_center.domain.errors import StaleState
from storage.events import number_new_events
from storage.json_text import ENGINE_JSON


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if is_sqlite(url):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **ENGINE_JSON)
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, **ENGINE_JSON)


# How long a statement waits for another connection's lock before failing as busy.
BUSY_TIMEOUT_MS = 30_000


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; synchronous=FULL keeps every commit we
    # acknowledge to a sender on disk even if the machine loses power. temp_store=MEMORY
    # keeps the journal of a savepoint (a unit of a group commit) in memory: it only ever
    # rolls back a unit of a live transaction, and spilled to a file past 64 KiB it cost
    # a temporary file's creation and writes on most group commits.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


class GuardedSession(Session):
    """Versioned rows (interactions, agents) are updated on condition of the version they
    were read at; a flush that finds it changed raises the domain's StaleState, with
    nothing of the transaction written."""

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        try:
            super().flush(objects)
        except StaleDataError as exc:
            raise StaleState("someone else changed this in the meantime; nothing was written") from exc


event.listen(GuardedSession, "before_flush", number_new_events)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=GuardedSession)
