"""The agent / supervisor REST API under ``/api/v1``; every handler declares its roles."""

from __future__ import annotations

import sys
from typing import Any, get_args

from aiohttp import web

from interaction_center import wire as serialize
from interaction_center.desk.accounts import Account, Login, token_digest
from interaction_center.desk.work import TIMELINE_PAGE
from interaction_center.domain import wire
from interaction_center.domain.errors import InvalidInput, Unauthorized
from interaction_center.domain.model import Channel
from interaction_center.domain.wire import MONITOR_MODES, offers_body, ok_body
from interaction_center.web.auth import (
    EVERYONE,
    SUPERVISORS,
    allow,
    clear_session_cookie,
    credentials,
    require_own_page,
    set_session_cookie,
)
from interaction_center.web.bodies import json_response
from interaction_center.web.contract import declare
from interaction_center.web.errors import json_object, text_field
from interaction_center.web.keys import ACCOUNT, AUDIT_DETAIL, SERVICES
from interaction_center.web.uploads import reply_form
from routing import AgentState

routes = web.RouteTableDef()

# Statuses an agent sets by hand; "away" carries a reason code (break, lunch, training...).
_SETTABLE = frozenset(get_args(wire.SettableStatus))
# One extension of after-contact work at most; an agent may ask again.
_MAX_EXTENSION_SECONDS = 3600
_MAX_PAGE = 200


@routes.post("/api/v1/auth/login")
@declare(wire.LoginBody, body=wire.LoginRequest, errors=(401, 429))
async def login(request: web.Request) -> web.Response:
    result = await _login(request)
    return json_response(serialize.login(result.token, result.expires_at, result.agent))


@routes.post("/api/v1/auth/session")
@declare(wire.SessionBody, body=wire.LoginRequest, errors=(401, 403, 429))
async def sign_in(request: web.Request) -> web.Response:
    """A login for the service's pages: the token goes in the session cookie, out of their
    scripts' reach, and the body says only who signed in."""
    # Else another site could sign a visitor in as someone else (login CSRF).
    require_own_page(request)
    result = await _login(request)
    response = json_response(serialize.session(result.agent))
    set_session_cookie(request, response, result.token, result.expires_at)
    return response


@routes.get("/api/v1/auth/session")
@declare(wire.SessionBody)
async def signed_in(request: web.Request) -> web.Response:
    """Who is signed in, if anyone: a page asks before it shows its login form, which
    nobody signed in is no error of."""
    found = credentials(request)
    try:
        agent = None if found is None else await request.app[SERVICES].accounts.authenticate(found[0])
    except Unauthorized:
        agent = None
    return json_response(serialize.session(agent))


async def _login(request: web.Request) -> Login:
    body = await json_object(request)
    username = text_field(body, "username", max_length=100)
    request[AUDIT_DETAIL] = {"username": username}
    result = await request.app[SERVICES].accounts.login(
        username, text_field(body, "password", max_length=1000), request.remote or ""
    )
    request[ACCOUNT] = result.agent
    return result


@routes.post("/api/v1/auth/logout")
@declare(wire.OkBody)
@allow(*EVERYONE)
async def logout(request: web.Request, agent: Account) -> web.Response:
    found = credentials(request)
    assert found is not None  # allow() has checked it
    token, by_cookie = found
    services = request.app[SERVICES]
    if not await services.accounts.logout(token, agent.id):
        await services.presence.logged_out(agent.id)
    else:
        await services.presence.login_ended(agent.id, token_digest(token))
    response = json_response(ok_body())
    if by_cookie:
        clear_session_cookie(response)
    return response


@routes.get("/api/v1/agents/me")
@declare(wire.MeBody)
@allow(*EVERYONE)
async def me(request: web.Request, agent: Account) -> web.Response:
    until = await request.app[SERVICES].dispatcher.wrap_up_until(agent.id)
    return json_response(serialize.me(agent, until))


@routes.put("/api/v1/agents/me/status")
@declare(wire.AgentBody, body=wire.StatusRequest, errors=(409,))
@allow(*EVERYONE)
async def set_status(request: web.Request, agent: Account) -> web.Response:
    status, reason = await settable_status(request)
    updated = await request.app[SERVICES].dispatcher.set_status(agent.id, status, reason)
    return json_response(serialize.agent(updated))


async def settable_status(request: web.Request) -> tuple[AgentState, str | None]:
    """A status set by hand: ``{"status", "reason"?}``."""
    body = await json_object(request)
    status = text_field(body, "status", max_length=20)
    if status not in _SETTABLE:
        raise InvalidInput(f"status must be one of {', '.join(sorted(_SETTABLE))}", code="agent.bad_status")
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or not 0 < len(reason) <= 50):
        raise InvalidInput("reason must be a short string (break, lunch, training...)", code="agent.bad_reason")
    return AgentState(status), reason


