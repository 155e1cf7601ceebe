"""The audit log's rows: one written per change, pages of them read newest first."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Table, insert, select

from storage.models import AuditEntry

AUDIT = cast(Table, AuditEntry.__table__)


def record(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(AUDIT), row)


def page(conn: Connection, before: int | None, limit: int, actor_id: str | None) -> list[dict[str, Any]]:
    """Up to ``limit`` entries older than id ``before`` (all, when None), newest first,
    of one actor when ``actor_id`` is given."""
    query = select(AUDIT).order_by(AUDIT.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AUDIT.c.id < before)
    if actor_id is not None:
        query = query.where(AUDIT.c.actor_id == actor_id)
    return [dict(row) for row in conn.execute(query).mappings()]
