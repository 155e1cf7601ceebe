"""The service on the Redis routing backend (``redis.url``): routing state that outlives
the process and is shared with other instances, rebuilt from storage only when Redis holds
none, and a readiness that fails while Redis is down. Each test has a Redis of its own, to
stop or empty. And what mends a decision whose record was lost, on either backend, and
timers' events an instance fired and died before recording, which another records once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from interaction_center.dispatch import consumer as consumer_module
from interaction_center.dispatch import dispatcher as dispatcher_module
from interaction_center.dispatch.feed import Waiting
from interaction_center.services import Services
from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from routing import Escalated, PreferenceExpired, RoutingEvent, SlaBreached, WrapUpEnded
from storage import intake_rows as rows
from storage.models import Interaction, InteractionEvent
from tests.services import start_redis, unavailable
from tests.support import (
    PASSWORDS,
    AppFactory,
    Client,
    accept_first,
    closed_with,
    login,
    next_frame,
    offered,
    post_sms,
    routed,
    set_status,
    sms_form,
)


@pytest.fixture
def own_redis() -> Iterator[tuple[str, Callable[[], None]]]:
    """A Redis server for this test alone: its URL and how to stop it early. Asked for
    first, so that it stops after the apps on it."""
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


@pytest.fixture
def on_redis(own_redis: tuple[str, Callable[[], None]], settings_factory: Callable[..., Settings]) -> Settings:
    """The test's settings, routing on its own Redis."""
    url, _ = own_redis
    return settings_factory(redis=f'url = "{url}"')


async def test_while_redis_is_down_readiness_and_requests_that_need_it_answer_503_and_the_rest_go_on(
    own_redis: tuple[str, Callable[[], None]],
    app_factory: AppFactory,
    settings_factory: Callable[..., Settings],
) -> None:
    url, stop = own_redis
    client = await app_factory(settings_factory(redis=f'url = "{url}"'))
    assert (await client.get("/readyz")).status == 200
    alice = await login(client, "alice")

    stop()
    response = await client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "routing.unreachable"
    # Logins are throttled in Redis, statuses routed there: each says to try again later.
    for response in (
        await client.post("/api/v1/auth/login", json={"username": "bob", "password": PASSWORDS["bob"]}),
        await client.put("/api/v1/agents/me/status", json={"status": "available"}, headers=alice),
    ):
        assert response.status == 503, await response.text()
        assert (await response.json())["error"]["code"] == "routing.unreachable"
        assert int(response.headers["Retry-After"]) > 0
    # What does not need Redis is served as ever.
    assert (await client.get("/api/v1/canned", headers=alice)).status == 200


async def test_a_redis_that_refuses_the_service_s_credentials_is_an_internal_error_not_an_outage(
    own_redis: tuple[str, Callable[[], None]],
    app_factory: AppFactory,
    settings_factory: Callable[..., Settings],
) -> None:
    url, _ = own_redis
    client = await app_factory(settings_factory(redis=f'url = "{url}"'))
    # Redis now asks for a password the service's configuration does not give.
    redis = Redis.from_url(url)
    await redis.config_set("requirepass", "not-the-configured-one")
    await redis.client_kill_filter(_type="normal", skipme=False)
    await redis.aclose()
    response = await client.post("/api/v1/auth/login", json={"username": "bob", "password": PASSWORDS["bob"]})
    assert response.status == 500
    assert (await response.json())["error"]["code"] == "internal"


async def test_a_second_instance_keeps_the_live_state_and_takes_the_first_ones_offer(
    on_redis: Settings, app_factory: AppFactory
) -> None:
    settings = on_redis
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
    own_redis: tuple[str, Callable[[], None]],
    app_factory: AppFactory,
    settings_factory: Callable[..., Settings],
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


async def test_a_contact_closed_on_one_instance_is_not_queued_again_by_another(
    on_redis: Settings, app_factory: AppFactory
) -> None:
    # The second instance's feed has read that a contact was queued; before its turn at
    # routing, the first offers the contact, sees it answered and closed. Queued as it was
    # read, it would wait again, in the queue's figures and up to an SLA breach, with no
    # agent free to find it closed.
    first, second = await app_factory(on_redis), await app_factory(on_redis)
    alice = await login(first, "alice")
    await post_sms(first, sms_form(body="Where is my parcel?"))
    await routed(second)
    services = second.app[SERVICES]
    [waiting] = await services.routing.waiting("support")
    read = await services.writer.run(lambda conn: rows.routing_fields(conn, [waiting.interaction_id]))
    await set_status(first, alice, "available")
    taken = await accept_first(first, alice)
    done = {"disposition": "resolved"}
    response = await first.post(f"/api/v1/interactions/{taken['id']}/complete", json=done, headers=alice)
    assert response.status == 200, await response.text()
    await set_status(first, alice, "away")

    assert taken["id"] == waiting.interaction_id
    await services.dispatcher.enqueue([Waiting(**fields) for fields in read])
    assert await services.routing.waiting("support") == []


