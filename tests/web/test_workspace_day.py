"""Issue 14's acceptance scenario, end to end through the API: agent A transfers an SMS to
sales with a note; agent B (of sales) sees the note in the offer, replies with a canned
response, adds a note and completes with a complaint disposition; the customer's record
shows both agents' parts in order; the supervisor's floor saw the wait change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from interaction_center.settings.model import Settings
from tests.support import Client, accept_first, agent_id, login, next_frame, post_sms, set_status, sms_form
from tests.twilio_stub import TwilioStub

Start = Callable[[Settings], Awaitable[Client]]
Make = Callable[..., Settings]
CANNED = """
[[canned]]
shortcut = "sorry"
title = "Apology"
body = "Sorry for the trouble, this is {{agent.name}} from {{queue}}: I am on it."
"""


def _sales_sms(frame: dict[str, Any]) -> dict[str, Any]:
    return next((q for q in frame["queues"] if (q["queue"], q["channel"]) == ("sales", "sms")), {})


async def test_a_contact_passes_from_one_agent_to_another_and_the_record_shows_it_all(
    app_factory: Start, settings_factory: Make, twilio_stub: TwilioStub
) -> None:
    client = await app_factory(settings_factory(top=CANNED))
    alice, carol, sam = await login(client, "alice"), await login(client, "carol"), await login(client, "sam")
    alice_id, carol_id = await agent_id(client, alice), await agent_id(client, carol)
    floor = await client.ws_connect("/api/v1/ws", headers=sam)
    await next_frame(floor, "hello")
    await floor.send_json({"type": "subscribe", "topic": "floor"})
    await next_frame(floor, "floor")

    await set_status(client, alice, "available")
    await post_sms(client, sms_form(body="I was charged twice"))
    taken = await accept_first(client, alice)
    path = f"/api/v1/interactions/{taken['id']}"
    moved = await client.post(
        f"{path}/transfer", json={"queue": "sales", "note": "Double charge, wants a refund"}, headers=alice
    )
    assert moved.status == 200, await moved.text()

    # Waiting in sales, nobody there: the floor sees the count, then the wait grow.
    while not _sales_sms(await next_frame(floor, "floor_changes")).get("waiting"):
        pass
    while not _sales_sms(await next_frame(floor, "floor_changes")).get("longest_wait_seconds", 0) > 0:
        pass

    carol_socket = await client.ws_connect("/api/v1/ws", headers=carol)
    await next_frame(carol_socket, "hello")
    await set_status(client, carol, "available")
    offer = await next_frame(carol_socket, "offer")
    assert (offer["interaction_id"], offer["transfer_note"]) == (taken["id"], "Double charge, wants a refund")
    accepted = await client.post(f"/api/v1/offers/{offer['offer_id']}/accept", headers=carol)
    assert accepted.status == 200
    [canned] = (await (await client.get(f"/api/v1/canned?q=sorry&interaction_id={taken['id']}", headers=carol)).json())[
        "responses"
    ]
    assert canned["text"] == "Sorry for the trouble, this is carol from sales: I am on it."
    assert (await client.post(f"{path}/messages", json={"body": canned["text"]}, headers=carol)).status == 201
    noted = await client.post(f"{path}/notes", json={"body": "Refund of 40 filed"}, headers=carol)
    assert noted.status == 201
    done = await client.post(
        f"{path}/complete", json={"disposition": "complaint", "note": "Refunded the double charge"}, headers=carol
    )
    assert done.status == 200, await done.text()
    await carol_socket.close()
    await floor.close()

    record = await (await client.get(f"/api/v1/customers/{taken['customer_id']}", headers=sam)).json()
    [history] = record["interactions"]
    parts = [(e["type"], e["actor"]["id"]) for e in history["events"] if e["actor"]["kind"] == "agent"]
    assert [part for part in parts if part[0] in ("accepted", "transferred", "note_added", "completed")] == [
        ("accepted", alice_id),
        ("transferred", alice_id),
        ("accepted", carol_id),
        ("note_added", carol_id),
        ("completed", carol_id),
    ]
    completed = next(e for e in history["events"] if e["type"] == "completed")
    assert (completed["data"]["disposition"], completed["data"]["complaint"]) == ("complaint", True)
    [reply] = [m for m in history["messages"] if m["direction"] == "outbound"]
    assert (reply["body"], reply["author_agent_id"]) == (canned["text"], carol_id)
    assert [r.form["Body"] for r in twilio_stub.sent("POST", "Messages.json")] == [canned["text"]]
