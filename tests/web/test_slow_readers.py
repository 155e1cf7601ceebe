"""Live sockets never hold the service up: one whose peer stops reading is cut off, not
waited for (pushes come from intake and routing, and one stuck agent desk must not hold up
every other contact), and stopping the service closes them first. Frames still arrive in
the order pushed."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import Awaitable, Callable

from interaction_center.dispatch.notifier import AgentHub
from interaction_center.domain.wire import error_frame
from interaction_center.web.keys import SERVICES
from tests.support import Client, agent_id, login, next_frame, post_sms, set_status, sms_form

# Any frame of the agents' socket will do; an error frame carries a long text simply.
FILLER = error_frame("test.filler", "x" * 65536)


async def _socket_that_never_reads(client: Client, headers: dict[str, str]) -> socket.socket:
    """An agent WebSocket opened by hand: the handshake, then not another byte read."""
    loop = asyncio.get_running_loop()
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await loop.sock_connect(raw, (client.host, client.port))
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        f"GET /api/v1/ws HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: {headers['Authorization']}\r\n\r\n"
    )
    await loop.sock_sendall(raw, handshake.encode())
    status = b""
    while len(status) < 12:
        status += await loop.sock_recv(raw, 12 - len(status))
    assert status == b"HTTP/1.1 101"
    return raw


async def _until(condition: Callable[[], Awaitable[bool]]) -> None:
    while not await condition():
        await asyncio.sleep(0.02)


async def _until_attached(hub: AgentHub, agent_id: str) -> None:
    """Until the service has taken the hand-opened socket as the agent's."""

    async def attached() -> bool:
        return bool(hub.connected(agent_id))

    await _until(attached)


async def test_an_agent_socket_that_stops_reading_is_cut_off_and_intake_and_routing_go_on(client: Client) -> None:
    hub = client.app[SERVICES].hub
    alice, bob, sam = await login(client, "alice"), await login(client, "bob"), await login(client, "sam")
    alice_id = await agent_id(client, alice)
    stuck = await _socket_that_never_reads(client, alice)
    try:
        async with asyncio.timeout(30):
            await _until_attached(hub, alice_id)
            await set_status(client, alice, "available")
            # Frames pile up unread until one cannot go out in time: the socket is cut off.
            # Pushing never waits for it meanwhile.
            pushes = 0
            while hub.connected(alice_id):
                assert hub.push(alice_id, FILLER)
                pushes += 1
                await asyncio.sleep(0.01)
            assert pushes > 1
            assert not hub.push(alice_id, FILLER)

            # Her handler ended as for any dropped connection: nobody watches her desk.
            async def alice_away() -> bool:
                agents = (await (await client.get("/api/v1/agents", headers=sam)).json())["agents"]
                [record] = [a for a in agents if a["username"] == "alice"]
                return bool(record["status"] == "away" and record["status_reason"] == "disconnected")

            await _until(alice_away)

            # Intake answers and routing offers, to an agent who is reading.
            bob_socket = await client.ws_connect("/api/v1/ws", headers=bob)
            await next_frame(bob_socket, "hello")
            await set_status(client, bob, "available")
            response = await post_sms(client, sms_form(sender="+15551230009", body="anyone there?"))
            assert response.status == 200
            offer = await next_frame(bob_socket, "offer")
            assert offer["preview"]["body"] == "anyone there?"
            await bob_socket.close()
    finally:
        stuck.close()


async def test_closing_the_service_does_not_wait_on_a_socket_that_stopped_reading(client: Client) -> None:
    hub = client.app[SERVICES].hub
    alice = await login(client, "alice")
    alice_id = await agent_id(client, alice)
    stuck = await _socket_that_never_reads(client, alice)
    try:
        async with asyncio.timeout(30):
            await _until_attached(hub, alice_id)
            # Enough unread that a closing frame has to wait behind it.
            for _ in range(8):
                hub.push(alice_id, FILLER)
                await asyncio.sleep(0.01)
            await hub.close()
            assert not hub.connected(alice_id)
    finally:
        stuck.close()


async def test_stopping_the_service_closes_live_sockets_first_instead_of_waiting_on_them(client: Client) -> None:
    alice = await login(client, "alice")
    agent_socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(agent_socket, "hello")
    # Without closing them first, the web server waits out its shutdown timeout (a
    # minute) for their handlers, then drops them without a word.
    async with asyncio.timeout(15):
        stopping = asyncio.create_task(client.server.close())
        closing = await agent_socket.receive()
        await stopping
    assert closing.type.name == "CLOSE"
    assert agent_socket.close_code == 1001


async def test_a_socket_that_joins_after_the_sockets_were_closed_is_closed_too(client: Client) -> None:
    # Stopping closed the sockets while this one was still being signed in: it attaches
    # after, and must not stay open (its handler would hold the stop up for a minute).
    await client.app[SERVICES].hub.close()
    alice = await login(client, "alice")
    agent_socket = await client.ws_connect("/api/v1/ws", headers=alice)
    async with asyncio.timeout(15):
        while (message := await agent_socket.receive()).type.name == "TEXT":
            pass
    assert message.type.name == "CLOSE"
    assert agent_socket.close_code == 1001


async def test_frames_pushed_to_a_socket_arrive_in_the_order_pushed_big_or_small(client: Client) -> None:
    hub = client.app[SERVICES].hub
    alice = await login(client, "alice")
    alice_id = await agent_id(client, alice)
    # A client that offers compression, as browsers do.
    agent_socket = await client.ws_connect("/api/v1/ws", headers=alice, compress=15)
    await next_frame(agent_socket, "hello")
    for n in range(5):
        hub.push(alice_id, error_frame(f"big.{n}", "long mail " * 10_000))
        hub.push(alice_id, error_frame(f"small.{n}", ""))
    received = [(await agent_socket.receive_json(timeout=5))["code"] for _ in range(10)]
    assert received == [f"{size}.{n}" for n in range(5) for size in ("big", "small")]
    await agent_socket.close()
