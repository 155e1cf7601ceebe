"""Supervisors act on the floor: an agent's status, an interaction's queue, agent or
priority, taking an interaction over (``desk.supervise``)."""

from __future__ import annotations

from aiohttp import web

from interaction_center import wire as serialize
from interaction_center.desk.accounts import Account
from interaction_center.domain import wire
from interaction_center.domain.errors import InvalidInput, NotFound
from interaction_center.web.api import settable_status, transfer_target, work_of
from interaction_center.web.auth import SUPERVISORS, allow
from interaction_center.web.bodies import json_response
from interaction_center.web.contract import declare
from interaction_center.web.errors import json_object
from interaction_center.web.keys import SERVICES

routes = web.RouteTableDef()


@routes.get("/api/v1/queues/{queue}/waiting")
@declare(wire.WaitingBody, errors=(404,))
@allow(*SUPERVISORS)
async def waiting(request: web.Request, agent: Account) -> web.Response:
    queue = request.match_info["queue"]
    services = request.app[SERVICES]
    if queue not in services.settings.queues:
        raise NotFound(f"no queue {queue}", code="queue.not_found")
    return json_response(serialize.waiting(queue, await services.dispatcher.waiting(queue)))


@routes.get("/api/v1/agents/{agent_id}/work")
@declare(wire.WorkBody, query=wire.WorkQuery, errors=(404,))
@allow(*SUPERVISORS)
async def agent_work(request: web.Request, agent: Account) -> web.Response:
    """Another agent's work list, as ``GET /work`` gives them theirs: what a supervisor
    moves, takes over or listens in on."""
    worker = await request.app[SERVICES].admin.get(request.match_info["agent_id"])
    return json_response(await work_of(request, worker))


@routes.put("/api/v1/agents/{agent_id}/status")
@declare(wire.AgentBody, body=wire.StatusRequest, errors=(404, 409))
@allow(*SUPERVISORS)
async def set_agent_status(request: web.Request, agent: Account) -> web.Response:
    """``{"status": "available" | "away" | "offline", "reason"?}`` for another agent."""
    status, reason = await settable_status(request)
    changed = await request.app[SERVICES].supervision.set_status(agent, request.match_info["agent_id"], status, reason)
    return json_response(serialize.agent(changed))


@routes.post("/api/v1/interactions/{interaction_id}/move")
@declare(wire.InteractionBody, body=wire.TransferRequest, errors=(404, 409))
@allow(*SUPERVISORS)
async def move_interaction(request: web.Request, agent: Account) -> web.Response:
    """``{"queue"}`` or ``{"agent_id"}``, and a ``"note"``, as a transfer takes them."""
    queue, to_agent, note = await transfer_target(request)
    moved = await request.app[SERVICES].supervision.move(
        agent, request.match_info["interaction_id"], queue=queue, to_agent=to_agent, note=note
    )
    return json_response(moved)


@routes.post("/api/v1/interactions/{interaction_id}/priority")
@declare(wire.InteractionBody, body=wire.PriorityRequest, errors=(404, 409))
@allow(*SUPERVISORS)
async def set_priority(request: web.Request, agent: Account) -> web.Response:
    body = await json_object(request)
    priority = body.get("priority")
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise InvalidInput("priority is a whole number from -1000 to 1000", code="interaction.bad_priority")
    changed = await request.app[SERVICES].supervision.set_priority(
        agent, request.match_info["interaction_id"], priority
    )
    return json_response(changed)


@routes.post("/api/v1/interactions/{interaction_id}/take-over")
@declare(wire.InteractionBody, errors=(404, 409))
@allow(*SUPERVISORS)
async def take_over(request: web.Request, agent: Account) -> web.Response:
    return json_response(await request.app[SERVICES].supervision.take_over(agent, request.match_info["interaction_id"]))
