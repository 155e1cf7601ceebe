"""Routing behaviour through the whole service: wrap-up, transfer, SLA breach and
escalation, preferred agents, live statistics, presence, and what a restart keeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from routing import QueueEntry
from tests.support import (
    AppFactory,
    Client,
    accept_first,
    agent_id,
    counted,
    interaction,
    login,
    next_frame,
    offered,
    post_sms,
    set_status,
    sms_form,
)

Start = AppFactory
Make = Callable[..., Settings]
T = TypeVar("T")


async def _events(client: Client, headers: dict[str, str], interaction_id: str) -> list[str]:
    return [e["type"] for e in (await interaction(client, headers, interaction_id))["events"]]


async def _eventually(check: Callable[[], Awaitable[T | None]], seconds: float = 5.0) -> T:
    for _ in range(int(seconds / 0.05)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def _stats(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    rows = (await (await client.get("/api/v1/queues", headers=headers)).json())["queues"]
    return {row["queue"]: row for row in rows if row["channel"] == "sms"}


async def test_after_completing_the_agent_wraps_up_then_is_offered_the_next_contact(
    app_factory: Start, settings_factory: Make
) -> None:
    client = await app_factory(settings_factory(support="wrap_up_seconds = 0.4"))
    alice = await login(client, "alice")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")  # attached: what is pushed from now on reaches it
    await set_status(client, alice, "available")
    assert (await next_frame(socket, "status"))["status"] == "available"
    await post_sms(client, sms_form(sender="+15551230001"))
    first = await accept_first(client, alice)
    path = f"/api/v1/interactions/{first['id']}/complete"
    done = await client.post(path, json={"disposition": "resolved"}, headers=alice)
    assert done.status == 200
    wrapping = await next_frame(socket, "status")
    assert wrapping["status"] == "wrap_up"
    await post_sms(client, sms_form(sender="+15551230002"))
    assert await offered(client, alice) == []
    back = await next_frame(socket, "status")
    assert back["status"] == "available"
    offer = await next_frame(socket, "offer")
    assert offer["preview"]["from"] == "+15551230002"
    await socket.close()


async def test_an_agent_can_end_wrap_up_early_by_going_available(app_factory: Start, settings_factory: Make) -> None:
    client = await app_factory(settings_factory(support="wrap_up_seconds = 60"))
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender="+15551230001"))
    first = await accept_first(client, alice)
    await client.post(f"/api/v1/interactions/{first['id']}/complete", json={"disposition": "resolved"}, headers=alice)
    await post_sms(client, sms_form(sender="+15551230002"))
    assert await offered(client, alice) == []
    me = await (await client.get("/api/v1/agents/me", headers=alice)).json()
    assert me["status"] == "wrap_up"
    await set_status(client, alice, "available")
    [offer] = await offered(client, alice)
    assert offer["messages"][0]["from"] == "+15551230002"


async def test_a_transfer_to_another_queue_is_offered_to_its_agents(client: Client) -> None:
    alice, carol, sam = await login(client, "alice"), await login(client, "carol"), await login(client, "sam")
    await set_status(client, alice, "available")
    await set_status(client, carol, "available")
    await post_sms(client, sms_form())
    taken = await accept_first(client, alice)
    moved = await client.post(f"/api/v1/interactions/{taken['id']}/transfer", json={"queue": "sales"}, headers=alice)
    assert moved.status == 200, await moved.text()
    [offer] = await offered(client, carol)
    assert offer["id"] == taken["id"] and offer["queue"] == "sales"
    record = await interaction(client, sam, taken["id"])
    transfer = next(e for e in record["events"] if e["type"] == "transferred")
    assert transfer["actor"]["kind"] == "agent" and transfer["data"]["queue"] == "sales"
    assert transfer["data"]["from_queue"] == "support"


async def test_a_transfer_to_a_named_agent_waits_for_that_agent(client: Client) -> None:
    alice, bob = await login(client, "alice"), await login(client, "bob")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    taken = await accept_first(client, alice)
    # An agent finds the colleague in the directory: who they are and where, no more.
    listed = await client.get("/api/v1/agents/directory", headers=alice)
    assert listed.status == 200, await listed.text()
    colleagues = {c["username"]: c for c in (await listed.json())["agents"]}
    bob_id = colleagues["bob"]["id"]
    assert bob_id == await agent_id(client, bob)
    assert set(colleagues["bob"]) == {"id", "username", "display_name", "status", "queues"}
    assert (colleagues["alice"]["status"], colleagues["bob"]["status"]) == ("available", "offline")
    moved = await client.post(f"/api/v1/interactions/{taken['id']}/transfer", json={"agent_id": bob_id}, headers=alice)
    assert moved.status == 200, await moved.text()
    # Alice is free and serves the queue, but the contact is held for Bob.
    assert await offered(client, alice) == []
    await set_status(client, bob, "available")
    [offer] = await offered(client, bob)
    assert offer["id"] == taken["id"]


async def test_a_transfer_needs_exactly_one_known_target(client: Client) -> None:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    taken = await accept_first(client, alice)
    url = f"/api/v1/interactions/{taken['id']}/transfer"
    for body, status, code in (
        ({}, 400, "transfer.target"),
        ({"queue": "support", "agent_id": "x"}, 400, "transfer.target"),
        ({"queue": "nowhere"}, 400, "transfer.queue"),
        ({"agent_id": "00000000-0000-0000-0000-000000000000"}, 404, "agent.not_found"),
        # Empty names nothing (an empty queue once meant the current one: the agent lost it).
        ({"queue": ""}, 400, "input.bad_field"),
        ({"queue": "  "}, 400, "input.bad_field"),
        ({"agent_id": ""}, 400, "input.bad_field"),
    ):
        response = await client.post(url, json=body, headers=alice)
        assert (response.status, (await response.json())["error"]["code"]) == (status, code), body
    assert (await interaction(client, alice, taken["id"]))["state"] == "assigned"


async def test_an_sla_breach_is_recorded_escalates_and_is_counted(app_factory: Start, settings_factory: Make) -> None:
    escalation = "[[queues.support.escalation]]\nafter_seconds = 30\nraise_priority = 5"
    client = await app_factory(settings_factory(answer_seconds=1, support=escalation))
    sam = await login(client, "sam")
    await post_sms(client, sms_form())
    [waiting] = await client.app[SERVICES].routing.waiting("support")

    async def breached() -> list[str] | None:
        events = await _events(client, sam, waiting.interaction_id)
        return events if "escalated" in events else None

    events = await _eventually(breached)
    assert events[-2:] == ["sla_breached", "escalated"]
    record = await interaction(client, sam, waiting.interaction_id)
    assert record["events"][-1]["data"]["priority"] == [0, 5]
    await counted(client)
    assert (await _stats(client, sam))["support"]["sla_breaches"] == 1


async def test_an_escalation_step_overflows_to_another_queue(app_factory: Start, settings_factory: Make) -> None:
    escalation = '[[queues.support.escalation]]\nafter_seconds = 0.2\noverflow_to = "sales"'
    client = await app_factory(settings_factory(support=escalation))
    carol, sam = await login(client, "carol"), await login(client, "sam")
    await set_status(client, carol, "available")
    await post_sms(client, sms_form())

    async def carol_offered() -> list[dict[str, Any]]:
        return await offered(client, carol)

    [offer] = await _eventually(carol_offered)
    assert offer["queue"] == "sales"
    escalated = next(
        e
        for e in offer["events"] or (await interaction(client, sam, offer["id"]))["events"]
        if e["type"] == "escalated"
    )
    assert escalated["data"]["queue"] == ["support", "sales"]


async def test_a_missed_first_response_target_is_recorded(app_factory: Start, settings_factory: Make) -> None:
    client = await app_factory(settings_factory(first_response_seconds=1))
    alice, sam = await login(client, "alice"), await login(client, "sam")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    taken = await accept_first(client, alice)

    async def breached() -> bool:
        return "first_response_breached" in await _events(client, sam, taken["id"])

    await _eventually(breached)
    await counted(client)
    assert (await _stats(client, sam))["support"]["first_response_breaches"] == 1


async def test_a_returning_customer_is_held_for_their_last_agent(app_factory: Start, settings_factory: Make) -> None:
    client = await app_factory(settings_factory(support="preferred_agent_seconds = 30"))
    alice, bob = await login(client, "alice"), await login(client, "bob")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(body="first visit"))
    first = await accept_first(client, alice)
    await client.post(f"/api/v1/interactions/{first['id']}/complete", json={"disposition": "resolved"}, headers=alice)
    await set_status(client, alice, "away")
    await set_status(client, bob, "available")

    await post_sms(client, sms_form(body="I am back"))
    await asyncio.sleep(0.3)
    assert await offered(client, bob) == []
    await set_status(client, alice, "available")
    [again] = await offered(client, alice)
    assert again["customer_id"] == first["customer_id"] and again["id"] != first["id"]


async def test_queue_statistics_show_the_live_queue_and_the_days_counts(client: Client) -> None:
    alice, sam = await login(client, "alice"), await login(client, "sam")
    await post_sms(client, sms_form(sender="+15551230001"))
    await post_sms(client, sms_form(sender="+15551230002"))
    before = (await _stats(client, sam))["support"]
    assert before["waiting"] == 2 and before["longest_wait_seconds"] >= 0 and before["answered"] == 0
    await set_status(client, alice, "available")
    first, _ = await offered(client, alice)  # sms capacity 5: both are offered
    await client.post(f"/api/v1/offers/{first['offer']['id']}/accept", headers=alice)
    await counted(client)
    after = (await _stats(client, sam))["support"]
    assert after["waiting"] == 0 and after["answered"] == 1 and after["answered_within_target"] == 1
    assert after["service_level"] == 1.0 and after["average_speed_of_answer_seconds"] is not None
    assert after["agents"]["available"] == 1 and after["agents"]["offline"] == 1
    assert 0 < after["occupancy"] <= 1


async def test_a_full_queue_still_takes_sms_and_flags_it(app_factory: Start, settings_factory: Make) -> None:
    client = await app_factory(settings_factory(support="max_size = 1"))
    sam = await login(client, "sam")
    await post_sms(client, sms_form(sender="+15551230001"))
    response = await post_sms(client, sms_form(sender="+15551230002"))
    assert response.status == 200
    waiting = await client.app[SERVICES].routing.waiting("support")
    assert len(waiting) == 2
    assert "queue_over_capacity" in await _events(client, sam, waiting[1].interaction_id)


async def test_closing_the_live_channel_returns_open_offers_and_sets_the_agent_away(client: Client) -> None:
    alice, sam = await login(client, "alice"), await login(client, "sam")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")  # attached: what is pushed from now on reaches it
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    offer = await next_frame(socket, "offer")
    await socket.close()

    async def returned() -> bool:
        return bool((await interaction(client, sam, offer["interaction_id"]))["state"] == "queued")

    await _eventually(returned)
    me = await (await client.get("/api/v1/agents/me", headers=alice)).json()
    assert (me["status"], me["status_reason"]) == ("away", "disconnected")


async def test_a_restart_keeps_queue_order_deadlines_and_escalation(app_factory: Start, settings_factory: Make) -> None:
    escalation = "[[queues.support.escalation]]\nafter_seconds = 0.1\nraise_priority = 2"
    settings = settings_factory(support=escalation)
    first = await app_factory(settings)
    for n in range(3):
        await post_sms(first, sms_form(sender=f"+1555123000{n}"))

    sam = await login(first, "sam")

    async def escalated() -> list[QueueEntry] | None:
        # Recorded in storage, not only decided by the engine.
        routing = first.app[SERVICES].routing
        for entry in await routing.waiting("support"):
            if "escalated" not in await _events(first, sam, entry.interaction_id):
                return None
        # Read again: the checks above awaited, and a tick may have moved things meanwhile.
        entries = await routing.waiting("support")
        return entries if len(entries) == 3 and all(e.escalations_done == 1 for e in entries) else None

    before = await _eventually(escalated)
    await first.close()

    second = await app_factory(settings)
    after = await second.app[SERVICES].routing.waiting("support")
    assert [(e.interaction_id, e.enqueued_at, e.answer_deadline, e.priority, e.escalations_done) for e in after] == [
        (e.interaction_id, e.enqueued_at, e.answer_deadline, e.priority, e.escalations_done) for e in before
    ]


async def test_a_timer_event_naming_what_storage_no_longer_has_holds_up_no_later_one(
    app_factory: Start, settings_factory: Make
) -> None:
    # Tickers an hour apart: the test ticks.
    client = await app_factory(settings_factory(tick=3600, answer_seconds=1))
    services = client.app[SERVICES]
    # A routed contact storage no longer has (erased behind routing's back), past its
    # deadline: its breach names nothing to record.
    now = time.time()
    ghost = QueueEntry("ghost", "support", "sms", now - 10, answer_deadline=now - 5)
    await services.routing.enqueue(ghost, now)
    await post_sms(client, sms_form(body="Anyone there?"))
    [_, waiting] = await _eventually(lambda: _waiting(services, 2))
    assert waiting.answer_deadline is not None
    await asyncio.sleep(max(0.0, waiting.answer_deadline - time.time()) + 0.05)
    await services.dispatcher.tick()
    sam = await login(client, "sam")
    assert "sla_breached" in await _events(client, sam, waiting.interaction_id)


async def _waiting(services: Any, count: int) -> list[QueueEntry] | None:
    entries = sorted(await services.routing.waiting("support"), key=lambda e: e.enqueued_at)
    return entries if len(entries) == count else None
