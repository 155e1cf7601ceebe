"""``GET /api/v1/openapi.json``: the API in OpenAPI 3.1, made from the route table and the
contract each handler declares (``web.contract``), with the wire format's types as its
schemas (``web.json_schema``). Nothing in it is written by hand, so it says what the
routes do; ``tests/web/test_openapi.py`` holds the routes and their answers to it.

It is served to anyone: it describes what the README does, and names no account or data."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, get_type_hints, is_typeddict

from aiohttp import web

from interaction_center import __version__
from interaction_center.domain.wire import REQUEST_EXAMPLES, ErrorBody
from interaction_center.web.bodies import json_response
from interaction_center.web.contract import Contract, FileContent, PlainText, contract_of, declare
from interaction_center.web.json_schema import Schema, SchemaBuilder

routes = web.RouteTableDef()

PATH = "/api/v1/openapi.json"
_PARAMETER = re.compile(r"\{([^}:]+)")
_LEFT_OUT = (
    "Left out, as they are not this JSON API: the agents' WebSocket (`GET /api/v1/ws`, its frames "
    "typed in `interaction_center/domain/wire.py` and listed in the README), Twilio's webhooks "
    "(`/twilio/...`: signed form posts answered with TwiML), the chat widget and its socket "
    "(`/chat/`), and the demo sandbox (`/demo/...`)."
)
# What each refusal means, whatever route gives it; its ``code`` says which.
_REFUSALS = {
    400: "Bad input: JSON that is not an object or not JSON, a field missing or of the wrong kind, text that "
    "cannot be stored, or a value the route refuses (its own code).",
    401: "No live token: none, unknown, expired or revoked (`auth.*`); or, for a login, the wrong password.",
    403: "The caller's role is not one the route admits (`auth.role`), or what it names is not theirs.",
    404: "What the path names does not exist (or not for the caller).",
    409: "The target's state does not allow it now; `state.changed` when another writer was first.",
    413: "The body is over 256 KiB.",
    415: "The body's charset is not one Python can read (`input.bad_charset`).",
    429: "Throttled: `Retry-After` says in how many seconds to try again.",
    502: "Twilio or the mail relay refused the request or could not be reached.",
    503: "The database cannot be reached; or, with several instances, the routing state in Redis "
    "(`routing.unreachable`, with `Retry-After`).",
}


@routes.get(PATH)
@declare(dict[str, Any])
async def openapi(request: web.Request) -> web.Response:
    """This document."""
    return json_response(document(request.app.router))


def document(router: web.UrlDispatcher) -> dict[str, Any]:
    """Every route with a contract, described."""
    builder = SchemaBuilder()
    error = builder.schema(ErrorBody)
    paths: dict[str, dict[str, Any]] = {}
    for route in router.routes():
        contract = contract_of(route.handler)
        if contract is None or route.method == "HEAD" or route.resource is None:
            continue
        path = route.resource.canonical
        paths.setdefault(path, {})[route.method.lower()] = _operation(route.handler, path, contract, builder, error)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Interaction Center API",
            "version": __version__,
            "description": "The agents', supervisors' and admins' REST API, and the operations routes. "
            'Every refusal is `{"error": {"code", "message"}}` with a stable code. '
            "With several instances on one Redis, any route that needs it answers 503 `routing.unreachable`, "
            "with `Retry-After`, while it cannot be reached. " + _LEFT_OUT,
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(builder.components.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "A token from POST /api/v1/auth/login."}
            },
        },
    }


def _operation(
    handler: Callable[..., Any], path: str, contract: Contract, builder: SchemaBuilder, error: Schema
) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": handler.__name__, "summary": handler.__name__.replace("_", " ")}
    description = " ".join((handler.__doc__ or "").split())
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAMETER.findall(path)
    ]
    if contract.query is not None:
        required = contract.query.__required_keys__
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": builder.schema(hint)}
            for name, hint in get_type_hints(contract.query).items()
        ]
    if parameters:
        operation["parameters"] = parameters
    refusals = set(contract.errors)
    if parameters or contract.body is not None:
        refusals.add(400)
    if contract.body is not None:
        content = _json(builder.schema(contract.body))
        if contract.body in REQUEST_EXAMPLES:
            content["application/json"]["example"] = REQUEST_EXAMPLES[contract.body]
        if contract.files is not None:
            content["multipart/form-data"] = {"schema": _form(contract.body, contract.files)}
        operation["requestBody"] = {"required": True, "content": content}
        refusals |= {413, 415}
    roles = getattr(handler, "allowed_roles", ())
    if roles:
        operation["security"] = [{"bearer": []}]
        operation["x-roles"] = [str(role) for role in roles]
        description = f"{description} Roles: {', '.join(operation['x-roles'])}.".strip()
        refusals |= {401, 403}
    else:
        operation["security"] = []
    if description:
        operation["description"] = description
    operation["responses"] = {str(contract.status): _answer(contract.answer, builder)} | {
        str(status): {"description": _REFUSALS[status], "content": _json(error)} for status in sorted(refusals)
    }
    return operation


def _form(body: Any, files: str) -> dict[str, Any]:
    """A body's fields as form fields (text), with files under ``files``."""
    fields: dict[str, Any] = {name: {"type": "string"} for name in get_type_hints(body)}
    binary = {"type": "string", "contentMediaType": "application/octet-stream"}
    return {
        "type": "object",
        "properties": fields | {files: {"type": "array", "items": binary}},
        "required": sorted(body.__required_keys__),
    }


def _answer(answer: Any, builder: SchemaBuilder) -> dict[str, Any]:
    if answer is PlainText:
        return {"description": "Text.", "content": {"text/plain": {"schema": {"type": "string"}}}}
    if answer is FileContent:
        file = {"schema": {"type": "string", "format": "binary"}}
        return {"description": "The file, in the type it was sent with, to be saved.", "content": {"*/*": file}}
    described = answer.__name__ if is_typeddict(answer) else "A JSON object."
    return {"description": described, "content": _json(builder.schema(answer))}


def _json(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}
