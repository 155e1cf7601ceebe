"""Canned responses over the API: found (and filled in for an interaction), and each
agent's own made, changed and deleted."""

from __future__ import annotations

from aiohttp import web

from interaction_center.desk.accounts import Account
from interaction_center.domain import wire
from interaction_center.domain.wire import ok_body
from interaction_center.web.auth import EVERYONE, allow
from interaction_center.web.bodies import json_response
from interaction_center.web.contract import declare
from interaction_center.web.errors import json_object
from interaction_center.web.keys import SERVICES

routes = web.RouteTableDef()


@routes.get("/api/v1/canned")
@declare(wire.CannedListBody, query=wire.CannedQuery, errors=(404,))
@allow(*EVERYONE)
async def find_canned(request: web.Request, agent: Account) -> web.Response:
    """``?q=`` a shortcut's start or a piece of a title; ``?interaction_id=`` only that
    interaction's queue's, each with its ``text`` filled from its customer's record."""
    query, interaction_id = request.query.get("q", "")[:100], request.query.get("interaction_id")
    return json_response(await request.app[SERVICES].canned.find(agent, query, interaction_id))


@routes.post("/api/v1/canned")
@declare(wire.CannedBody, status=201, body=wire.CannedRequest, errors=(409,))
@allow(*EVERYONE)
async def create_canned(request: web.Request, agent: Account) -> web.Response:
    created = await request.app[SERVICES].canned.create(agent, await json_object(request))
    return json_response(created, status=201)


@routes.patch("/api/v1/canned/{canned_id}")
@declare(wire.CannedBody, body=wire.CannedChangeRequest, errors=(404, 409))
@allow(*EVERYONE)
async def edit_canned(request: web.Request, agent: Account) -> web.Response:
    changes = await json_object(request)
    return json_response(await request.app[SERVICES].canned.edit(agent, request.match_info["canned_id"], changes))


@routes.delete("/api/v1/canned/{canned_id}")
@declare(wire.OkBody, errors=(404,))
@allow(*EVERYONE)
async def delete_canned(request: web.Request, agent: Account) -> web.Response:
    await request.app[SERVICES].canned.delete(agent, request.match_info["canned_id"])
    return json_response(ok_body())
