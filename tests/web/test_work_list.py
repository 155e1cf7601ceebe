"""An agent's work list (``GET /api/v1/work``): offered, held (with the customer's
messages since the last reply) and completed (newest first, paged), filtered by channel
and state."""

from __future__ import annotations

from typing import Any

from tests.support import Client, accept_first, login, offered, post_sms, set_status, sms_form

ANN, BEN, CY = "+15551230001", "+15551230002", "+15551230003"


async def _work(client: Client, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    response = await client.get(f"/api/v1/work{query}", headers=headers)
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def _complete(client: Client, headers: dict[str, str], interaction_id: str) -> None:
    done = await client.post(
        f"/api/v1/interactions/{interaction_id}/complete", json={"disposition": "resolved"}, headers=headers
    )
    assert done.status == 200, await done.text()


async def test_the_work_list_shows_offers_held_work_with_unread_counts_and_completed_work(client: Client) -> None:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender=ANN, body="My bill is wrong"))
    ann = await accept_first(client, alice)
    await post_sms(client, sms_form(sender=ANN, body="It says 40 dollars"))
    await post_sms(client, sms_form(sender=ANN, body="Hello?"))
    await post_sms(client, sms_form(sender=BEN, body="Where is my parcel"))
    [ben] = await offered(client, alice)

    work = await _work(client, alice)
    assert [(w["id"], w["state"], w["unread"]) for w in work["offered"]] == [(ben["id"], "offered", 1)]
    [held] = work["assigned"]
    assert (held["id"], held["unread"], held["customer_id"]) == (ann["id"], 3, ann["customer_id"])
    assert held["latest_message"]["body"] == "Hello?" and held["latest_message"]["direction"] == "inbound"
    assert work["recent"] == [] and work["next_before"] is None

    reply = await client.post(f"/api/v1/interactions/{ann['id']}/messages", json={"body": "Looking"}, headers=alice)
    assert reply.status == 201
    [held] = (await _work(client, alice, "?state=assigned"))["assigned"]
    assert (held["unread"], held["latest_message"]["direction"]) == (0, "outbound")
    await post_sms(client, sms_form(sender=ANN, body="Thanks"))
    [held] = (await _work(client, alice, "?state=assigned"))["assigned"]
    assert held["unread"] == 1

    await _complete(client, alice, ann["id"])
    work = await _work(client, alice, "?state=completed")
    assert work["offered"] == [] and work["assigned"] == []
    [done] = work["recent"]
    assert (done["id"], done["state"], done["disposition"]) == (ann["id"], "completed", "resolved")
    assert (await _work(client, alice, "?channel=email")) == {
        "offered": [], "assigned": [], "parked": [], "recent": [], "next_before": None
    }  # fmt: skip


async def test_completed_work_pages_newest_first(client: Client) -> None:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    ids = []
    for sender in (ANN, BEN, CY):
        await post_sms(client, sms_form(sender=sender))
        taken = await accept_first(client, alice)
        await _complete(client, alice, taken["id"])
        ids.append(taken["id"])
    first = await _work(client, alice, "?state=completed&limit=2")
    assert [w["id"] for w in first["recent"]] == [ids[2], ids[1]]
    rest = await _work(client, alice, f"?state=completed&limit=2&before={first['next_before']}")
    assert [w["id"] for w in rest["recent"]] == [ids[0]] and rest["next_before"] is None
    # Nobody else's work is in it.
    assert (await _work(client, await login(client, "bob")))["recent"] == []


async def test_a_bad_query_is_refused(client: Client) -> None:
    alice = await login(client, "alice")
    edge = "?before=9999-12-31T23:00:00-05:00|x"
    for query in ("?state=lost", "?limit=0", "?limit=201", "?limit=x", "?channel=fax", "?before=yesterday", edge):
        response = await client.get(f"/api/v1/work{query}", headers=alice)
        assert (response.status, (await response.json())["error"]["code"]) == (400, "input.bad_query"), query