@routes.get("/api/v1/agents")
@declare(wire.AgentsBody)
@allow(*SUPERVISORS)
async def list_agents(request: web.Request, agent: Account) -> web.Response:
    services = request.app[SERVICES]
    body: wire.AgentsBody = {"agents": await services.statistics.agents(await services.accounts.all())}
    return json_response(body)


@routes.get("/api/v1/agents/directory")
@declare(wire.DirectoryBody)
@allow(*EVERYONE)
async def agent_directory(request: web.Request, agent: Account) -> web.Response:
    """Every active agent, for anyone signed in to transfer to: ``GET /agents`` is the
    supervisors' full view of the accounts."""
    return json_response(serialize.directory(await request.app[SERVICES].accounts.active()))


@routes.get("/api/v1/queues")
@declare(wire.QueuesBody)
@allow(*SUPERVISORS)
async def list_queues(request: web.Request, agent: Account) -> web.Response:
    """Per queue and channel: what waits and who is there, live; the day's counts."""
    return json_response(await request.app[SERVICES].statistics.queues())


@routes.get("/api/v1/offers")
@declare(wire.OffersBody)
@allow(*EVERYONE)
async def list_offers(request: web.Request, agent: Account) -> web.Response:
    return json_response(offers_body(await request.app[SERVICES].work.offers(agent)))


@routes.post("/api/v1/offers/{offer_id}/accept")
@declare(wire.InteractionBody, errors=(404, 409))
@allow(*EVERYONE)
async def accept_offer(request: web.Request, agent: Account) -> web.Response:
    return json_response(await request.app[SERVICES].work.accept(agent, request.match_info["offer_id"]))


@routes.post("/api/v1/offers/{offer_id}/reject")
@declare(wire.OkBody, errors=(404, 409))
@allow(*EVERYONE)
async def reject_offer(request: web.Request, agent: Account) -> web.Response:
    await request.app[SERVICES].dispatcher.reject(agent.id, request.match_info["offer_id"])
    return json_response(ok_body())


@routes.get("/api/v1/interactions/{interaction_id}")
@declare(wire.InteractionBody, errors=(404,))
@allow(*EVERYONE)
async def get_interaction(request: web.Request, agent: Account) -> web.Response:
    return json_response(await request.app[SERVICES].work.interaction(agent, request.match_info["interaction_id"]))


@routes.post("/api/v1/interactions/{interaction_id}/messages")
@declare(wire.MessageBody, status=201, body=wire.TextRequest, files="attachment", errors=(404, 409, 502))
@allow(*EVERYONE)
async def reply(request: web.Request, agent: Account) -> web.Response:
    """``{"body"}``, or ``multipart/form-data`` with a ``body`` field and ``attachment``
    files (email only)."""
    # The limit of the interaction's channel is checked with the interaction
    # (message.too_long, naming the channel).
    if request.content_type == "multipart/form-data":
        text, files = await reply_form(request)
    else:
        text, files = await _body_text(request), ()
    message = await request.app[SERVICES].work.reply(agent, request.match_info["interaction_id"], text, files)
    return json_response(message, status=201)


@routes.post("/api/v1/interactions/{interaction_id}/complete")
@declare(wire.InteractionBody, body=wire.CompleteRequest, errors=(404, 409))
@allow(*EVERYONE)
async def complete(request: web.Request, agent: Account) -> web.Response:
    body = await json_object(request)
    result = await request.app[SERVICES].work.complete(
        agent,
        request.match_info["interaction_id"],
        text_field(body, "disposition", max_length=100),
        _optional_text(body, "note"),
    )
    return json_response(result)


@routes.post("/api/v1/interactions/{interaction_id}/notes")
@declare(wire.InteractionBody, status=201, body=wire.TextRequest, errors=(404, 409))
@allow(*EVERYONE)
async def add_note(request: web.Request, agent: Account) -> web.Response:
    text = await _body_text(request)
    result = await request.app[SERVICES].work.add_note(agent, request.match_info["interaction_id"], text)
    return json_response(result, status=201)


@routes.post("/api/v1/interactions/{interaction_id}/transfer")
@declare(wire.InteractionBody, body=wire.TransferRequest, errors=(404, 409))
@allow(*EVERYONE)
async def transfer(request: web.Request, agent: Account) -> web.Response:
    queue, to_agent, note = await transfer_target(request)
    result = await request.app[SERVICES].work.transfer(
        agent, request.match_info["interaction_id"], queue=queue, to_agent=to_agent, note=note
    )
    return json_response(result)


