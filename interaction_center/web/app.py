"""``build_app``: the one place where the HTTP application is assembled."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from interaction_center.services import Services, build_services
from interaction_center.settings.model import Settings
from interaction_center.web import (
    admin_api,
    agent_ws,
    api,
    attachments_api,
    canned_api,
    customer_api,
    openapi,
    ops,
    pages,
    supervisor_api,
)
from interaction_center.web.audit import audit_middleware
from interaction_center.web.client_address import client_address_middleware, networks
from interaction_center.web.errors import error_middleware
from interaction_center.web.keys import SERVICES

# Twilio posts small forms and agents post short JSON; anything bigger is refused early.
MAX_REQUEST_BYTES = 256 * 1024


def build_app(settings: Settings, services: Services | None = None) -> web.Application:
    services = services or build_services(settings)
    behind = client_address_middleware(networks(settings.http.trusted_proxies))
    app = web.Application(middlewares=[behind, audit_middleware, error_middleware], client_max_size=MAX_REQUEST_BYTES)
    app[SERVICES] = services
    app.add_routes(ops.routes)
    # After api's: its /api/v1/agents/me and /directory are matched before admin_api's /api/v1/agents/{agent_id}.
    app.add_routes(api.routes)
    app.add_routes(admin_api.routes)
    app.add_routes(canned_api.routes)
    app.add_routes(supervisor_api.routes)
    app.add_routes(customer_api.routes)
    app.add_routes(attachments_api.routes)
    app.add_routes(openapi.routes)
    agent_ws.register(app)
    pages.register(app, browser_calls=services.voice.setup()["browser_calls"])
    for adapter in services.channels.values():
        adapter.register(app)
    if services.sandbox is not None:
        services.sandbox.register(app)
    app.cleanup_ctx.append(_lifecycle)
    app.on_shutdown.append(_close_live_sockets)
    return app


async def _close_live_sockets(app: web.Application) -> None:
    await app[SERVICES].close_live_sockets()


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    async with app[SERVICES].running():
        yield
