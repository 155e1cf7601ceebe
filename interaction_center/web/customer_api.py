"""Customers over the API: search, edit, merge and unmerge (``desk.customers``); the 360°
record itself is ``GET /api/v1/customers/{id}`` (``web.api``)."""

from __future__ import annotations

from aiohttp import web

from interaction_center.desk.accounts import Account
from interaction_center.desk.customers import SEARCH_BY
from interaction_center.domain import wire
from interaction_center.domain.errors import InvalidInput
from interaction_center.web.auth import EVERYONE, allow
from interaction_center.web.bodies import json_response
from interaction_center.web.contract import declare
from interaction_center.web.errors import json_object, text_field
from interaction_center.web.keys import SERVICES

routes = web.RouteTableDef()


@routes.get("/api/v1/customers")
@declare(wire.CustomersBody, query=wire.CustomerSearchQuery)
@allow(*EVERYONE)
async def search_customers(request: web.Request, agent: Account) -> web.Response:
    """Exactly one of ``?phone=`` (any format), ``?email=``, ``?external_id=``, ``?name=``
    (the beginning of a name, any case)."""
    given = [(by, value) for by, value in request.query.items() if by in SEARCH_BY]
    if len(given) != 1 or len(request.query) != 1:
        raise InvalidInput(f"search by exactly one of {', '.join(SEARCH_BY)}", code="customer.bad_search")
    by, value = given[0]
    return json_response(await request.app[SERVICES].customers.search(by, value[:200]))


@routes.patch("/api/v1/customers/{customer_id}")
@declare(wire.CustomerBody, body=wire.CustomerChangeRequest, errors=(404, 409))
@allow(*EVERYONE)
async def edit_customer(request: web.Request, agent: Account) -> web.Response:
    services, customer_id = request.app[SERVICES], request.match_info["customer_id"]
    await services.customers.edit(agent, customer_id, await json_object(request))
    return json_response(await services.work.customer(agent, customer_id))


@routes.post("/api/v1/customers/{customer_id}/merge")
@declare(wire.CustomerBody, body=wire.MergeRequest, errors=(404, 409))
@allow(*EVERYONE)
async def merge_customers(request: web.Request, agent: Account) -> web.Response:
    """``{"from": CUSTOMER_ID}``: that record's identities and history become this one's."""
    services, customer_id = request.app[SERVICES], request.match_info["customer_id"]
    other = text_field(await json_object(request), "from", max_length=36, blank=False)
    await services.customers.merge(agent, customer_id, other)
    return json_response(await services.work.customer(agent, customer_id))


@routes.post("/api/v1/customers/{customer_id}/unmerge")
@declare(wire.CustomerBody, body=wire.UnmergeRequest, errors=(404, 409))
@allow(*EVERYONE)
async def unmerge_customers(request: web.Request, agent: Account) -> web.Response:
    """``{"merge_id"}`` of one of the record's ``merges``: what it moved goes back."""
    services, customer_id = request.app[SERVICES], request.match_info["customer_id"]
    merge_id = (await json_object(request)).get("merge_id")
    if not isinstance(merge_id, int) or isinstance(merge_id, bool) or not 0 < merge_id < 2**62:
        raise InvalidInput("merge_id: the id of one of the customer's merges", code="customer.no_merge")
    await services.customers.unmerge(agent, customer_id, merge_id)
    return json_response(await services.work.customer(agent, customer_id))
