"""The API's accounts side: admins manage agents (``desk.admin``) and read the audit log;
every agent changes their own password."""

from __future__ import annotations

from aiohttp import web

from interaction_center import wire as serialize
from interaction_center.desk.accounts import Account, token_digest
from interaction_center.desk.admin import EDITABLE
from interaction_center.domain import wire
from interaction_center.domain.errors import InvalidInput
from interaction_center.domain.model import Actor, ActorKind
from interaction_center.domain.wire import ok_body
from interaction_center.web.auth import ADMINS, EVERYONE, SUPERVISORS, allow, credentials
from interaction_center.web.bodies import json_response
from interaction_center.web.contract import declare
from interaction_center.web.errors import json_object, text_field
from interaction_center.web.keys import SERVICES

routes = web.RouteTableDef()

_PASSWORD_CHARS = 1000


def _actor(agent: Account) -> Actor:
    return Actor(ActorKind.AGENT, agent.id)


@routes.put("/api/v1/agents/me/password")
@declare(wire.OkBody, body=wire.OwnPasswordRequest)
@allow(*EVERYONE)
async def change_own_password(request: web.Request, agent: Account) -> web.Response:
    """This login lives on; every other login of the agent's ends."""
    body = await json_object(request)
    found = credentials(request)
    assert found is not None  # allow() has checked it
    await request.app[SERVICES].admin.change_own_password(
        agent,
        text_field(body, "current_password", max_length=_PASSWORD_CHARS),
        text_field(body, "new_password", max_length=_PASSWORD_CHARS),
        token_digest(found[0]),
    )
    return json_response(ok_body())


@routes.post("/api/v1/agents")
@declare(wire.AgentBody, status=201, body=wire.NewAgentRequest, errors=(409,))
@allow(*ADMINS)
async def create_agent(request: web.Request, agent: Account) -> web.Response:
    """An account: ``username`` and ``password`` (the password policy's), and any of the
    profile's fields (``display_name``, ``role``, ``queues``, ``skills``, ``capacity``,
    ``phone``) as the configuration's ``[[agents]]`` take them."""
    body = await json_object(request)
    created = await request.app[SERVICES].admin.create(body)
    return json_response(serialize.agent(created), status=201)


@routes.get("/api/v1/agents/{agent_id}")
@declare(wire.AgentBody, errors=(404,))
@allow(*SUPERVISORS)
async def get_agent(request: web.Request, agent: Account) -> web.Response:
    found = await request.app[SERVICES].admin.get(request.match_info["agent_id"])
    return json_response(serialize.agent(found))


@routes.patch("/api/v1/agents/{agent_id}")
@declare(wire.AgentBody, body=wire.ProfileRequest, errors=(404, 409))
@allow(*ADMINS)
async def edit_agent(request: web.Request, agent: Account) -> web.Response:
    body = await json_object(request)
    if not body:
        raise InvalidInput(f"name what to change: any of {', '.join(EDITABLE)}", code="agent.bad_profile")
    edited = await request.app[SERVICES].admin.edit(request.match_info["agent_id"], body, _actor(agent))
    return json_response(serialize.agent(edited))


@routes.post("/api/v1/agents/{agent_id}/deactivate")
@declare(wire.AgentBody, errors=(404, 409))
@allow(*ADMINS)
async def deactivate_agent(request: web.Request, agent: Account) -> web.Response:
    closed = await request.app[SERVICES].admin.deactivate(request.match_info["agent_id"], _actor(agent))
    return json_response(serialize.agent(closed))


@routes.post("/api/v1/agents/{agent_id}/reactivate")
@declare(wire.AgentBody, errors=(404, 409))
@allow(*ADMINS)
async def reactivate_agent(request: web.Request, agent: Account) -> web.Response:
    opened = await request.app[SERVICES].admin.reactivate(request.match_info["agent_id"], _actor(agent))
    return json_response(serialize.agent(opened))


@routes.put("/api/v1/agents/{agent_id}/password")
@declare(wire.AgentBody, body=wire.PasswordRequest, errors=(404,))
@allow(*ADMINS)
async def reset_password(request: web.Request, agent: Account) -> web.Response:
    body = await json_object(request)
    password = text_field(body, "password", max_length=_PASSWORD_CHARS)
    changed = await request.app[SERVICES].admin.reset_password(request.match_info["agent_id"], password, _actor(agent))
    return json_response(serialize.agent(changed))


@routes.get("/api/v1/audit")
@declare(wire.AuditBody, query=wire.AuditQuery)
@allow(*ADMINS)
async def read_audit(request: web.Request, agent: Account) -> web.Response:
    """Newest first; ``before`` (an entry's id) pages back, ``actor_id`` keeps one actor's."""
    limit = _whole(request, "limit", 1, 200) or 50
    before = _whole(request, "before", 1, 2**62)
    actor_id = request.query.get("actor_id", "")[:100] or None
    rows = await request.app[SERVICES].audit.page(before, limit, actor_id)
    return json_response(serialize.audit(rows, limit))


def _whole(request: web.Request, name: str, low: int, high: int) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if not raw.isdecimal() or not low <= int(raw) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}", code="input.bad_query")
    return int(raw)
