"""WebSocket frames, the visitors' (``/chat/ws``) and the agents' (``/api/v1/ws``):
whatever a frame holds, it gets an error frame (or its answer), the socket stays open, and
nothing is stored but what was acknowledged."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from interaction_center.web.keys import SERVICES
from storage.models import InteractionEvent, Message
from tests.hostile import FUZZ, json_text
from tests.support import Client, login, next_frame

# Under what each WebSocket layer takes (256 KiB for visitors, 64 KiB for agents): beyond
# it, aiohttp closes the socket itself, as documented.
_CHAT_FRAME = 200_000
_AGENT_FRAME = 60_000
_CHAT_TYPES = ["start", "resume", "message", "typing", "end", "rate"]


async def stored_messages(client: Client) -> int:
    async with client.app[SERVICES].sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def until_error(socket: ClientWebSocketResponse, code: str) -> list[dict[str, Any]]:
    """Frames up to and including the error frame ``code``: the socket is still serving.
    (A resume whose token opens nothing ends here: such a socket is closed, as documented.)"""
    frames: list[dict[str, Any]] = []
    while True:
        message = await socket.receive(timeout=5)
        if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED) and socket.close_code == 4401:
            assert frames[-1]["code"] == "chat.bad_token"
            return frames
        assert message.type == WSMsgType.TEXT, message
        frame = message.json()
        frames.append(frame)
        if frame["type"] == "error" and frame["code"] == code:
            return frames


async def test_a_chat_frame_nested_too_deep_or_with_a_lone_surrogate_gets_an_error_frame(chat_client: Client) -> None:
    socket = await chat_client.ws_connect("/chat/ws")
    for frame, code in (
        ("[" * 5_000, "chat.bad_frame"),
        ('{"type": "start", "name": "\\ud800"}', "input.unstorable"),
        ('{"type": "start", "name": "nul\\u0000"}', "input.unstorable"),
    ):
        await socket.send_str(frame)
        reply = await next_frame(socket, "error")
        assert reply["code"] == code, frame
    await socket.send_json({"type": "start", "name": "Jo"})
    assert (await next_frame(socket, "started"))["token"]


@FUZZ
@given(frame=json_text(_CHAT_FRAME, _CHAT_TYPES).filter(lambda f: len(f) < _CHAT_FRAME), started=st.booleans())
async def test_any_chat_frame_gets_an_answer_and_stores_only_what_it_acknowledges(
    chat_client: Client, frame: str, started: bool
) -> None:
    before = await stored_messages(chat_client)
    socket = await chat_client.ws_connect("/chat/ws")
    if started:
        await socket.send_json({"type": "start", "name": "Fuzz"})
        await next_frame(socket, "started")
    await socket.send_str(frame)
    # Not JSON: chat.bad_frame whatever state the socket is in.
    await socket.send_str("not json")
    frames = await until_error(socket, "chat.bad_frame")
    acks = sum(1 for f in frames if f["type"] == "ack")
    # Every error is one the edge chose: none is an exception it did not expect.
    assert all(f["code"] not in ("chat.failed", "internal") for f in frames if f["type"] == "error")
    assert await stored_messages(chat_client) - before <= acks
    await socket.close()


async def test_an_agent_frame_nested_too_deep_or_with_a_lone_surrogate_gets_an_error_frame(client: Client) -> None:
    alice = await login(client, "alice")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    for frame, code in (
        ("[" * 50_000, "input.bad_json"),
        ('{"type": "typing", "interaction_id": "\\udfff"}', "input.unstorable"),
    ):
        await socket.send_str(frame)
        assert (await next_frame(socket, "error"))["code"] == code, frame
    await socket.send_str('{"type":"ping"}')
    await next_frame(socket, "pong")


@FUZZ
@given(frame=json_text(_AGENT_FRAME, ["typing", "ping", "auth"]).filter(lambda f: len(f) < _AGENT_FRAME))
async def test_any_agent_frame_gets_an_answer_or_is_ignored_and_the_socket_stays_open(
    client: Client, frame: str
) -> None:
    alice = await login(client, "alice")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    await socket.send_str(frame)
    await socket.send_str('{"type":"ping"}')
    while (reply := await socket.receive_json(timeout=10))["type"] != "pong":
        assert reply["type"] != "error" or reply["code"] in ("input.bad_json", "input.unstorable", "not_found")
    await socket.close()


async def rated_events(client: Client) -> int:
    async with client.app[SERVICES].sessions() as session:
        found = select(func.count()).select_from(InteractionEvent).where(InteractionEvent.type == "rated")
        return int(await session.scalar(found) or 0)


@FUZZ
@given(
    score=st.one_of(st.integers(-3, 8), st.floats(allow_nan=False), st.booleans(), st.text(max_size=3), st.none()),
    comment=st.one_of(st.none(), st.integers(), st.text(max_size=1010), st.just(" " * 1001), st.just("nul\x00")),
    twice=st.booleans(),
)
async def test_a_rating_is_recorded_once_or_refused_with_a_clear_error(
    chat_client: Client, score: object, comment: object, twice: bool
) -> None:
    before = await rated_events(chat_client)
    socket = await chat_client.ws_connect("/chat/ws")
    await socket.send_json({"type": "start"})
    await next_frame(socket, "started")
    await socket.send_json({"type": "message", "client_id": "1", "body": "Hello"})
    await next_frame(socket, "ack")
    frame = (
        {"type": "rate", "score": score} if comment is None else {"type": "rate", "score": score, "comment": comment}
    )
    valid_score = type(score) is int and 1 <= score <= 5
    valid_comment = comment is None or (isinstance(comment, str) and len(comment) <= 1000 and "\x00" not in comment)
    await socket.send_json(frame)
    if valid_score and valid_comment:
        await next_frame(socket, "rated")
        if twice:
            await socket.send_json(frame)
            assert (await next_frame(socket, "error"))["code"] == "chat.already_rated"
        assert await rated_events(chat_client) - before == 1
    else:
        error = await next_frame(socket, "error")
        assert error["code"] in ("chat.bad_frame", "chat.too_large", "input.unstorable"), error
        assert await rated_events(chat_client) == before
    await socket.close()
