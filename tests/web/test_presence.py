"""An agent's presence: a dropped live channel sets an available agent away at once (their
offers back in the queue), a channel back within the grace makes them available again,
past it their session ends (offline); logging out ends it at once, closing their sockets,
unless another login of theirs is still live."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType

from interaction_center.desk import presence as presence_module
from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from tests.support import (
    Client,
    closed_with,
    interaction,
    login,
    next_frame,
    post_sms,
    set_status,
    sms_form,
    still_open,
)

Start = Callable[[Settings], Awaitable[Client]]
Make = Callable[..., Settings]


async def _me(client: Client, headers: dict[str, str]) -> tuple[str, str | None]:
    me = await (await client.get("/api/v1/agents/me", headers=headers)).json()
    return me["status"], me["status_reason"]


async def _becomes(client: Client, headers: dict[str, str], wanted: tuple[str, str | None]) -> None:
    for _ in range(100):
        if await _me(client, headers) == wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {wanted}, still {await _me(client, headers)}")


async def _back_in_queue(client: Client, headers: dict[str, str], interaction_id: str) -> None:
    for _ in range(100):
        if (await interaction(client, headers, interaction_id))["state"] == "queued":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"interaction {interaction_id} never went back to its queue")


async def _comes_to(client: Client, headers: dict[str, str], interaction_id: str) -> ClientWebSocketResponse:
    """A new socket of the agent's, on which the interaction is offered: in its hello
    (offered as the socket opened) or in an offer frame after it."""
    socket = await client.ws_connect("/api/v1/ws", headers=headers)
    hello = await next_frame(socket, "hello")
    if interaction_id not in [o["id"] for o in hello["offers"]]:
        assert (await next_frame(socket, "offer"))["interaction_id"] == interaction_id
    return socket


async def _offered_then_dropped(client: Client, alice: dict[str, str]) -> dict[str, Any]:
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    offer = await next_frame(socket, "offer")
    await socket.close()
    return offer


async def test_a_channel_back_within_the_grace_makes_the_agent_available_again(
    app_factory: Start, settings_factory: Make
) -> None:
    client = await app_factory(settings_factory(routing="disconnect_grace_seconds = 30"))
    alice, sam = await login(client, "alice"), await login(client, "sam")
    offer = await _offered_then_dropped(client, alice)
    await _becomes(client, alice, ("away", "disconnected"))
    # The agent's state is stored before their offer's return, which follows it.
    await _back_in_queue(client, sam, offer["interaction_id"])

    # Available again as the channel opens: the contact that went back comes to them again.
    socket = await _comes_to(client, alice, offer["interaction_id"])
    assert (await _me(client, alice))[0] == "available"
    await socket.close()


async def test_past_the_grace_the_session_ends_offline(app_factory: Start, settings_factory: Make) -> None:
    client = await app_factory(settings_factory(routing="disconnect_grace_seconds = 0.2"))
    alice = await login(client, "alice")
    await _offered_then_dropped(client, alice)
    await _becomes(client, alice, ("offline", "disconnected"))
    # A channel opened afterwards starts a new session: the agent says when they are ready.
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    assert await _me(client, alice) == ("offline", "disconnected")
    await socket.close()


async def test_a_session_whose_grace_timer_died_with_its_instance_still_ends(
    app_factory: Start, settings_factory: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presence_module, "SWEEP_SECONDS", 0.1)
    client = await app_factory(settings_factory(routing="disconnect_grace_seconds = 0.5"))
    alice = await login(client, "alice")
    await _offered_then_dropped(client, alice)
    await _becomes(client, alice, ("away", "disconnected"))
    # As when the instance that held the desk is stopped or dies within the grace: its
    # timers go with it. Another instance's sweep (here the same one's) ends the session.
    await client.app[SERVICES].presence.close()
    await _becomes(client, alice, ("offline", "disconnected"))


async def test_an_agent_away_for_lunch_is_not_made_available_by_a_new_channel(client: Client) -> None:
    alice = await login(client, "alice")
    await set_status(client, alice, "away")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    assert (await _me(client, alice))[0] == "away"
    await socket.close()


async def test_logging_out_ends_the_session_returns_the_offer_and_closes_the_sockets(client: Client) -> None:
    alice, bob, sam = await login(client, "alice"), await login(client, "bob"), await login(client, "sam")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    offer = await next_frame(socket, "offer")

    assert (await client.post("/api/v1/auth/logout", headers=alice)).status == 200

    # Whatever frames were already on their way (the agent offline, say), then the close.
    while (message := await socket.receive(timeout=5)).type is WSMsgType.TEXT:
        pass
    assert (message.type, message.data, message.extra) == (WSMsgType.CLOSE, 4001, "logged out")
    agents = await (await client.get("/api/v1/agents", headers=sam)).json()
    mine = next(a for a in agents["agents"] if a["username"] == "alice")
    assert (mine["status"], mine["status_reason"]) == ("offline", "logged_out")
    assert (await interaction(client, sam, offer["interaction_id"]))["state"] == "queued"
    # The offer went back, to someone who is there.
    await set_status(client, bob, "available")
    await (await _comes_to(client, bob, offer["interaction_id"])).close()


async def test_logging_out_on_one_device_leaves_the_other_login_working(client: Client) -> None:
    desk, phone = await login(client, "alice"), await login(client, "alice")
    desk_socket = await client.ws_connect("/api/v1/ws", headers=desk)
    phone_socket = await client.ws_connect("/api/v1/ws", headers=phone)
    for socket in (desk_socket, phone_socket):
        await next_frame(socket, "hello")
    await set_status(client, desk, "available")
    assert (await client.post("/api/v1/auth/logout", headers=phone)).status == 200
    assert await _me(client, desk) == ("available", None)
    # The phone's socket went with its login; the desk's lives on.
    assert await closed_with(phone_socket) == (4001, "logged out")
    await still_open(desk_socket)
    await desk_socket.close()
