"""The audit middleware: every API call that could change something is recorded with its
actor and outcome (``desk.audit``), whatever the handler did, refusals included.

Calls nobody signed in to are left out, but for logins: a refused token changes nothing,
and recording each would let anyone fill the log. The entry is written before the answer
leaves, so an answered change is in the log; if the log cannot be written, the failure is
logged and the answer still goes (the change itself is already committed)."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from interaction_center.desk.audit import AuditRecord
from interaction_center.web.keys import ACCOUNT, AUDIT_DETAIL, SERVICES

log = logging.getLogger(__name__)

_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Logins for the API and for the pages.
LOGINS = frozenset({"/api/v1/auth/login", "/api/v1/auth/session"})


@web.middleware
async def audit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if request.method in _CHANGING and request.path.startswith("/api/"):
        account = request.get(ACCOUNT)
        if account is not None or request.path in LOGINS:
            route = request.match_info.route.resource
            entry = AuditRecord(
                actor_id=None if account is None else account.id,
                actor_role=None if account is None else account.role,
                action=f"{request.method} {route.canonical if route is not None else request.path}",
                status=response.status,
                target=dict(request.match_info),
                detail=request.get(AUDIT_DETAIL, {}),
                address=request.remote or "",
            )
            try:
                await request.app[SERVICES].audit.record(entry)
            except Exception:
                log.exception("the audit log could not record %s by %s", entry.action, entry.actor_id)
    return response