@routes.post("/api/v1/interactions")
@declare(wire.InteractionBody, status=201, body=wire.StartRequest, errors=(409, 502))
@allow(*EVERYONE)
async def start_conversation(request: web.Request, agent: Account) -> web.Response:
    """``{"channel": "sms" | "email", "to", "body", "subject"?}``: a conversation the
    caller starts, theirs from the start."""
    body = await json_object(request)
    channel = text_field(body, "channel", max_length=10)
    if channel not in (Channel.SMS, Channel.EMAIL):
        raise InvalidInput("channel: sms or email", code="outbound.channel")
    to = text_field(body, "to", max_length=320, blank=False)
    text = text_field(body, "body", max_length=sys.maxsize)
    subject = text_field(body, "subject", max_length=1000) if channel == Channel.EMAIL else ""
    started = await request.app[SERVICES].conversations.start(agent, Channel(channel), to, text, subject)
    return json_response(started, status=201)


@routes.get("/api/v1/work")
@declare(wire.WorkBody, query=wire.WorkQuery)
@allow(*EVERYONE)
async def my_work(request: web.Request, agent: Account) -> web.Response:
    """What is offered to the caller, what they hold, what they completed (paged)."""
    return json_response(await work_of(request, agent))


async def work_of(request: web.Request, agent: Account) -> wire.WorkBody:
    """An agent's work list, as the request's query (``WorkQuery``) narrows it."""
    query = request.query
    channel = query.get("channel")
    if channel is not None and channel not in Channel.__members__.values():
        raise InvalidInput(f"channel must be one of {', '.join(Channel)}", code="input.bad_query")
    return await request.app[SERVICES].work.work(
        agent,
        None if channel is None else Channel(channel),
        query.get("state"),
        query.get("before"),
        _limit(request, 50),
    )


def _limit(request: web.Request, default: int) -> int:
    """A page's ``?limit=``: 1 to ``_MAX_PAGE``."""
    limit = request.query.get("limit", str(default))
    if not limit.isdecimal() or not 1 <= int(limit) <= _MAX_PAGE:
        raise InvalidInput(f"limit must be a whole number from 1 to {_MAX_PAGE}", code="input.bad_query")
    return int(limit)


@routes.get("/api/v1/dispositions")
@declare(wire.DispositionsBody)
@allow(*EVERYONE)
async def list_dispositions(request: web.Request, agent: Account) -> web.Response:
    return json_response(request.app[SERVICES].work.dispositions())


@routes.post("/api/v1/agents/me/wrap-up/extend")
@declare(wire.WrapUpBody, body=wire.WrapUpRequest, errors=(409,))
@allow(*EVERYONE)
async def extend_wrap_up(request: web.Request, agent: Account) -> web.Response:
    body = await json_object(request)
    seconds = body.get("seconds")
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= _MAX_EXTENSION_SECONDS:
        raise InvalidInput(
            f"'seconds' must be a whole number from 1 to {_MAX_EXTENSION_SECONDS}", code="agent.bad_extension"
        )
    until = await request.app[SERVICES].dispatcher.extend_wrap_up(agent.id, seconds)
    return json_response(serialize.wrap_up(until))


@routes.post("/api/v1/agents/me/wrap-up/end")
@declare(wire.AgentBody, errors=(409,))
@allow(*EVERYONE)
async def end_wrap_up(request: web.Request, agent: Account) -> web.Response:
    return json_response(serialize.agent(await request.app[SERVICES].dispatcher.end_wrap_up(agent.id)))


async def transfer_target(request: web.Request) -> tuple[str | None, str | None, str | None]:
    """A transfer's ``{"queue"}`` or ``{"agent_id"}``, and its ``"note"``."""
    body = await json_object(request)
    queue = text_field(body, "queue", max_length=100, blank=False) if "queue" in body else None
    to_agent = text_field(body, "agent_id", max_length=36, blank=False) if "agent_id" in body else None
    return queue, to_agent, _optional_text(body, "note")


async def _body_text(request: web.Request) -> str:
    """A JSON body's ``body``: uncapped here (the request's size bounds it), the service
    knows the limit."""
    return text_field(await json_object(request), "body", max_length=sys.maxsize)


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    """A field the caller may leave out (or send null); the service bounds its length."""
    return None if body.get(name) is None else text_field(body, name, max_length=sys.maxsize)


@routes.post("/api/v1/interactions/{interaction_id}/call/hold")
@declare(wire.CallHoldBody, body=wire.HoldRequest, errors=(404, 409, 502))
@allow(*EVERYONE)
async def hold_call(request: web.Request, agent: Account) -> web.Response:
    body = await json_object(request)
    on = body.get("on")
    if not isinstance(on, bool):
        raise InvalidInput("'on' must be true (hold the customer) or false (take them back)", code="call.bad_hold")
    result = await request.app[SERVICES].voice.control.hold(agent, request.match_info["interaction_id"], on)
    return json_response(result)