async def test_an_offer_made_on_one_instance_reaches_a_desk_on_another_at_once(
    on_redis: Settings, app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Polls a minute apart: only the first instance's notice that the log moved can bring
    # the second's pushes to read the offer in time.
    monkeypatch.setattr(consumer_module, "POLL_SECONDS", 60.0)
    settings = on_redis
    first, second = await app_factory(settings), await app_factory(settings)
    alice = await login(first, "alice")
    socket = await second.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    await set_status(first, alice, "available")
    await post_sms(first, sms_form(body="Where is my parcel?"))

    offer = await next_frame(socket, "offer", timeout=10)
    [offered_there] = await offered(first, alice)
    assert offer["offer_id"] == offered_there["offer"]["id"]


async def test_logging_out_on_one_instance_closes_the_desk_on_another(
    on_redis: Settings, app_factory: AppFactory
) -> None:
    settings = on_redis
    first, second = await app_factory(settings), await app_factory(settings)
    alice = await login(first, "alice")
    socket = await second.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")

    response = await first.post("/api/v1/auth/logout", headers=alice)
    assert response.status in (200, 204), await response.text()
    async with asyncio.timeout(10):
        assert await closed_with(socket) == (4001, "logged out")


async def fired_and_died(dying: Services, kind: type[RoutingEvent]) -> None:
    """The instance's tick fires one timer's event (the test's, as its ticker would), and
    the instance dies before recording it."""
    fired = await dying.routing.tick(time.time(), "a-dead-instance's-tick")
    assert [type(event) for event in fired] == [kind]


async def taken_up_and_lost(dying: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """Events kept unrecorded past ``UNRECORDED_SECONDS`` are taken up by the instance,
    restarted, which records them and dies again before its claim on them ends."""
    monkeypatch.setattr(dispatcher_module, "UNRECORDED_SECONDS", 0.0)

    async def lost(claim: str) -> None:
        raise RedisConnectionError("gone")

    monkeypatch.setattr(dying.routing, "recorded", lost)
    with pytest.raises(RedisConnectionError):
        await dying.dispatcher.take_up_unrecorded()


async def logged(services: Services, interaction_id: str) -> list[str]:
    """The kinds of the interaction's events, in order."""
    async with services.sessions() as session:
        kinds = select(InteractionEvent.type).where(InteractionEvent.interaction_id == interaction_id)
        return list(await session.scalars(kinds.order_by(InteractionEvent.seq)))


async def served_by_alice(client: Client, form: dict[str, str]) -> dict[str, str]:
    """Alice, available, takes the SMS and completes it; her headers."""
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await post_sms(client, form)
    taken = await accept_first(client, alice)
    done = await client.post(
        f"/api/v1/interactions/{taken['id']}/complete", json={"disposition": "resolved"}, headers=alice
    )
    assert done.status == 200, await done.text()
    return alice


async def test_a_breach_fired_by_an_instance_that_died_before_recording_it_is_recorded_once_by_another(
    own_redis: tuple[str, Callable[[], None]],
    app_factory: AppFactory,
    settings_factory: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, _ = own_redis
    # Tickers an hour apart: the test fires the timers, as each instance's ticker would.
    settings = settings_factory(redis=f'url = "{url}"', tick=3600, answer_seconds=1)
    first, second = await app_factory(settings), await app_factory(settings)
    dying, other = first.app[SERVICES], second.app[SERVICES]
    await post_sms(first, sms_form(body="Anyone there?"))
    await routed(first)
    [waiting] = await dying.routing.waiting("support")
    assert waiting.answer_deadline is not None
    await asyncio.sleep(max(0.0, waiting.answer_deadline - time.time()) + 0.05)
    await fired_and_died(dying, SlaBreached)
    # Young, it is still the firing instance's to record.
    assert await other.dispatcher.take_up_unrecorded() == 0

    async def breaches() -> tuple[int, object]:
        """How many breaches the interaction's log holds, and when it was last breached."""
        async with other.sessions() as session:
            breached_at = select(Interaction.sla_breached_at).where(Interaction.id == waiting.interaction_id)
            return (await logged(other, waiting.interaction_id)).count("sla_breached"), await session.scalar(
                breached_at
            )

    await taken_up_and_lost(dying, monkeypatch)
    count, breached_at = await breaches()
    assert count == 1 and breached_at is not None
    # ...so the second takes it up too, and finds it recorded: one breach, once.
    assert await other.dispatcher.take_up_unrecorded() == 1
    assert await breaches() == (1, breached_at)
    assert await other.dispatcher.take_up_unrecorded() == 0


async def test_an_escalation_fired_by_an_instance_that_died_is_recorded_once_by_another(
    own_redis: tuple[str, Callable[[], None]],
    app_factory: AppFactory,
    settings_factory: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, _ = own_redis
    escalation = "[[queues.support.escalation]]\nafter_seconds = 0.1\nraise_priority = 2"
    settings = settings_factory(redis=f'url = "{url}"', tick=3600, support=escalation)
    first, second = await app_factory(settings), await app_factory(settings)
    dying, other = first.app[SERVICES], second.app[SERVICES]
    await post_sms(first, sms_form(body="Still waiting"))
    await routed(first)
    [waiting] = await dying.routing.waiting("support")
    await asyncio.sleep(0.15)
    await fired_and_died(dying, Escalated)
    await taken_up_and_lost(dying, monkeypatch)
    stored = select(Interaction.priority, Interaction.escalation_level).where(Interaction.id == waiting.interaction_id)
    assert (await logged(other, waiting.interaction_id)).count("escalated") == 1
    # The second finds the step recorded (the wait is at its level already), and passes.
    assert await other.dispatcher.take_up_unrecorded() == 1
    assert (await logged(other, waiting.interaction_id)).count("escalated") == 1
    async with other.sessions() as session:
        assert tuple((await session.execute(stored)).one()) == (waiting.priority + 2, 1)


async def test_a_preference_ended_by_an_instance_that_died_is_released_once_by_another(
    own_redis: tuple[str, Callable[[], None]],
    app_factory: AppFactory,
    settings_factory: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, _ = own_redis
    settings = settings_factory(redis=f'url = "{url}"', tick=3600, support="preferred_agent_seconds = 0.2")
    first, second = await app_factory(settings), await app_factory(settings)
    dying, other = first.app[SERVICES], second.app[SERVICES]
    alice = await served_by_alice(first, sms_form(body="first visit"))
    await set_status(first, alice, "away")
    # Back while alice is away: held for her for a while.
    await post_sms(first, sms_form(body="I am back"))
    await routed(first)
    [waiting] = await dying.routing.waiting("support")
    assert waiting.preferred_agent is not None
    await asyncio.sleep(0.3)
    await fired_and_died(dying, PreferenceExpired)
    await taken_up_and_lost(dying, monkeypatch)
    assert (await logged(other, waiting.interaction_id)).count("preferred_agent_released") == 1
    assert await other.dispatcher.take_up_unrecorded() == 1
    assert (await logged(other, waiting.interaction_id)).count("preferred_agent_released") == 1


async def test_a_wrap_up_end_fired_by_an_instance_that_died_leaves_a_later_status_alone(
    own_redis: tuple[str, Callable[[], None]],
    app_factory: AppFactory,
    settings_factory: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, _ = own_redis
    settings = settings_factory(redis=f'url = "{url}"', tick=3600, support="wrap_up_seconds = 0.2")
    first, second = await app_factory(settings), await app_factory(settings)
    dying, other = first.app[SERVICES], second.app[SERVICES]
    alice = await served_by_alice(first, sms_form())
    await asyncio.sleep(0.3)
    await fired_and_died(dying, WrapUpEnded)
    # Alice steps away before anyone records the end of her wrap-up.
    await set_status(second, alice, "away")
    monkeypatch.setattr(dispatcher_module, "UNRECORDED_SECONDS", 0.0)
    assert await other.dispatcher.take_up_unrecorded() == 1
    me = await (await second.get("/api/v1/agents/me", headers=alice)).json()
    assert me["status"] == "away"
