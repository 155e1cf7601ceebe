"""The wire format holds: in one flow end to end over real sockets, every frame an agent
and a chat visitor receive, and every REST body, has exactly the keys, and values of the
types, that its declared shape in ``domain/wire.py`` gives; every declared frame is sent."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

from aiohttp import ClientWebSocketResponse

from interaction_center.domain import wire
from interaction_center.settings.model import Settings
from tests.channels.conftest import CHAT
from tests.support import PASSWORDS, AppFactory


def conformance_errors(value: object, hint: Any, where: str = "$") -> list[str]:
    """How ``value`` (decoded JSON) departs from the type ``hint``; empty when it conforms."""
    if hint is Any:
        return []
    if is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        hints = get_type_hints(hint)
        errors = [f"{where}: missing {key!r}" for key in sorted(hint.__required_keys__ - value.keys())]
        errors += [f"{where}: undeclared {key!r}" for key in sorted(value.keys() - hints.keys())]
        for key in sorted(value.keys() & hints.keys()):
            errors += conformance_errors(value[key], hints[key], f"{where}.{key}")
        return errors
    origin, args = get_origin(hint), get_args(hint)
    if origin is Literal:
        return [] if value in args else [f"{where}: {value!r} is not one of {args}"]
    if origin in (Union, types.UnionType):
        if any(not conformance_errors(value, option, where) for option in args):
            return []
        return [f"{where}: {value!r} is none of {hint}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        return [error for n, item in enumerate(value) for error in conformance_errors(item, args[0], f"{where}[{n}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        return [error for key, item in value.items() for error in conformance_errors(item, args[1], f"{where}.{key}")]
    if hint is type(None):
        return [] if value is None else [f"{where}: {value!r} is not null"]
    # JSON has one kind of number: a float field may hold a whole number.
    kinds = {str: (str,), bool: (bool,), int: (int,), float: (int, float)}[hint]
    if isinstance(value, kinds) and (hint is bool or not isinstance(value, bool)):
        return []
    return [f"{where}: {value!r} is not a {hint.__name__}"]


def by_tag(frames: Any) -> dict[str, Any]:
    """A socket's frame types by their ``type`` tag."""
    return {get_args(get_type_hints(frame)["type"])[0]: frame for frame in get_args(frames)}


AGENT_FRAMES = by_tag(wire.AgentFrame)
# A supervisor's frames of a call they are on: sent in a call's flow, checked there
# (tests/voice/test_call_control.py).
CALL_FRAMES = {"monitor"}
VISITOR_FRAMES = by_tag(wire.VisitorFrame)


class Heard:
    """Every frame one socket receives, in order; ``next`` takes the first not yet taken of
    a kind, reading on as needed."""

    def __init__(self, socket: ClientWebSocketResponse) -> None:
        self.socket = socket
        self.frames: list[dict[str, Any]] = []
        self._untaken: list[dict[str, Any]] = []

    async def next(self, kind: str) -> dict[str, Any]:
        async with asyncio.timeout(5):
            while True:
                for frame in self._untaken:
                    if frame["type"] == kind:
                        self._untaken.remove(frame)
                        return frame
                frame = await self.socket.receive_json()
                self.frames.append(frame)
                self._untaken.append(frame)


def frame_errors(heard: list[Heard], declared: dict[str, Any]) -> list[str]:
    frames = [frame for socket in heard for frame in socket.frames]
    return [
        error
        for frame in frames
        for error in (
            conformance_errors(frame, declared[frame["type"]], frame["type"])
            if frame["type"] in declared
            else [f"undeclared frame {frame!r}"]
        )
    ]


def test_the_check_finds_a_missing_an_undeclared_and_a_mistyped_key() -> None:
    frame = {"type": "offer_closed", "offer_id": 7, "reason": "timeout", "extra": 1}
    assert conformance_errors(frame, wire.OfferClosedFrame, "f") == [
        "f: missing 'interaction_id'",
        "f: missing 'log'",
        "f: undeclared 'extra'",
        "f.offer_id: 7 is not a str",
    ]
    assert conformance_errors({"type": "queued", "position": 1, "expected_wait_seconds": None}, wire.QueuedFrame) == []


