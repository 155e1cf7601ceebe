"""A reconnecting agent's socket catches up from the event log (dispatch/pushes.py): it
names the last number of each stream it saw, and gets the frames of what happened since,
after its hello and before any live frame, each once; further behind than the service
replays, or with positions of no use, its hello says so and the desk reads its state
again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse

from interaction_center.dispatch import pushes
from interaction_center.web.keys import SERVICES
from tests.support import (
    Client,
    accept_first,
    agent_id,
    login,
    next_frame,
    post_sms,
    pushed,
    set_status,
    sms_form,
)


def since(place: dict[str, int]) -> str:
    return f"?interactions={place['interactions']}&agents={place['agents']}"


def seen(hello: dict[str, Any], frames: list[dict[str, Any]]) -> dict[str, int]:
    """The last number of each stream a socket saw: its hello's, then its frames'."""
    place = dict(hello["log"])
    for frame in frames:
        if "log" in frame:
            place[frame["log"]["stream"]] = frame["log"]["seq"]
    return place


async def frames_until_quiet(socket: ClientWebSocketResponse, timeout: float = 0.5) -> list[dict[str, Any]]:
    frames = []
    while True:
        try:
            frames.append(await socket.receive_json(timeout=timeout))
        except TimeoutError:
            return frames


async def took_an_sms_and_left(client: Client, agent: dict[str, str]) -> dict[str, int]:
    """The agent's socket sees them take an SMS ("first") and closes: the place it had."""
    socket = await client.ws_connect("/api/v1/ws", headers=agent)
    hello = await next_frame(socket, "hello")
    await set_status(client, agent, "available")
    await post_sms(client, sms_form(sender="+15551230001", body="first"))
    await accept_first(client, agent)
    await pushed(client)
    place = seen(hello, await frames_until_quiet(socket))
    await socket.close()
    return place


async def test_a_reconnect_gets_what_it_missed_in_order_then_live_frames_once(client: Client) -> None:
    alice = await login(client, "alice")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    hello = await next_frame(socket, "hello")
    assert hello["resumed"] is False and hello["log"] is not None
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender="+15551230001", body="first"))
    taken = await accept_first(client, alice)
    # A second tab stays open throughout: it is not sent the first one's catching up.
    other = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(other, "hello")
    await pushed(client)
    heard = await frames_until_quiet(socket)
    place = seen(hello, heard)

    await socket.close()
    for body in ("second", "third"):
        await post_sms(client, sms_form(sender="+15551230001", body=body))
    await pushed(client)

    socket = await client.ws_connect(f"/api/v1/ws{since(place)}", headers=alice)
    again = await socket.receive_json(timeout=5)
    assert again["type"] == "hello" and again["resumed"] is True
    caught_up = await frames_until_quiet(socket)
    missed = [frame for frame in caught_up if frame["type"] == "message"]
    assert [(frame["interaction_id"], frame["message"]["body"]) for frame in missed] == [
        (taken["id"], "second"),
        (taken["id"], "third"),
    ]
    assert all(frame["log"]["seq"] <= again["log"]["interactions"] for frame in missed)
    # Then where its place stands: the hello's positions, now that what it missed is sent.
    assert caught_up[-1] == {"type": "position", "log": again["log"]}

    await post_sms(client, sms_form(sender="+15551230001", body="fourth"))
    live = await next_frame(socket, "message")
    assert live["message"]["body"] == "fourth" and live["log"]["seq"] > again["log"]["interactions"]
    assert [frame["message"]["body"] for frame in await frames_until_quiet(other) if frame["type"] == "message"] == [
        "second",
        "third",
        "fourth",
    ]
    await socket.close()
    await other.close()


async def test_a_reconnect_hears_the_status_it_missed(client: Client) -> None:
    alice, sam = await login(client, "alice"), await login(client, "sam")
    alice_id = await agent_id(client, alice)
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    hello = await next_frame(socket, "hello")
    await set_status(client, alice, "available")
    place = seen(hello, [await next_frame(socket, "status")])
    # Another tab keeps the agent signed in while this one is away.
    other = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(other, "hello")
    await socket.close()
    status = f"/api/v1/agents/{alice_id}/status"
    response = await client.put(status, json={"status": "away", "reason": "meeting"}, headers=sam)
    assert response.status == 200, await response.text()
    await pushed(client)

    socket = await client.ws_connect(f"/api/v1/ws{since(place)}", headers=alice)
    assert (await next_frame(socket, "hello"))["resumed"] is True
    missed = await next_frame(socket, "status")
    assert (missed["status"], missed["reason"], missed["log"]["stream"]) == ("away", "meeting", "agents")
    await socket.close()
    await other.close()


