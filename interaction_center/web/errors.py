"""One mapping from errors to HTTP responses: a JSON body with a stable ``code``."""

from __future__ import annotations

import logging
import math
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from redis.exceptions import AuthenticationError, AuthorizationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from interaction_center.domain.errors import InteractionCenterError, InvalidInput, TooManyRequests
from interaction_center.domain.untrusted import decode, parse_json, require_storable
from interaction_center.domain.wire import error_body
from interaction_center.web.bodies import json_response
from interaction_center.web.keys import SERVICES

log = logging.getLogger(__name__)

# The answer to a request that needs Redis while it is away, and when to try again.
UNREACHABLE = "routing.unreachable"
UNREACHABLE_RETRY_SECONDS = 5
# Failures redis-py reports as connection errors that are this service's configuration
# (a wrong password, a missing permission), not an outage: internal errors, logged in full.
_MISCONFIGURED = (AuthenticationError, AuthorizationError)


def json_error(status: int, code: str, message: str) -> web.Response:
    return json_response(error_body(code, message), status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        # Path and query parameters are ids and names looked up in storage: one that
        # cannot be stored cannot name anything, and would fail only in the database's driver.
        require_storable([*request.match_info.items(), *request.query.items()])
        return await handler(request)
    except InteractionCenterError as exc:
        request.app[SERVICES].metrics.errors.labels(exc.code).inc()
        if exc.status >= 500:
            log.warning("%s %s failed: %s", request.method, request.path, exc.message)
        response = json_error(exc.status, exc.code, exc.message)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(math.ceil(exc.retry_after_seconds))
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        request.app[SERVICES].metrics.errors.labels(f"http.{exc.status}").inc()
        return json_error(exc.status, f"http.{exc.status}", exc.reason)
    except Exception as exc:
        if isinstance(exc, (RedisConnectionError, RedisTimeoutError)) and not isinstance(exc, _MISCONFIGURED):
            # Redis away (/readyz says so, and a balancer soon sends no more here): nothing
            # the client did wrong, and worth trying again, likely on another instance.
            request.app[SERVICES].metrics.errors.labels(UNREACHABLE).inc()
            log.warning("%s %s failed: Redis cannot be reached: %s", request.method, request.path, exc)
            response = json_error(503, UNREACHABLE, "the routing state (Redis) cannot be reached; try again shortly")
            response.headers["Retry-After"] = str(UNREACHABLE_RETRY_SECONDS)
            return response
        request.app[SERVICES].metrics.errors.labels("internal").inc()
        log.exception("%s %s crashed", request.method, request.path)
        return json_error(500, "internal", "internal error; it has been logged")


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, read in its declared charset, bounded in depth, with
    every string storable (``interaction_center.domain.untrusted``)."""
    body = parse_json(decode(await request.read(), request.charset), code="input.bad_json")
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", code="input.bad_json")
    return body


def text_field(body: dict[str, Any], name: str, *, max_length: int = 10_000, blank: bool = True) -> str:
    """``blank=False``: a name or id, where an empty or all-space value names nothing."""
    value = body.get(name)
    if not isinstance(value, str):
        raise InvalidInput(f"{name!r} must be a string", code="input.bad_field")
    if not blank and not value.strip():
        raise InvalidInput(f"{name!r} must not be empty", code="input.bad_field")
    if len(value) > max_length:
        raise InvalidInput(f"{name!r} is longer than {max_length} characters", code="input.bad_field")
    return value
