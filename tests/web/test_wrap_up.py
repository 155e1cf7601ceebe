"""Working an interaction through to its end: internal notes, a transfer's note for the
next agent, completing with one of the queue's disposition codes (and the note some need),
after-contact work extended or ended early."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from interaction_center.settings.model import Settings
from tests.support import Client, accept_first, interaction, login, next_frame, offered, post_sms, set_status, sms_form

Start = Callable[[Settings], Awaitable[Client]]
Make = Callable[..., Settings]

CODES = """
[dispositions.resolved]
label = "Resolved"
[dispositions.complaint]
label = "Complaint"
complaint = true
note_required = true
[dispositions.sold]
label = "Sold something"
"""


async def _taken(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    await set_status(client, headers, "available")
    await post_sms(client, sms_form())
    return await accept_first(client, headers)


async def _error(response: Any) -> tuple[int, str]:
    return response.status, (await response.json())["error"]["code"]


async def test_a_transfer_note_reaches_the_next_agent_and_notes_stay_internal(
    app_factory: Start, settings_factory: Make
) -> None:
    client = await app_factory(settings_factory())
    alice, carol, sam = await login(client, "alice"), await login(client, "carol"), await login(client, "sam")
    taken = await _taken(client, alice)
    path = f"/api/v1/interactions/{taken['id']}/notes"
    noted = await client.post(path, json={"body": " VIP, be kind "}, headers=alice)
    assert noted.status == 201
    carol_socket = await client.ws_connect("/api/v1/ws", headers=carol)
    await next_frame(carol_socket, "hello")
    await set_status(client, carol, "available")

    moved = await client.post(
        f"/api/v1/interactions/{taken['id']}/transfer",
        json={"queue": "sales", "note": "Wants to upgrade their plan"},
        headers=alice,
    )
    assert moved.status == 200, await moved.text()
    frame = await next_frame(carol_socket, "offer")
    assert (frame["interaction_id"], frame["transfer_note"]) == (taken["id"], "Wants to upgrade their plan")
    [offer] = await offered(client, carol)
    assert offer["transfer_note"] == "Wants to upgrade their plan"
    await carol_socket.close()

    record = await interaction(client, sam, taken["id"])
    notes = [(e["type"], e["actor"]["kind"], e["data"].get("body") or e["data"].get("note")) for e in record["events"]]
    assert ("note_added", "agent", "VIP, be kind") in notes
    assert ("transferred", "agent", "Wants to upgrade their plan") in notes
    # Internal: nothing was sent to the customer.
    assert [m["direction"] for m in record["messages"]] == ["inbound"]


async def test_notes_are_refused_when_empty_too_long_or_not_the_agents(client: Client) -> None:
    alice, bob = await login(client, "alice"), await login(client, "bob")
    taken = await _taken(client, alice)
    path = f"/api/v1/interactions/{taken['id']}/notes"
    assert await _error(await client.post(path, json={"body": "  "}, headers=alice)) == (400, "note.empty")
    assert await _error(await client.post(path, json={"body": "x" * 5001}, headers=alice)) == (400, "note.too_long")
    assert await _error(await client.post(path, json={"body": "hi"}, headers=bob)) == (403, "auth.not_yours")
    long_note = {"queue": "sales", "note": "x" * 5001}
    refused = await client.post(f"/api/v1/interactions/{taken['id']}/transfer", json=long_note, headers=alice)
    assert await _error(refused) == (400, "note.too_long")
    record = await interaction(client, alice, taken["id"])
    assert record["state"] == "assigned" and not [e for e in record["events"] if e["type"] == "note_added"]


async def test_complete_takes_a_code_of_the_queue_and_a_note_where_the_code_needs_one(
    app_factory: Start, settings_factory: Make
) -> None:
    client = await app_factory(settings_factory(support='dispositions = ["resolved", "complaint"]', top=CODES))
    alice, sam = await login(client, "alice"), await login(client, "sam")
    listed = await (await client.get("/api/v1/dispositions", headers=alice)).json()
    assert [d["code"] for d in listed["queues"]["support"]] == ["resolved", "complaint"]
    assert [d["code"] for d in listed["queues"]["sales"]] == ["resolved", "complaint", "sold"]
    assert listed["queues"]["support"][1] == {
        "code": "complaint", "label": "Complaint", "complaint": True, "note_required": True
    }  # fmt: skip

    taken = await _taken(client, alice)
    path = f"/api/v1/interactions/{taken['id']}/complete"
    assert await _error(await client.post(path, json={"disposition": "sold"}, headers=alice)) == (
        400,
        "disposition.unknown",
    )
    needs = await client.post(path, json={"disposition": "complaint", "note": " "}, headers=alice)
    assert await _error(needs) == (400, "disposition.note_required")
    assert (await interaction(client, alice, taken["id"]))["state"] == "assigned"

    done = await client.post(
        path, json={"disposition": "complaint", "note": "Billed twice; refund promised"}, headers=alice
    )
    assert done.status == 200, await done.text()
    record = await interaction(client, sam, taken["id"])
    assert (record["state"], record["disposition"]) == ("completed", "complaint")
    completed = next(e for e in record["events"] if e["type"] == "completed")
    assert completed["data"] | {"complaint": True, "note": "Billed twice; refund promised"} == completed["data"]


async def test_wrap_up_is_extended_or_ended_early(app_factory: Start, settings_factory: Make) -> None:
    client = await app_factory(settings_factory(support="wrap_up_seconds = 60"))
    alice = await login(client, "alice")
    extend = "/api/v1/agents/me/wrap-up/extend"
    assert await _error(await client.post(extend, json={"seconds": 30}, headers=alice)) == (
        409,
        "agent.not_in_wrap_up",
    )
    me = await (await client.get("/api/v1/agents/me", headers=alice)).json()
    assert me["wrap_up_until"] is None
    taken = await _taken(client, alice)
    completing = time.time()
    await client.post(f"/api/v1/interactions/{taken['id']}/complete", json={"disposition": "resolved"}, headers=alice)
    me = await (await client.get("/api/v1/agents/me", headers=alice)).json()
    # The desk counts down to it: the queue's 60 s from completing.
    assert 59 < datetime.fromisoformat(me["wrap_up_until"]).timestamp() - completing < 61
    for bad in ({"seconds": 0}, {"seconds": 3601}, {"seconds": "30"}, {"seconds": True}, {}):
        assert await _error(await client.post(extend, json=bad, headers=alice)) == (400, "agent.bad_extension")
    longer = await client.post(extend, json={"seconds": 120}, headers=alice)
    assert longer.status == 200
    me = await (await client.get("/api/v1/agents/me", headers=alice)).json()
    assert me["status"] == "wrap_up"
    assert me["wrap_up_until"] == (await longer.json())["wrap_up_until"]

    ended = await client.post("/api/v1/agents/me/wrap-up/end", headers=alice)
    assert ended.status == 200 and (await ended.json())["status"] == "available"
    assert (await (await client.get("/api/v1/agents/me", headers=alice)).json())["wrap_up_until"] is None
    again = await client.post("/api/v1/agents/me/wrap-up/end", headers=alice)
    assert await _error(again) == (409, "agent.not_in_wrap_up")