async def test_a_socket_further_behind_than_the_replay_reads_its_state_again(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pushes, "REPLAY_EVENTS", 1)
    alice = await login(client, "alice")
    place = await took_an_sms_and_left(client, alice)
    for body in ("second", "third"):
        await post_sms(client, sms_form(sender="+15551230001", body=body))
    await pushed(client)

    socket = await client.ws_connect(f"/api/v1/ws{since(place)}", headers=alice)
    again = await next_frame(socket, "hello")
    assert again["resumed"] is False
    assert not [frame for frame in await frames_until_quiet(socket) if frame["type"] == "message"]
    await socket.close()

    # Positions ahead of the log (another service's, a database restored since): the same.
    ahead = {"interactions": again["log"]["interactions"] + 1, "agents": again["log"]["agents"]}
    socket = await client.ws_connect(f"/api/v1/ws{since(ahead)}", headers=alice)
    assert (await next_frame(socket, "hello"))["resumed"] is False
    await socket.close()


@pytest.mark.parametrize(
    "query",
    [
        "?interactions=1",
        "?agents=1",
        "?interactions=x&agents=1",
        "?interactions=-1&agents=1",
        f"?interactions={10**18}&agents=1",
    ],
)
async def test_positions_that_are_not_numbers_of_both_streams_are_refused(client: Client, query: str) -> None:
    alice = await login(client, "alice")
    response = await client.get(f"/api/v1/ws{query}", headers=alice)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "ws.bad_position"


async def test_an_agent_hears_when_a_supervisor_takes_or_moves_what_they_hold(client: Client) -> None:
    alice, sam = await login(client, "alice"), await login(client, "sam")
    sam_id = await agent_id(client, sam)
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender="+15551230001"))
    first = await accept_first(client, alice)
    await post_sms(client, sms_form(sender="+15551230002"))
    second = await accept_first(client, alice)

    response = await client.post(f"/api/v1/interactions/{first['id']}/take-over", headers=sam)
    assert response.status == 200, await response.text()
    taken = await next_frame(socket, "work_taken")
    assert (taken["interaction_id"], taken["reason"], taken["by"]) == (first["id"], "taken_over", sam_id)
    moved = await client.post(f"/api/v1/interactions/{second['id']}/move", json={"queue": "sales"}, headers=sam)
    assert moved.status == 200, await moved.text()
    taken = await next_frame(socket, "work_taken")
    assert (taken["interaction_id"], taken["reason"], taken["by"]) == (second["id"], "transferred", sam_id)
    await socket.close()


async def test_an_agent_who_transfers_their_own_work_is_not_told(client: Client) -> None:
    alice = await login(client, "alice")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender="+15551230001"))
    held = await accept_first(client, alice)
    response = await client.post(
        f"/api/v1/interactions/{held['id']}/transfer",
        json={"queue": "sales", "note": "a sales question"},
        headers=alice,
    )
    assert response.status == 200, await response.text()
    await pushed(client)
    assert not [frame for frame in await frames_until_quiet(socket) if frame["type"] == "work_taken"]
    await socket.close()


async def test_frames_of_events_written_while_a_socket_joins_come_once_after_what_it_missed(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await login(client, "alice")
    place = await took_an_sms_and_left(client, alice)
    await post_sms(client, sms_form(sender="+15551230001", body="second"))
    await pushed(client)
    # The read of what it missed takes a while, and the customer writes twice meanwhile.
    services = client.app[SERVICES]
    read = services.pushes.missed

    async def slowly(*args: Any) -> Any:
        await asyncio.sleep(0.5)
        return await read(*args)

    monkeypatch.setattr(services.pushes, "missed", slowly)
    joining = asyncio.ensure_future(client.ws_connect(f"/api/v1/ws{since(place)}", headers=alice))
    await asyncio.sleep(0.2)
    for body in ("third", "fourth"):
        await post_sms(client, sms_form(sender="+15551230001", body=body))
    socket = await joining

    frames = await frames_until_quiet(socket, timeout=1.0)
    assert frames[0]["type"] == "hello" and frames[0]["resumed"] is True
    assert [frame["message"]["body"] for frame in frames if frame["type"] == "message"] == ["second", "third", "fourth"]
    await socket.close()


async def test_when_what_was_missed_cannot_be_read_the_desk_is_told_to_read_again(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await login(client, "alice")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    hello = await next_frame(socket, "hello")
    await socket.close()
    services = client.app[SERVICES]

    async def failing(*args: Any) -> Any:
        raise OSError("the database went away")

    monkeypatch.setattr(services.pushes, "missed", failing)
    socket = await client.ws_connect(f"/api/v1/ws{since(hello['log'])}", headers=alice)
    assert (await next_frame(socket, "hello"))["resumed"] is False
    await socket.send_str('{"type":"ping"}')
    assert await next_frame(socket, "pong") == {"type": "pong"}
    await socket.close()


async def test_every_socket_is_told_where_the_pushes_stand(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pushes, "POSITION_SECONDS", 0.0)
    alice, bob = await login(client, "alice"), await login(client, "bob")
    quiet = await client.ws_connect("/api/v1/ws", headers=bob)
    hello = await next_frame(quiet, "hello")
    await set_status(client, alice, "available")  # nothing bob hears of
    await pushed(client)

    position = await next_frame(quiet, "position")
    assert position["log"]["agents"] > hello["log"]["agents"]
    await quiet.close()
