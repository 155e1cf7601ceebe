"""Supervisors act on the floor: see what waits in a queue and what an agent holds, set an
agent's status, move an interaction (waiting or assigned) to another queue or agent,
change a waiting one's priority, take one over (assigned or waiting); each an event naming the supervisor.
Agents may not."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from interaction_center.web.keys import SERVICES
from storage.models import AgentEvent
from tests.support import (
    Client,
    accept_first,
    agent_id,
    counted,
    interaction,
    login,
    offered,
    post_sms,
    queue_figures,
    routed,
    set_status,
    sms_form,
)

ANN, BEN = "+15551230001", "+15551230002"


async def _waiting(client: Client, sam: dict[str, str], queue: str = "support") -> list[dict[str, Any]]:
    await routed(client)
    response = await client.get(f"/api/v1/queues/{queue}/waiting", headers=sam)
    assert response.status == 200, await response.text()
    return list((await response.json())["waiting"])


async def _events(client: Client, headers: dict[str, str], interaction_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in (await interaction(client, headers, interaction_id))["events"] if e["type"] == kind]


async def _agent_events(client: Client, agent: str) -> list[AgentEvent]:
    async with client.app[SERVICES].sessions() as session:
        rows = await session.scalars(select(AgentEvent).where(AgentEvent.agent_id == agent).order_by(AgentEvent.seq))
        return list(rows.all())


async def _error(response: Any) -> tuple[int, str]:
    return response.status, (await response.json())["error"]["code"]


async def test_only_supervisors_see_waiting_work_and_act(client: Client) -> None:
    alice, sam = await login(client, "alice"), await login(client, "sam")
    alice_id = await agent_id(client, alice)
    assert await _waiting(client, sam) == []
    assert await _error(await client.get("/api/v1/queues/nowhere/waiting", headers=sam)) == (404, "queue.not_found")
    for method, path, body in (
        ("GET", "/api/v1/queues/support/waiting", None),
        ("PUT", f"/api/v1/agents/{alice_id}/status", {"status": "available"}),
        ("POST", "/api/v1/interactions/x/move", {"queue": "sales"}),
        ("POST", "/api/v1/interactions/x/priority", {"priority": 5}),
        ("POST", "/api/v1/interactions/x/take-over", {}),
    ):
        assert await _error(await client.request(method, path, json=body, headers=alice)) == (403, "auth.role")


async def test_a_supervisor_sets_an_agents_status(client: Client) -> None:
    alice, sam = await login(client, "alice"), await login(client, "sam")
    alice_id, sam_id = await agent_id(client, alice), await agent_id(client, sam)
    path = f"/api/v1/agents/{alice_id}/status"
    done = await client.put(path, json={"status": "away", "reason": "coaching"}, headers=sam)
    assert done.status == 200
    me = await (await client.get("/api/v1/agents/me", headers=alice)).json()
    assert (me["status"], me["status_reason"]) == ("away", "coaching")
    assert await _error(await client.put(path, json={"status": "wrap_up"}, headers=sam)) == (400, "agent.bad_status")
    [event] = [e for e in await _agent_events(client, alice_id) if e.type == "status_changed"][-1:]
    assert (event.actor_id, event.data["to"]) == (sam_id, "away")


async def test_a_supervisor_moves_a_waiting_then_an_assigned_interaction(client: Client) -> None:
    alice, carol, sam = await login(client, "alice"), await login(client, "carol"), await login(client, "sam")
    sam_id, alice_id = await agent_id(client, sam), await agent_id(client, alice)
    await post_sms(client, sms_form(sender=ANN))
    [waiting] = await _waiting(client, sam)
    record = waiting["interaction_id"]
    await set_status(client, carol, "available")

    moved = await client.post(
        f"/api/v1/interactions/{record}/move", json={"queue": "sales", "note": "billing question"}, headers=sam
    )
    assert moved.status == 200, await moved.text()
    [offer] = await offered(client, carol)
    assert (offer["id"], offer["queue"], offer["transfer_note"]) == (record, "sales", "billing question")
    [event] = await _events(client, sam, record, "moved")
    assert (event["actor"]["id"], event["data"]["from_queue"], event["data"]["queue"]) == (sam_id, "support", "sales")

    # On offer: refused (an offer lasts seconds). Once carol holds it: reserved for alice by name.
    busy = await client.post(f"/api/v1/interactions/{record}/move", json={"queue": "support"}, headers=sam)
    assert await _error(busy) == (409, "interaction.not_movable")
    await client.post(f"/api/v1/offers/{offer['offer']['id']}/accept", headers=carol)
    await set_status(client, alice, "available")
    again = await client.post(f"/api/v1/interactions/{record}/move", json={"agent_id": alice_id}, headers=sam)
    assert again.status == 200, await again.text()
    [offer] = await offered(client, alice)
    assert offer["id"] == record
    [transfer] = await _events(client, sam, record, "transferred")
    assert (transfer["actor"]["id"], transfer["data"]["agent_id"]) == (sam_id, alice_id)


async def test_a_waiting_interactions_priority_puts_it_ahead(client: Client) -> None:
    sam = await login(client, "sam")
    await post_sms(client, sms_form(sender=ANN))
    await post_sms(client, sms_form(sender=BEN))
    first, second = [w["interaction_id"] for w in await _waiting(client, sam)]
    path = f"/api/v1/interactions/{second}/priority"
    for bad in ({"priority": 1001}, {"priority": "9"}, {"priority": True}, {}):
        assert await _error(await client.post(path, json=bad, headers=sam)) == (400, "interaction.bad_priority")
    raised = await client.post(path, json={"priority": 9}, headers=sam)
    assert raised.status == 200, await raised.text()
    assert [(w["interaction_id"], w["priority"]) for w in await _waiting(client, sam)] == [(second, 9), (first, 0)]
    [event] = await _events(client, sam, second, "priority_changed")
    assert event["data"] == {"from": 0, "to": 9}


async def test_a_supervisor_reads_an_agents_work_list(client: Client) -> None:
    alice, sam = await login(client, "alice"), await login(client, "sam")
    alice_id = await agent_id(client, alice)
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender=ANN))
    held = await accept_first(client, alice)

    response = await client.get(f"/api/v1/agents/{alice_id}/work?state=assigned", headers=sam)
    assert response.status == 200, await response.text()
    work = await response.json()
    assert [item["id"] for item in work["assigned"]] == [held["id"]]
    assert work == await (await client.get("/api/v1/work?state=assigned", headers=alice)).json()
    assert await _error(await client.get(f"/api/v1/agents/{alice_id}/work", headers=alice)) == (403, "auth.role")
    assert await _error(await client.get("/api/v1/agents/nobody/work", headers=sam)) == (404, "agent.not_found")


async def test_a_supervisor_takes_over_an_agents_interaction(client: Client) -> None:
    alice, sam = await login(client, "alice"), await login(client, "sam")
    alice_id, sam_id = await agent_id(client, alice), await agent_id(client, sam)
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender=ANN))
    held = await accept_first(client, alice)
    path = f"/api/v1/interactions/{held['id']}"

    taken = await client.post(f"{path}/take-over", headers=sam)
    assert taken.status == 200, await taken.text()
    assert (await taken.json())["assigned_agent_id"] == sam_id
    [event] = await _events(client, sam, held["id"], "taken_over")
    assert (event["actor"]["id"], event["data"]["from_agent_id"]) == (sam_id, alice_id)
    refused = await client.post(f"{path}/messages", json={"body": "still here"}, headers=alice)
    assert await _error(refused) == (403, "interaction.not_yours")
    assert (await client.post(f"{path}/messages", json={"body": "Sam here"}, headers=sam)).status == 201
    assert await _error(await client.post(f"{path}/take-over", headers=sam)) == (409, "interaction.yours")
    done = await client.post(f"{path}/complete", json={"disposition": "resolved"}, headers=sam)
    assert done.status == 200
    assert await _error(await client.post(f"{path}/take-over", headers=sam)) == (409, "interaction.not_assigned")


async def test_a_supervisor_takes_over_a_waiting_interaction_and_it_counts_as_answered(client: Client) -> None:
    sam = await login(client, "sam")
    sam_id = await agent_id(client, sam)
    await post_sms(client, sms_form(sender=ANN))
    [waiting] = await _waiting(client, sam)
    path = f"/api/v1/interactions/{waiting['interaction_id']}"

    taken = await client.post(f"{path}/take-over", headers=sam)

    assert taken.status == 200, await taken.text()
    body = await taken.json()
    assert (body["state"], body["assigned_agent_id"]) == ("assigned", sam_id)
    [event] = await _events(client, sam, body["id"], "taken_over")
    assert (event["data"]["from_agent_id"], event["data"]["from"], event["data"]["queue"]) == (
        None,
        "queued",
        "support",
    )
    assert await _waiting(client, sam) == []
    # Nobody is offered it later: it left routing's queue.
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    assert await offered(client, alice) == []
    await counted(client)
    assert (await queue_figures(client, sam, "support", "sms"))["answered"] == 1
    assert (await client.post(f"{path}/messages", json={"body": "Sam here"}, headers=sam)).status == 201
