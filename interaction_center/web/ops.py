"""Liveness and readiness for load balancers and orchestrators; metrics for Prometheus."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from interaction_center.domain import wire
from interaction_center.domain.errors import Forbidden, Unauthorized
from interaction_center.domain.wire import health_body
from interaction_center.web.auth import bearer_token
from interaction_center.web.bodies import json_response
from interaction_center.web.contract import PlainText, declare
from interaction_center.web.errors import UNREACHABLE, json_error
from interaction_center.web.keys import SERVICES

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
_THIS_MACHINE = {"127.0.0.1", "::1"}


@routes.get("/healthz")
@declare(wire.HealthBody)
async def healthz(request: web.Request) -> web.Response:
    return json_response(health_body("ok"))


@routes.get("/readyz")
@declare(wire.HealthBody, errors=(503,))
async def readyz(request: web.Request) -> web.Response:
    try:
        async with request.app[SERVICES].engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        log.warning("not ready: database unreachable: %s", exc)
        return json_error(503, "storage.unreachable", "the database cannot be reached")
    if not await request.app[SERVICES].routing.reachable():
        log.warning("not ready: the routing state (Redis) is unreachable")
        return json_error(503, UNREACHABLE, "the routing state (Redis) cannot be reached")
    return json_response(health_body("ready"))


@routes.get("/metrics")
@declare(PlainText, errors=(401, 403))
async def metrics(request: web.Request) -> web.Response:
    """Prometheus' text format. With ``auth.metrics_token`` set, only for a scraper that
    sends it; without, only for this machine (operations data, not for the world)."""
    services = request.app[SERVICES]
    token = services.settings.auth.metrics_token
    if token:
        given = bearer_token(request) or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Unauthorized("send the metrics token: Authorization: Bearer <auth.metrics_token>")
    elif request.remote not in _THIS_MACHINE:
        raise Forbidden("metrics are served to this machine only, unless auth.metrics_token is set")
    body = await services.metrics_exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
