"""Offers over the agent WebSocket: timeout, reject, and their place in the queue."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from tests.support import AppFactory, Client, login, next_frame, offered, post_sms, set_status, sms_form


async def _interaction(client: Client, headers: dict[str, str], interaction_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/interactions/{interaction_id}", headers=headers)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def test_an_unanswered_offer_goes_back_to_the_head_of_its_queue_and_to_the_next_agent(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    # One lapse is enough to be set away here, so Alice is not offered it a second time.
    client = await app_factory(settings_factory(offer_timeout=0.3, routing="max_missed_offers = 1"))
    alice, bob, sam = await login(client, "alice"), await login(client, "bob"), await login(client, "sam")
    alice_socket = await client.ws_connect("/api/v1/ws", headers=alice)
    bob_socket = await client.ws_connect("/api/v1/ws", headers=bob)
    for socket in (alice_socket, bob_socket):
        await next_frame(socket, "hello")  # attached: what is pushed from now on reaches it
    await set_status(client, alice, "available")

    await post_sms(client, sms_form(sender="+15551230001", body="first"))
    await post_sms(client, sms_form(sender="+15551230002", body="second"))
    first = await next_frame(alice_socket, "offer")

    closed = await next_frame(alice_socket, "offer_closed")
    assert closed == {
        "type": "offer_closed",
        "offer_id": first["offer_id"],
        "interaction_id": first["interaction_id"],
        "reason": "timeout",
        "log": {"stream": "interactions", "seq": closed["log"]["seq"]},
    }
    assert closed["log"]["seq"] > first["log"]["seq"]
    status = await next_frame(alice_socket, "status")
    assert status["status"] == "away" and status["reason"] == "missed"

    # Bob arrives later: he gets the first contact again, ahead of the second.
    await set_status(client, bob, "available")
    again = await next_frame(bob_socket, "offer")
    assert again["interaction_id"] == first["interaction_id"]

    record = await _interaction(client, sam, first["interaction_id"])
    assert record["state"] == "offered"
    assert [e["type"] for e in record["events"]][-3:] == ["offered", "offer_timed_out", "offered"]
    agents = {a["username"]: a for a in (await (await client.get("/api/v1/agents", headers=sam)).json())["agents"]}
    assert agents["alice"]["status"] == "away" and agents["alice"]["status_reason"] == "missed"
    await alice_socket.close()
    await bob_socket.close()


async def test_a_rejected_offer_keeps_its_place_and_goes_to_another_agent(client: Client) -> None:
    alice, bob, sam = await login(client, "alice"), await login(client, "bob"), await login(client, "sam")
    alice_socket = await client.ws_connect("/api/v1/ws", headers=alice)
    bob_socket = await client.ws_connect("/api/v1/ws", headers=bob)
    for socket in (alice_socket, bob_socket):
        await next_frame(socket, "hello")  # attached: what is pushed from now on reaches it
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender="+15551230001"))
    offer = await next_frame(alice_socket, "offer")
    await set_status(client, bob, "available")

    rejected = await client.post(f"/api/v1/offers/{offer['offer_id']}/reject", headers=alice)
    assert rejected.status == 200
    again = await next_frame(bob_socket, "offer")
    assert again["interaction_id"] == offer["interaction_id"]
    stale = await client.post(f"/api/v1/offers/{offer['offer_id']}/accept", headers=alice)
    assert stale.status == 409
    assert (await stale.json())["error"]["code"] == "offer.closed"
    record = await _interaction(client, sam, offer["interaction_id"])
    rejection = next(e for e in record["events"] if e["type"] == "offer_rejected")
    assert rejection["actor"]["kind"] == "agent"
    await alice_socket.close()
    await bob_socket.close()


async def test_an_agent_cannot_accept_someone_elses_offer(client: Client) -> None:
    alice, bob = await login(client, "alice"), await login(client, "bob")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    [offer] = (await (await client.get("/api/v1/offers", headers=alice)).json())["offers"]
    taken = await client.post(f"/api/v1/offers/{offer['offer']['id']}/accept", headers=bob)
    assert taken.status == 409
    mine = await client.post(f"/api/v1/offers/{offer['offer']['id']}/accept", headers=alice)
    assert mine.status == 200


async def test_going_away_with_an_open_offer_returns_it_to_the_queue(client: Client) -> None:
    alice, sam = await login(client, "alice"), await login(client, "sam")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    [offer] = (await (await client.get("/api/v1/offers", headers=alice)).json())["offers"]
    await set_status(client, alice, "away")
    record = await _interaction(client, sam, offer["id"])
    assert record["state"] == "queued"
    assert record["events"][-1]["type"] == "offer_revoked"
    assert (await (await client.get("/api/v1/offers", headers=alice)).json())["offers"] == []


async def test_the_live_channel_takes_its_token_as_a_first_frame_and_refuses_a_forged_one(client: Client) -> None:
    alice = await login(client, "alice")
    socket = await client.ws_connect("/api/v1/ws")
    await socket.send_json({"type": "auth", "token": alice["Authorization"].removeprefix("Bearer ")})
    hello = await next_frame(socket, "hello")
    assert hello["agent"]["username"] == "alice"
    await socket.close()

    forged = await client.ws_connect("/api/v1/ws")
    await forged.send_json({"type": "auth", "token": "forged"})
    error = await next_frame(forged, "error")
    assert error["code"] == "auth.invalid_token"
    await forged.receive()
    assert forged.closed and forged.close_code == 4401


@contextlib.asynccontextmanager
async def _storage_held(url: str) -> AsyncIterator[None]:
    """Another connection holds what every write needs (SQLite's write lock, the event
    streams' table on PostgreSQL): the service's writes wait until this ends, and its
    event loop does not."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        holder = sqlite3.connect(parsed.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    connection = await asyncpg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE event_streams IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await connection.close()


async def test_a_decision_does_not_wait_for_another_ones_record_to_commit(client: Client) -> None:
    """One accept is decided and waits for storage; the other is decided meanwhile (the
    engine has closed both offers), and each is answered once storage takes it."""
    alice, bob = await login(client, "alice"), await login(client, "bob")
    await set_status(client, alice, "available")
    await set_status(client, bob, "available")
    await post_sms(client, sms_form(sender="+15551230001"))
    await post_sms(client, sms_form(sender="+15551230002"))
    offers = [(offer, alice) for offer in await offered(client, alice)]
    offers += [(offer, bob) for offer in await offered(client, bob)]
    assert len(offers) == 2
    services = client.app[SERVICES]

    async def answered() -> int:
        """How many of the two offers the engine has closed: each as it decides its accept."""
        still_open = [await services.routing.open_offers(offer["offer"]["agent_id"]) for offer, _ in offers]
        return sum(not holding for holding in still_open)

    async with _storage_held(services.settings.database.url):
        accepts = [
            asyncio.create_task(client.post(f"/api/v1/offers/{offer['offer']['id']}/accept", headers=headers))
            for offer, headers in offers
        ]
        for _ in range(500):
            if await answered() == 2:
                break
            await asyncio.sleep(0.01)
        assert await answered() == 2
        assert not any(accept.done() for accept in accepts)
    assert [(await accept).status for accept in accepts] == [200, 200]
