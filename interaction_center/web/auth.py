"""Bearer-token authentication and role checks, declared on every API handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from aiohttp import web

from interaction_center.desk.accounts import Account
from interaction_center.domain.errors import Forbidden, Unauthorized
from interaction_center.domain.model import Role
from interaction_center.web.keys import ACCOUNT, SERVICES

AgentHandler = Callable[[web.Request, Account], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

EVERYONE = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
ADMINS = (Role.ADMIN,)


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.isascii():
        # Our tokens are ASCII; bytes that are not UTF-8 arrive as lone surrogates, which
        # would fail only when hashed.
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def allow(*roles: Role) -> Callable[[AgentHandler], Handler]:
    """Authenticate the caller and admit only the given roles."""

    def decorate(handler: AgentHandler) -> Handler:
        @wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            token = bearer_token(request)
            if token is None:
                raise Unauthorized("send 'Authorization: Bearer <token>' (from POST /api/v1/auth/login)")
            agent = await request.app[SERVICES].accounts.authenticate(token)
            request[ACCOUNT] = agent
            if agent.role not in roles:
                raise Forbidden(f"this needs one of the roles: {', '.join(roles)}", code="auth.role")
            return await handler(request, agent)

        # Read by the authorization matrix test: every route's roles, as declared here.
        guarded.allowed_roles = roles  # type: ignore[attr-defined]
        return guarded

    return decorate
