"""The audit log: every call that changes something (a POST, PUT, PATCH or DELETE of the
API, a command of the ``agents`` CLI), who made it, against what, and how it ended; admins
read it newest first (``GET /api/v1/audit``). What a request carried is not kept beyond
the names the route gives (and a login's username): never a password, never message text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interaction_center.domain.stamps import utcnow
from storage import audit as audit_store

PAGE_LIMIT = 200


@dataclass(frozen=True)
class AuditRecord:
    actor_id: str | None
    actor_role: str | None
    action: str
    status: int
    target: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    address: str = ""


class AuditLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def record(self, entry: AuditRecord) -> None:
        row = {
            "at": utcnow(),
            "actor_id": entry.actor_id,
            "actor_role": entry.actor_role,
            "action": entry.action[:200],
            "target": entry.target,
            "status": entry.status,
            "detail": entry.detail,
            "address": entry.address[:100],
        }
        async with self._sessions.begin() as session:
            await session.run_sync(lambda sync: audit_store.record(sync.connection(), row))

    async def page(self, before: int | None, limit: int, actor_id: str | None) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            return await session.run_sync(
                lambda sync: audit_store.page(sync.connection(), before, min(limit, PAGE_LIMIT), actor_id)
            )