@routes.post("/api/v1/interactions/{interaction_id}/call/hangup")
@declare(wire.OkBody, errors=(404, 409, 502))
@allow(*EVERYONE)
async def hang_up_call(request: web.Request, agent: Account) -> web.Response:
    await request.app[SERVICES].voice.control.hang_up(agent, request.match_info["interaction_id"])
    return json_response(ok_body())


@routes.post("/api/v1/interactions/{interaction_id}/call/consult")
@declare(wire.CallConsultBody, body=wire.ConsultRequest, errors=(404, 409, 502))
@allow(*EVERYONE)
async def consult_call(request: web.Request, agent: Account) -> web.Response:
    body = await json_object(request)
    consulted = text_field(body, "agent_id", max_length=36, blank=False)
    result = await request.app[SERVICES].voice.control.consult(agent, request.match_info["interaction_id"], consulted)
    return json_response(result)


@routes.post("/api/v1/interactions/{interaction_id}/call/handover")
@declare(wire.InteractionBody, errors=(404, 409, 502))
@allow(*EVERYONE)
async def hand_over_call(request: web.Request, agent: Account) -> web.Response:
    result = await request.app[SERVICES].voice.control.handover(agent, request.match_info["interaction_id"])
    return json_response(result)


@routes.post("/api/v1/interactions/{interaction_id}/call/monitor")
@declare(wire.CallMonitorBody, body=wire.MonitorRequest, errors=(404, 409, 502))
@allow(*SUPERVISORS)
async def monitor_call(request: web.Request, agent: Account) -> web.Response:
    body = await json_object(request)
    mode = next((mode for mode in MONITOR_MODES if mode == body.get("mode")), None)
    if mode is None:
        raise InvalidInput(f"'mode' must be one of {', '.join(MONITOR_MODES)}", code="call.bad_mode")
    result = await request.app[SERVICES].voice.control.monitor(agent, request.match_info["interaction_id"], mode)
    return json_response(result)


@routes.get("/api/v1/customers/{customer_id}")
@declare(wire.CustomerBody, query=wire.CustomerQuery, errors=(404,))
@allow(*EVERYONE)
async def get_customer(request: web.Request, agent: Account) -> web.Response:
    """The customer's record, their interactions newest first: ``?limit=`` (1-200, 20) a page,
    ``?before=`` the ``next_before`` of the page before."""
    customer_id, before = request.match_info["customer_id"], request.query.get("before")
    limit = _limit(request, TIMELINE_PAGE)
    return json_response(await request.app[SERVICES].work.customer(agent, customer_id, before, limit))


@routes.get("/api/v1/voice")
@declare(wire.VoiceSetupBody)
@allow(*EVERYONE)
async def voice_setup(request: web.Request, agent: Account) -> web.Response:
    """Whether calls can be taken in the browser here."""
    return json_response(request.app[SERVICES].voice.setup())


@routes.get("/api/v1/voice/token")
@declare(wire.VoiceTokenBody, errors=(409,))
@allow(*EVERYONE)
async def voice_token(request: web.Request, agent: Account) -> web.Response:
    """The agent's Twilio Voice SDK token, for the browser softphone."""
    return json_response(request.app[SERVICES].voice.token(agent))


@routes.post("/api/v1/interactions/{interaction_id}/hold")
@declare(wire.InteractionBody, body=wire.ParkRequest, errors=(404, 409))
@allow(*EVERYONE)
async def hold(request: web.Request, agent: Account) -> web.Response:
    """``{"note"?}``: an email or SMS set aside until the customer answers; it comes back
    to the caller first."""
    return await _park(request, agent, snoozed=False)


@routes.post("/api/v1/interactions/{interaction_id}/snooze")
@declare(wire.InteractionBody, body=wire.SnoozeRequest, errors=(404, 409))
@allow(*EVERYONE)
async def snooze(request: web.Request, agent: Account) -> web.Response:
    """``{"until", "note"?}``: an email or SMS set aside until a time (ISO 8601 with its
    offset), or until the customer answers if that comes first."""
    return await _park(request, agent, snoozed=True)


async def _park(request: web.Request, agent: Account, *, snoozed: bool) -> web.Response:
    body = await json_object(request)
    until = text_field(body, "until", max_length=64, blank=False) if snoozed else None
    note = _optional_text(body, "note")
    result = await request.app[SERVICES].parking.hold(agent, request.match_info["interaction_id"], until, note)
    return json_response(result)


@routes.post("/api/v1/interactions/{interaction_id}/resume")
@declare(wire.InteractionBody, errors=(404, 409))
@allow(*EVERYONE)
async def resume(request: web.Request, agent: Account) -> web.Response:
    """A parked interaction taken up again now: queued for the agent who parked it first."""
    return json_response(await request.app[SERVICES].parking.resume(agent, request.match_info["interaction_id"]))
