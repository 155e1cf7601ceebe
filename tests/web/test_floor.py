"""The supervisors' live floor on their WebSocket: a snapshot on subscribing, then what
changed (at most every half second), numbered so a reconnect resumes where it left off;
agents may not subscribe."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse

from interaction_center.settings.model import Settings
from tests.support import ADMIN, Client, accept_first, agent_id, login, next_frame, post_sms, set_status, sms_form


async def _subscribed(client: Client, headers: dict[str, str], since: int | None = None) -> ClientWebSocketResponse:
    socket = await client.ws_connect("/api/v1/ws", headers=headers)
    await next_frame(socket, "hello")
    await socket.send_json({"type": "subscribe", "topic": "floor", **({} if since is None else {"since": since})})
    return socket


Start = Callable[[Settings], Awaitable[Client]]
Make = Callable[..., Settings]


def _row(frame: dict[str, Any], queue: str = "support", channel: str = "sms") -> dict[str, Any] | None:
    return next((q for q in frame["queues"] if (q["queue"], q["channel"]) == (queue, channel)), None)


async def _change(socket: ClientWebSocketResponse, wanted: Any) -> dict[str, Any]:
    """The first change frame that ``wanted`` accepts."""
    while True:
        frame = await next_frame(socket, "floor_changes")
        if wanted(frame):
            return frame


async def test_a_supervisor_sees_the_floor_then_its_changes(client: Client) -> None:
    sam, alice = await login(client, "sam"), await login(client, "alice")
    socket = await _subscribed(client, sam)
    snapshot = await next_frame(socket, "floor")
    assert (_row(snapshot) or {}).get("waiting") == 0
    assert {a["username"]: a["status"] for a in snapshot["agents"]}["alice"] == "offline"

    await post_sms(client, sms_form())
    waiting = await _change(socket, lambda f: (_row(f) or {}).get("waiting") == 1)
    assert waiting["seq"] > snapshot["seq"]
    later = await _change(socket, lambda f: (_row(f) or {}).get("longest_wait_seconds", 0) > 0)
    assert later["seq"] > waiting["seq"]

    await set_status(client, alice, "available")
    moved = await _change(socket, lambda f: any(a["username"] == "alice" for a in f["agents"]))
    [mine] = [a for a in moved["agents"] if a["username"] == "alice"]
    assert mine["status"] == "available"
    await socket.close()


async def test_each_agents_occupancy_is_on_the_floor_and_in_the_agents_list(client: Client) -> None:
    sam, alice = await login(client, "sam"), await login(client, "alice")
    socket = await _subscribed(client, sam)
    snapshot = await next_frame(socket, "floor")
    # Offline: counted in no figure.
    assert {a["username"]: a["occupancy"] for a in snapshot["agents"]}["alice"] is None

    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    await accept_first(client, alice)
    # One SMS of the five alice takes at once.
    busy = await _change(socket, lambda f: any(a["username"] == "alice" and a["occupancy"] for a in f["agents"]))
    [mine] = [a for a in busy["agents"] if a["username"] == "alice"]
    assert mine["occupancy"] == pytest.approx(1 / 5)
    listed = await (await client.get("/api/v1/agents", headers=sam)).json()
    occupancy = {a["username"]: a["occupancy"] for a in listed["agents"]}
    assert (occupancy["alice"], occupancy["bob"]) == (pytest.approx(1 / 5), None)
    # The queue's figure is the mean over its signed-in agents: alice alone.
    queues = await (await client.get("/api/v1/queues", headers=sam)).json()
    assert (_row(queues) or {})["occupancy"] == pytest.approx(1 / 5)
    await socket.close()


async def test_changes_come_at_most_twice_a_second(client: Client) -> None:
    socket = await _subscribed(client, await login(client, "sam"))
    await next_frame(socket, "floor")
    started = time.monotonic()
    for n in range(8):
        await post_sms(client, sms_form(sender=f"+1555123{n:04d}"))
        await asyncio.sleep(0.1)
    # Until a second and a half after the last contact, however long posting took (on a
    # busy machine, longer than any fixed window): its change has been sent by then.
    until = time.monotonic() + 1.5
    frames = []
    while (left := until - time.monotonic()) > 0:
        try:
            frames.append(await next_frame(socket, "floor_changes", timeout=max(0.05, left)))
        except TimeoutError:
            break
    window = time.monotonic() - started
    # Twice a second over the window, and one at its start.
    assert 1 <= len(frames) <= 2 * window + 1, (len(frames), window)
    await socket.close()


async def test_a_reconnect_resumes_from_the_last_seq_seen(client: Client) -> None:
    sam = await login(client, "sam")
    socket = await _subscribed(client, sam)
    seen = (await next_frame(socket, "floor"))["seq"]
    await socket.close()
    await post_sms(client, sms_form())
    await asyncio.sleep(0.3)

    resumed = await _subscribed(client, sam, since=seen)
    frame = await resumed.receive_json(timeout=5)
    while frame["type"] not in ("floor", "floor_changes"):
        frame = await resumed.receive_json(timeout=5)
    assert (frame["type"], frame["seq"]) == ("floor_changes", seen + 1)
    await resumed.close()

    too_far = await _subscribed(client, sam, since=10**6)
    assert (await next_frame(too_far, "floor"))["seq"] >= seen + 1
    await too_far.close()


async def test_agents_may_not_subscribe_and_bad_frames_are_refused(client: Client) -> None:
    socket = await _subscribed(client, await login(client, "alice"))
    assert (await next_frame(socket, "error"))["code"] == "auth.role"
    await socket.close()
    sam = await client.ws_connect("/api/v1/ws", headers=await login(client, "sam"))
    await next_frame(sam, "hello")
    for frame, code in (
        ({"type": "subscribe", "topic": "gossip"}, "ws.bad_topic"),
        ({"type": "subscribe", "topic": "floor", "since": -1}, "ws.bad_since"),
        ({"type": "subscribe", "topic": "floor", "since": "3"}, "ws.bad_since"),
    ):
        await sam.send_json(frame)
        assert (await next_frame(sam, "error"))["code"] == code
    await sam.close()


async def test_a_deactivated_agent_leaves_the_floor(app_factory: Start, settings_factory: Make) -> None:
    client = await app_factory(settings_factory(top=ADMIN))
    ada, bob = await login(client, "ada"), await login(client, "bob")
    socket = await _subscribed(client, await login(client, "sam"))
    await next_frame(socket, "floor")
    bob_id = await agent_id(client, bob)
    assert (await client.post(f"/api/v1/agents/{bob_id}/deactivate", headers=ada)).status == 200
    gone = await _change(socket, lambda f: bob_id in f["removed_agents"])
    assert all(a["id"] != bob_id for a in gone["agents"])
    await socket.close()