async def test_every_frame_and_body_the_service_sends_is_its_declared_shape(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    # A short grace, so that a visitor who leaves abandons their chat within the test.
    client = await app_factory(settings_factory(channels=CHAT.format(grace=0.2), support_channels='["sms", "chat"]'))
    bodies: list[tuple[str, Any, object]] = []

    async def call(method: str, path: str, declared: Any, status: int = 200, as_: str = "", json: object = None) -> Any:
        headers = {"Authorization": f"Bearer {tokens[as_]}"} if as_ else {}
        response = await client.request(method, path, headers=headers, json=json)
        assert response.status == status, await response.text()
        body = await response.json()
        bodies.append((f"{method} {path}", declared, body))
        return body

    tokens: dict[str, str] = {}
    await call("GET", "/healthz", wire.HealthBody)
    await call("GET", "/readyz", wire.HealthBody)
    for name in ("alice", "sam"):
        login = await call(
            "POST", "/api/v1/auth/login", wire.LoginBody, json={"username": name, "password": PASSWORDS[name]}
        )
        tokens[name] = login["token"]
    await call("GET", "/api/v1/agents/me", wire.MeBody, as_="alice")
    await call("GET", "/api/v1/agents/directory", wire.DirectoryBody, as_="alice")
    await call("GET", "/api/v1/offers", wire.ErrorBody, status=401)
    agent = Heard(await client.ws_connect("/api/v1/ws", headers={"Authorization": f"Bearer {tokens['alice']}"}))
    start = (await agent.next("hello"))["log"]
    # The supervisor watches the floor: a snapshot, then changes as the visitor comes in.
    floor = Heard(await client.ws_connect("/api/v1/ws", headers={"Authorization": f"Bearer {tokens['sam']}"}))
    await floor.next("hello")
    await floor.socket.send_json({"type": "subscribe", "topic": "floor"})
    await floor.next("floor")

    # The visitor writes while nobody is available: they hear their place in the queue.
    visitor = Heard(await client.ws_connect("/chat/ws"))
    await visitor.socket.send_json({"type": "start", "name": "Jane"})
    started = await visitor.next("started")
    await visitor.socket.send_json({"type": "message", "client_id": "c1", "body": "Hello, my bill is wrong"})
    ack = await visitor.next("ack")
    await visitor.next("queued")

    # Offered; withdrawn as Alice steps away; offered again.
    await call("PUT", "/api/v1/agents/me/status", wire.AgentBody, as_="alice", json={"status": "available"})
    offer = await agent.next("offer")
    assert offer["interaction_id"] == ack["interaction_id"] and offer["offer_id"]
    assert offer["preview"]["body"] == "Hello, my bill is wrong"
    await call("PUT", "/api/v1/agents/me/status", wire.AgentBody, as_="alice", json={"status": "away"})
    closed = await agent.next("offer_closed")
    assert (closed["offer_id"], closed["interaction_id"], closed["reason"]) == (
        offer["offer_id"],
        offer["interaction_id"],
        "revoked",
    )
    await call("PUT", "/api/v1/agents/me/status", wire.AgentBody, as_="alice", json={"status": "available"})
    offer = await agent.next("offer")
    [offered] = (await call("GET", "/api/v1/offers", wire.OffersBody, as_="alice"))["offers"]
    assert (offered["id"], offered["offer"]["id"]) == (offer["interaction_id"], offer["offer_id"])
    interaction_id = offer["interaction_id"]
    await call("POST", f"/api/v1/offers/{offer['offer_id']}/accept", wire.InteractionBody, as_="alice")
    await visitor.next("assigned")
    await call("POST", f"/api/v1/offers/{offer['offer_id']}/accept", wire.ErrorBody, status=409, as_="alice")

    # Both ways on the sockets: typing, messages, a ping, frames refused.
    await agent.socket.send_str('{"type":"ping"}')
    await agent.next("pong")
    await visitor.socket.send_json({"type": "typing"})
    await agent.next("customer_typing")
    await agent.socket.send_json({"type": "typing", "interaction_id": interaction_id})
    await visitor.next("typing")
    await agent.socket.send_json({"type": "typing", "interaction_id": "no-such-interaction"})
    await agent.next("error")
    await visitor.socket.send_json({"type": "message", "client_id": "c2", "body": "Are you there?"})
    await visitor.next("ack")
    await agent.next("message")
    path = f"/api/v1/interactions/{interaction_id}/messages"
    await call("POST", path, wire.MessageBody, status=201, as_="alice", json={"body": "Let me look"})
    await visitor.next("message")
    await visitor.socket.send_json({"type": "nonsense"})
    await visitor.next("error")

    # Another visitor leaves while their chat is offered: the offer closes as abandoned.
    leaving = Heard(await client.ws_connect("/chat/ws"))
    await leaving.socket.send_json({"type": "start"})
    await leaving.next("started")
    await leaving.socket.send_json({"type": "message", "client_id": "c1", "body": "Hello?"})
    await leaving.next("ack")
    await agent.next("offer")
    await leaving.socket.close()
    assert (await agent.next("offer_closed"))["reason"] == "abandoned"

    returning = Heard(await client.ws_connect("/chat/ws"))
    await returning.socket.send_json({"type": "resume", "token": started["token"]})
    await returning.next("resumed")

    record = await call("GET", f"/api/v1/interactions/{interaction_id}", wire.InteractionBody, as_="alice")
    await call("GET", f"/api/v1/customers/{record['customer_id']}", wire.CustomerBody, as_="alice")
    await call("GET", "/api/v1/agents", wire.AgentsBody, as_="sam")
    await call("GET", "/api/v1/queues", wire.QueuesBody, as_="sam")
    # The visitor ends the chat and the agent hears it; the supervisor takes it over (the
    # agent hears that too) and completes it; the visitor rates it.
    await visitor.socket.send_json({"type": "end"})
    await agent.next("customer_ended")
    await visitor.next("ended")
    await call("POST", f"/api/v1/interactions/{interaction_id}/take-over", wire.InteractionBody, as_="sam")
    await agent.next("work_taken")
    complete = f"/api/v1/interactions/{interaction_id}/complete"
    await call("POST", complete, wire.InteractionBody, as_="sam", json={"disposition": "resolved"})
    await visitor.next("ended")
    await visitor.socket.send_json({"type": "rate", "score": 5, "comment": "Quick and kind"})
    await visitor.next("rated")
    await floor.next("floor_changes")
    await call("POST", "/api/v1/auth/logout", wire.OkBody, as_="sam")
    # Alice's desk opens its socket again where it started: what it missed, then where it is.
    since = f"interactions={start['interactions']}&agents={start['agents']}"
    again = Heard(
        await client.ws_connect(f"/api/v1/ws?{since}", headers={"Authorization": f"Bearer {tokens['alice']}"})
    )
    await again.next("position")
    for heard in (agent, floor, visitor, returning, again):
        await heard.socket.close()

    body_errors = [error for where, declared, body in bodies for error in conformance_errors(body, declared, where)]
    assert body_errors == []
    assert frame_errors([agent, floor, again], AGENT_FRAMES) == []
    assert frame_errors([visitor, leaving, returning], VISITOR_FRAMES) == []
    # The flow sent every frame either kind of socket declares (but a call's).
    assert {
        frame["type"] for heard in (agent, floor, again) for frame in heard.frames
    } == AGENT_FRAMES.keys() - CALL_FRAMES
    assert {frame["type"] for heard in (visitor, leaving, returning) for frame in heard.frames} == VISITOR_FRAMES.keys()
