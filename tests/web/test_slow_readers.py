"""A live socket whose peer stops reading is cut off, not waited for: pushes come from
intake and routing, and one stuck agent desk must not hold up every other contact."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from typing import Any

from interaction_center.web.keys import SERVICES
from tests.support import login, next_frame, post_sms, set_status, sms_form


async def _socket_that_never_reads(client: Any, headers: dict[str, str]) -> socket.socket:
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
    assert (await loop.sock_recv(raw, 12)) == b"HTTP/1.1 101"
    return raw


async def _until(condition: Any) -> None:
    while not await condition():
        await asyncio.sleep(0.02)


async def test_an_agent_socket_that_stops_reading_is_cut_off_and_intake_and_routing_go_on(client: Any) -> None:
    services = client.server.app[SERVICES]
    alice, bob, sam = await login(client, "alice"), await login(client, "bob"), await login(client, "sam")
    alice_id = (await (await client.get("/api/v1/agents/me", headers=alice)).json())["id"]
    stuck = await _socket_that_never_reads(client, alice)
    try:
        async with asyncio.timeout(30):
            await _until(lambda: _true(services.hub.connected(alice_id)))
            await set_status(client, alice, "available")
            # Frames pile up behind the unread ones until one has to wait for the peer;
            # it waits a bounded time, and the socket is cut off.
            filler = {"type": "filler", "data": "x" * 65536}
            pushes = 0
            while services.hub.connected(alice_id):
                await services.hub.push(alice_id, filler)
                pushes += 1
            assert pushes > 1

            # Her handler ended as for any dropped connection: nobody watches her desk.
            async def alice_away() -> bool:
                agents = (await (await client.get("/api/v1/agents", headers=sam)).json())["agents"]
                [record] = [a for a in agents if a["username"] == "alice"]
                return bool(record["status"] == "away" and record["status_reason"] == "disconnected")

            await _until(alice_away)

            # Intake answers and routing offers, to an agent who is reading.
            bob_socket = await client.ws_connect("/api/v1/ws", headers=bob)
            await set_status(client, bob, "available")
            response = await post_sms(client, sms_form(sender="+15551230009", body="anyone there?"))
            assert response.status == 200
            offer = await next_frame(bob_socket, "offer")
            assert offer["preview"]["body"] == "anyone there?"
            await bob_socket.close()
    finally:
        stuck.close()


async def _true(value: bool) -> bool:
    return value
