"""``GET /api/v1/ws``: the agent's live channel (offers, status, new messages).

Browsers cannot set headers on a WebSocket, so besides ``Authorization: Bearer`` the
token may come as the first frame, ``{"type": "auth", "token": ...}``; never in the URL,
where access logs would keep it. The service's own pages are signed in by their session
cookie, which the browser sends with the handshake, from their own ``Origin``."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from aiohttp import WSMsgType, web

from channels.live import live_socket
from interaction_center import wire as serialize
from interaction_center.desk.accounts import Account, can_supervise, token_digest
from interaction_center.dispatch.pushes import Frames
from interaction_center.domain.errors import Forbidden, InteractionCenterError, InvalidInput, Unauthorized
from interaction_center.domain.untrusted import parse_json
from interaction_center.domain.wire import AgentFrame, LogPositions, error_frame, pong_frame, position_frame
from interaction_center.services import Services
from interaction_center.web.auth import credentials, own_origin
from interaction_center.web.keys import SERVICES

log = logging.getLogger(__name__)

AUTH_WAIT_SECONDS = 10.0
_UNAUTHORIZED_CLOSE = 4401
# An event's number: it fits a signed 64-bit column.
_SEQ = re.compile(r"[0-9]{1,18}")


async def agent_socket(request: web.Request) -> web.WebSocketResponse:
    services = request.app[SERVICES]
    found = credentials(request)
    if found is not None and found[1] and not own_origin(request):
        # Another site's page opening the socket with the visitor's session cookie: SameSite
        # keeps the cookie from it in browsers that honour it, and this in any other.
        raise Forbidden(
            "a socket signed in by the session cookie must come from this service's pages", code="auth.cross_site"
        )
    since = _since(request)
    socket = live_socket(max_msg_size=64 * 1024)
    await socket.prepare(request)
    try:
        token = found[0] if found is not None else await _token_frame(socket)
        agent = await services.accounts.authenticate(token)
    except Unauthorized as exc:
        await socket.send_json(error_frame(exc.code, exc.message))
        await socket.close(code=_UNAUTHORIZED_CLOSE, message=b"unauthorized")
        return socket
    # Attached held, in the same step as the pushes' position is read: the frames of
    # events up to it went out before, and the later ones wait for this socket until its
    # hello and what it missed are sent.
    upto = services.pushes.position
    services.hub.attach_login(agent.id, socket, token_digest(token), held=True)
    log.info("agent %s: live channel open", agent.id)
    try:
        await services.presence.connected(agent.id)
        missed = await _missed(services, agent, since, upto)
        offers = await services.work.offers(agent)
        frames: list[AgentFrame] = [serialize.hello_frame(agent, offers, upto, resumed=missed is not None)]
        if missed is not None and upto is not None:
            # What it missed, then where its place now stands.
            frames += [*(frame for _, frame in missed), position_frame(upto)]
        for pushed in frames:
            services.hub.push_to(agent.id, socket, pushed)
        services.hub.release(agent.id, socket)
        async for frame in socket:
            if frame.type == WSMsgType.TEXT:
                await _handle(request, socket, agent, frame.data)
    finally:
        services.hub.detach(agent.id, socket)
        if not services.hub.connected(agent.id):
            services.floor.unsubscribe(agent.id)
        log.info("agent %s: live channel closed", agent.id)
        if not services.hub.connected(agent.id):
            # Shielded: the agent's offers must go back to the queue even if aiohttp
            # cancels this handler; the hub waits for the task on shutdown.
            await asyncio.shield(services.hub.after_disconnect(services.presence.disconnected(agent.id)))
    return socket


async def _handle(request: web.Request, socket: web.WebSocketResponse, agent: Account, raw: str) -> None:
    """``ping``, and ``{"type": "typing", "interaction_id"}``: the agent is writing to a
    chat visitor, who sees it. A frame that is not JSON we can take gets an error frame;
    other frames are ignored: this channel is mostly one way."""
    if raw == '{"type":"ping"}':
        await socket.send_json(pong_frame())
        return
    try:
        data = parse_json(raw, code="input.bad_json")
        if not isinstance(data, dict):
            return
        if data.get("type") in ("subscribe", "unsubscribe"):
            await _floor(request, agent, data)
            return
        if data.get("type") != "typing" or not isinstance(data.get("interaction_id"), str):
            return
        await request.app[SERVICES].chat.agent_typing(agent.id, data["interaction_id"])
    except InteractionCenterError as exc:
        await socket.send_json(error_frame(exc.code, exc.message))
    except Exception:
        # One frame's failure is that frame's: the agent's live channel stays open.
        log.exception("agent %s: frame failed", agent.id)
        await socket.send_json(error_frame("internal", "internal error; it has been logged"))


async def _floor(request: web.Request, agent: Account, data: dict[str, Any]) -> None:
    """``{"type": "subscribe", "topic": "floor", "since"?: SEQ}`` (supervisors): the live
    floor, from the frame after ``since`` when given; ``unsubscribe`` ends it."""
    if data.get("topic") != "floor":
        raise InvalidInput("the only topic is 'floor'", code="ws.bad_topic")
    if not can_supervise(agent):
        raise Forbidden("the floor is for supervisors", code="auth.role")
    floor = request.app[SERVICES].floor
    if data["type"] == "unsubscribe":
        floor.unsubscribe(agent.id)
        return
    since = data.get("since")
    if since is not None and (not isinstance(since, int) or isinstance(since, bool) or since < 0):
        raise InvalidInput("since: the seq of the last floor frame seen", code="ws.bad_since")
    await floor.subscribe(agent.id, since)


async def _token_frame(socket: web.WebSocketResponse) -> str:
    try:
        frame = await socket.receive(timeout=AUTH_WAIT_SECONDS)
    except TimeoutError as exc:
        raise Unauthorized("no auth frame in time", code="auth.missing") from exc
    try:
        data = parse_json(frame.data, code="auth.missing") if frame.type == WSMsgType.TEXT else None
    except InvalidInput:
        data = None
    token = data.get("token") if isinstance(data, dict) and data.get("type") == "auth" else None
    if not isinstance(token, str) or not token:
        raise Unauthorized('the first frame must be {"type": "auth", "token": "..."}', code="auth.missing")
    return token


async def _missed(
    services: Services, agent: Account, since: LogPositions | None, upto: LogPositions | None
) -> Frames | None:
    """The frames the socket missed since ``since``, or None: none asked for, too far
    behind, or the log not read (the desk then reads its state again, as on a first
    connect)."""
    if since is None or upto is None:
        return None
    try:
        return await services.pushes.missed(agent.id, since, upto)
    except Exception:
        log.exception("agent %s: the frames missed could not be read; the desk reads its state again", agent.id)
        return None


def _since(request: web.Request) -> LogPositions | None:
    """``?interactions=N&agents=M``: the last number of each stream the agent's socket saw
    (from the frames' ``log``, or the last ``hello``'s), when it reconnects."""
    given = {key: request.query[key] for key in ("interactions", "agents") if key in request.query}
    if not given:
        return None
    numbers = {key: value for key, value in given.items() if _SEQ.fullmatch(value)}
    if len(numbers) < 2:
        raise InvalidInput("interactions and agents: the last number of each stream seen, both", code="ws.bad_position")
    return {"interactions": int(numbers["interactions"]), "agents": int(numbers["agents"])}


def register(app: web.Application) -> None:
    app.router.add_get("/api/v1/ws", agent_socket)
