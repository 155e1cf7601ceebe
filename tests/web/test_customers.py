"""Customers as agents find and keep them: search by phone in any format, email, account
number or the beginning of a name; the name edited and identities added (not another
customer's); two records merged, and the merge undone."""

from __future__ import annotations

from typing import Any

from tests.support import Client, accept_first, login, post_sms, set_status, sms_form

ANN, BEN = "+15551230001", "+15551230002"


async def _search(client: Client, headers: dict[str, str], query: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/customers?{query}", headers=headers)
    assert response.status == 200, await response.text()
    return list((await response.json())["customers"])


async def _error(response: Any) -> tuple[int, str]:
    return response.status, (await response.json())["error"]["code"]


async def _handled(client: Client, headers: dict[str, str], sender: str) -> dict[str, Any]:
    await post_sms(client, sms_form(sender=sender))
    return await accept_first(client, headers)


async def test_customers_are_found_by_phone_email_account_or_name(client: Client) -> None:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    ann = (await _handled(client, alice, ANN))["customer_id"]
    assert [c["id"] for c in await _search(client, alice, "phone=(555)%20123-0001")] == [ann]
    assert await _search(client, alice, "phone=%2B15559999999") == []

    edit = {
        "display_name": "Ann  Smith",
        "add_identities": [{"kind": "email", "value": "Ann@Example.com"}, {"kind": "account", "value": "12345678"}],
    }
    edited = await client.patch(f"/api/v1/customers/{ann}", json=edit, headers=alice)
    assert edited.status == 200, await edited.text()
    body = await edited.json()
    assert body["display_name"] == "Ann  Smith"
    assert {(i["kind"], i["value"]) for i in body["identities"]} == {
        ("phone", ANN), ("email", "ann@example.com"), ("account", "12345678")
    }  # fmt: skip
    for query in ("email=ANN@example.com", "external_id=12345678", "name=ann", "name=ANN%20SM"):
        assert [c["id"] for c in await _search(client, alice, query)] == [ann], query
    assert await _search(client, alice, "name=smith") == []
    # Any agent searches: a customer on the line is found by whoever answers.
    assert [c["id"] for c in await _search(client, await login(client, "bob"), "name=ann")] == [ann]

    for query in ("", "name=", "phone=x&email=y", "shoe=9", "phone=not-a-number"):
        response = await client.get(f"/api/v1/customers?{query}", headers=alice)
        assert response.status == 400, query


async def test_an_edit_is_refused_for_anothers_identity_bad_input_or_a_stranger(client: Client) -> None:
    alice, bob = await login(client, "alice"), await login(client, "bob")
    await set_status(client, alice, "available")
    ann = (await _handled(client, alice, ANN))["customer_id"]
    ben = (await _handled(client, alice, BEN))["customer_id"]
    path = f"/api/v1/customers/{ann}"
    taken = await client.patch(path, json={"add_identities": [{"kind": "phone", "value": BEN}]}, headers=alice)
    assert await _error(taken) == (409, "customer.identity_taken")
    for body, code in (
        ({"add_identities": [{"kind": "phone", "value": "12"}]}, "contact.invalid_phone"),
        ({"add_identities": [{"kind": "fax", "value": "1"}]}, "customer.bad_identity"),
        # Not a list: these were a 500 (iterating a number, or null).
        ({"add_identities": 7}, "customer.bad_identity"),
        ({"add_identities": None}, "customer.bad_identity"),
        ({"display_name": ""}, "customer.bad_edit"),
        ({"shoe_size": 9}, "customer.bad_edit"),
        ({}, "customer.bad_edit"),
    ):
        assert (await _error(await client.patch(path, json=body, headers=alice)))[1] == code, body
    assert await _error(await client.patch(path, json={"display_name": "X"}, headers=bob)) == (403, "auth.not_yours")
    record = await (await client.get(path, headers=alice)).json()
    assert [(i["kind"], i["value"]) for i in record["identities"]] == [("phone", ANN)]
    assert ben != ann


async def test_two_records_are_merged_and_the_merge_undone(client: Client) -> None:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    first = await _handled(client, alice, ANN)
    second = await _handled(client, alice, BEN)
    ann, ben = first["customer_id"], second["customer_id"]

    merged = await client.post(f"/api/v1/customers/{ann}/merge", json={"from": ben}, headers=alice)
    assert merged.status == 200, await merged.text()
    body = await merged.json()
    assert {i["value"] for i in body["identities"]} == {ANN, BEN}
    assert {i["id"] for i in body["interactions"]} == {first["id"], second["id"]}
    [merge] = body["merges"]
    assert (merge["from_id"], merge["unmerged_at"]) == (ben, None)
    assert [c["id"] for c in await _search(client, alice, "phone=%2B15551230002")] == [ann]
    # The emptied record: its history is ann's now, so only supervisors read it.
    sam = await login(client, "sam")
    gone = await (await client.get(f"/api/v1/customers/{ben}", headers=sam)).json()
    assert (gone["merged_into"], gone["identities"], gone["interactions"]) == (ann, [], [])
    again = await client.post(f"/api/v1/customers/{ann}/merge", json={"from": ben}, headers=sam)
    assert await _error(again) == (409, "customer.merged")
    itself = await client.post(f"/api/v1/customers/{ann}/merge", json={"from": ann}, headers=alice)
    assert await _error(itself) == (400, "customer.bad_merge")

    # Merged on into a third record: this merge waits until that one is undone.
    await set_status(client, alice, "available")
    third = await _handled(client, alice, "+15551230003")
    onward = await client.post(f"/api/v1/customers/{third['customer_id']}/merge", json={"from": ann}, headers=alice)
    assert onward.status == 200, await onward.text()
    early = await client.post(f"/api/v1/customers/{ann}/unmerge", json={"merge_id": merge["id"]}, headers=sam)
    assert await _error(early) == (409, "customer.merged")
    [last] = (await onward.json())["merges"]
    path = f"/api/v1/customers/{third['customer_id']}/unmerge"
    assert (await client.post(path, json={"merge_id": last["id"]}, headers=alice)).status == 200
    undone = await client.post(f"/api/v1/customers/{ann}/unmerge", json={"merge_id": merge["id"]}, headers=alice)
    assert undone.status == 200, await undone.text()
    body = await undone.json()
    assert [i["value"] for i in body["identities"]] == [ANN]
    assert [i["id"] for i in body["interactions"]] == [first["id"]]
    assert body["merges"][0]["unmerged_at"] is not None
    back = await (await client.get(f"/api/v1/customers/{ben}", headers=alice)).json()
    assert (back["merged_into"], [i["id"] for i in back["interactions"]]) == (None, [second["id"]])
    twice = await client.post(f"/api/v1/customers/{ann}/unmerge", json={"merge_id": merge["id"]}, headers=alice)
    assert await _error(twice) == (409, "customer.unmerged")
    unknown = await client.post(f"/api/v1/customers/{ann}/unmerge", json={"merge_id": 999}, headers=alice)
    assert await _error(unknown) == (404, "customer.no_merge")


async def test_a_customers_timeline_pages_newest_first(client: Client) -> None:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    ids = []
    for _ in range(3):
        taken = await _handled(client, alice, ANN)
        done = await client.post(
            f"/api/v1/interactions/{taken['id']}/complete", json={"disposition": "resolved"}, headers=alice
        )
        assert done.status == 200, await done.text()
        await client.post("/api/v1/agents/me/wrap-up/end", headers=alice)
        ids.append(taken["id"])
    path = f"/api/v1/customers/{taken['customer_id']}"

    first = await (await client.get(f"{path}?limit=2", headers=alice)).json()
    assert [i["id"] for i in first["interactions"]] == [ids[2], ids[1]]
    assert first["interactions"][0]["messages"] and first["identities"]
    rest = await (await client.get(f"{path}?limit=2&before={first['next_before']}", headers=alice)).json()
    assert ([i["id"] for i in rest["interactions"]], rest["next_before"]) == ([ids[0]], None)
    whole = await (await client.get(path, headers=alice)).json()
    assert ([i["id"] for i in whole["interactions"]], whole["next_before"]) == (ids[::-1], None)
    for bad in ("limit=0", "limit=201", "limit=x", "before=yesterday", "before=2026-01-01T00:00:00|"):
        assert await _error(await client.get(f"{path}?{bad}", headers=alice)) == (400, "input.bad_query")
