"""Authentication and role checks, declared on every API handler.

API clients send their token as ``Authorization: Bearer``. The service's own pages hold
the same kind of token in a session cookie their scripts cannot read (HttpOnly), which
browsers send only with requests from our own pages (SameSite=Strict); a changing request
signed in by the cookie must besides carry ``X-Requested-With`` (which another site's page
cannot send without a CORS preflight, never granted here) or come from our own origin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import wraps

from aiohttp import web
from yarl import URL

from interaction_center.desk.accounts import Account
from interaction_center.domain.errors import Forbidden, Unauthorized
from interaction_center.domain.model import Role
from interaction_center.domain.stamps import utcnow
from interaction_center.domain.untrusted import bearer
from interaction_center.web.keys import ACCOUNT, SERVICES

AgentHandler = Callable[[web.Request, Account], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

EVERYONE = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
SUPERVISORS = (Role.SUPERVISOR, Role.ADMIN)
ADMINS = (Role.ADMIN,)

SESSION_COOKIE = "ic_session"
PAGE_HEADER = "X-Requested-With"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(request: web.Request) -> str | None:
    return bearer(request.headers.get("Authorization", ""))


def credentials(request: web.Request) -> tuple[str, bool] | None:
    """The caller's token and whether it came in the session cookie. A bearer token wins,
    so API calls are what they were whatever cookies the client keeps."""
    token = bearer_token(request)
    if token is not None:
        return token, False
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return (cookie, True) if cookie and cookie.isascii() else None


def own_origin(request: web.Request) -> bool:
    """Whether the request's ``Origin`` is this service: a browser names the page that made it."""
    public = URL(request.app[SERVICES].settings.public_base_url)
    # Behind a proxy the public origin is the one browsers name; on loopback, the request's own.
    return request.headers.get("Origin") in {str(public.origin()), f"{request.scheme}://{request.host}"}


def require_own_page(request: web.Request) -> None:
    """Refuse a changing request another site's page could have made (cross-site request
    forgery): it needs our header or our origin."""
    if request.method not in _SAFE_METHODS and PAGE_HEADER not in request.headers and not own_origin(request):
        raise Forbidden(
            f"a request signed in by the session cookie needs the '{PAGE_HEADER}' header or this service's Origin",
            code="auth.cross_site",
        )


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str, expires_at: datetime) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max(0, int((expires_at - utcnow()).total_seconds())),
        path="/",
        secure=request.app[SERVICES].settings.public_base_url.startswith("https://"),
        httponly=True,
        samesite="Strict",
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


def allow(*roles: Role) -> Callable[[AgentHandler], Handler]:
    """Authenticate the caller and admit only the given roles."""

    def decorate(handler: AgentHandler) -> Handler:
        @wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            found = credentials(request)
            if found is None:
                raise Unauthorized("send 'Authorization: Bearer <token>' (from POST /api/v1/auth/login)")
            token, by_cookie = found
            if by_cookie:
                require_own_page(request)
            agent = await request.app[SERVICES].accounts.authenticate(token)
            request[ACCOUNT] = agent
            if agent.role not in roles:
                raise Forbidden(f"this needs one of the roles: {', '.join(roles)}", code="auth.role")
            return await handler(request, agent)

        # Read by the authorization matrix test: every route's roles, as declared here.
        guarded.allowed_roles = roles  # type: ignore[attr-defined]
        return guarded

    return decorate
