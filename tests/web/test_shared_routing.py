"""The service on the Redis routing backend (``redis.url``): routing state that outlives
the process and is shared with other instances, rebuilt from storage only when Redis holds
none, and a readiness that fails while Redis is down. Each test has a Redis of its own, to
stop or empty. And what mends a decision whose record was lost, on either backend."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest
from redis.asyncio import Redis

from interaction_center.dispatch import dispatcher as dispatcher_module
from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from tests.services import start_redis, unavailable
from tests.support import AppFactory, login, next_frame, offered, post_sms, set_status, sms_form


@pytest.fixture
def own_redis() -> Iterator[tuple[str, Callable[[], None]]]:
    """A Redis server for this test alone: its URL and how to stop it early."""
    url, reason, stop = start_redis()
    if url is None:
        unavailable(reason)
    assert url is not None
    stopped = False

    def stop_now() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            stop()

    yield url, stop_now
    stop_now()


async def test_readiness_fails_while_redis_is_down(
    app_factory: AppFactory, settings_factory: Callable[..., Settings], own_redis: tuple[str, Callable[[], None]]
) -> None:
    url, stop = own_redis
    client = await app_factory(settings_factory(redis=f'url = "{url}"'))
    assert (await client.get("/readyz")).status == 200

    stop()
    response = await client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "routing.unreachable"


async def test_a_second_instance_keeps_the_live_state_and_takes_the_first_ones_offer(
    app_factory: AppFactory, settings_factory: Callable[..., Settings], own_redis: tuple[str, Callable[[], None]]
) -> None:
    url, _ = own_redis
    settings = settings_factory(redis=f'url = "{url}"')
    first = await app_factory(settings)
    alice = await login(first, "alice")
    await set_status(first, alice, "available")
    await post_sms(first, sms_form(body="Where is my parcel?"))
    [offer] = await offered(first, alice)

    # Started on the same state: nothing rebuilt (which would revoke and re-offer).
    second = await app_factory(settings)
    response = await second.post(f"/api/v1/offers/{offer['offer']['id']}/accept", headers=alice)
    assert response.status == 200, await response.text()
    again = await first.post(f"/api/v1/offers/{offer['offer']['id']}/accept", headers=alice)
    assert again.status == 409


async def test_a_redis_that_lost_its_state_is_rebuilt_from_storage(
    app_factory: AppFactory, settings_factory: Callable[..., Settings], own_redis: tuple[str, Callable[[], None]]
) -> None:
    url, _ = own_redis
    client = await app_factory(settings_factory(redis=f'url = "{url}"'))
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(body="Where is my parcel?"))
    [offer] = await offered(client, alice)

    # As a Redis restarted without its data: the next tick finds no state and rebuilds it,
    # the open offer Alice's again.
    redis = Redis.from_url(url)
    try:
        await redis.flushdb()
        for _ in range(200):
            if await redis.exists("ic:routing:restored"):
                break
            await asyncio.sleep(0.02)
    finally:
        await redis.aclose()
    response = await client.post(f"/api/v1/offers/{offer['offer']['id']}/accept", headers=alice)
    assert response.status == 200, await response.text()


async def test_an_offer_routing_no_longer_has_is_mended_once_well_past_its_expiry(
    app_factory: AppFactory, settings_factory: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    # On the in-process engine too: whatever the backend, a decision whose record was lost
    # (its instance died between the two) leaves storage holding an offer nobody lapses.
    monkeypatch.setattr(dispatcher_module, "STALE_OFFER_SECONDS", 0.5)
    client = await app_factory(settings_factory(offer_timeout=0.3))
    alice = await login(client, "alice")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(body="Where is my parcel?"))
    first = await next_frame(socket, "offer")
    # Routing moves on and the record of it never comes: the offer is gone from routing only.
    services = client.app[SERVICES]
    await services.routing.cancel(first["interaction_id"], time.time())

    closed = await next_frame(socket, "offer_closed")
    assert (closed["offer_id"], closed["reason"]) == (first["offer_id"], "timeout")
    again = await next_frame(socket, "offer")
    assert again["interaction_id"] == first["interaction_id"] and again["offer_id"] != first["offer_id"]
