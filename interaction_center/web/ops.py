"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from interaction_center.domain.wire import health_body
from interaction_center.web.errors import json_error
from interaction_center.web.keys import SERVICES

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response(health_body("ok"))


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    try:
        async with request.app[SERVICES].engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        log.warning("not ready: database unreachable: %s", exc)
        return json_error(503, "storage.unreachable", "the database cannot be reached")
    return web.json_response(health_body("ready"))
