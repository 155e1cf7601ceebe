"""Canned responses: the configuration's shared ones (some for one queue only) and an
agent's own, found by shortcut or title, filled from the customer's record for an
interaction; bad templates refused where they are written."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from interaction_center.settings.model import Settings
from tests.settings.files import MINIMAL, issues_of
from tests.support import Client, accept_first, login, post_sms, set_status, sms_form

Start = Callable[[Settings], Awaitable[Client]]
Make = Callable[..., Settings]

SHARED = """
[[canned]]
shortcut = "hello"
title = "Greeting"
body = "Hi {{customer.name|there}}, this is {{agent.name}}. We have your number as {{customer.phone}}."
[[canned]]
shortcut = "upgrade"
title = "Plan upgrade offer"
body = "Our premium plan is half price this month."
queues = ["sales"]
"""


async def _find(client: Client, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/canned{query}", headers=headers)
    assert response.status == 200, await response.text()
    return list((await response.json())["responses"])


async def test_shared_and_own_responses_are_found_and_filled_for_an_interaction(
    app_factory: Start, settings_factory: Make
) -> None:
    client = await app_factory(settings_factory(top=SHARED))
    alice = await login(client, "alice")
    mine = await client.post(
        "/api/v1/canned",
        json={"shortcut": "bye", "title": "Goodbye", "body": "Thanks {{customer.name|}}, bye from {{queue}}!"},
        headers=alice,
    )
    assert mine.status == 201
    assert [(c["source"], c["shortcut"]) for c in await _find(client, alice)] == [
        ("mine", "bye"),
        ("shared", "hello"),
        ("shared", "upgrade"),
    ]
    assert [c["shortcut"] for c in await _find(client, alice, "?q=HE")] == ["hello"]
    assert [c["shortcut"] for c in await _find(client, alice, "?q=offer")] == ["upgrade"]

    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender="+15551230001"))
    taken = await accept_first(client, alice)
    filled = {c["shortcut"]: c["text"] for c in await _find(client, alice, f"?interaction_id={taken['id']}")}
    # Support's interaction: not sales' offer; the customer has no name on record yet.
    assert filled == {
        "bye": "Thanks , bye from support!",
        "hello": "Hi there, this is alice. We have your number as +15551230001.",
    }
    reply = await client.post(
        f"/api/v1/interactions/{taken['id']}/messages", json={"body": filled["hello"]}, headers=alice
    )
    assert reply.status == 201
    # Only the interactions one may read are filled in.
    bob = await login(client, "bob")
    refused = await client.get(f"/api/v1/canned?interaction_id={taken['id']}", headers=bob)
    assert (refused.status, (await refused.json())["error"]["code"]) == (403, "auth.not_yours")


async def test_an_agent_edits_and_deletes_only_their_own(client: Client) -> None:
    alice, bob = await login(client, "alice"), await login(client, "bob")
    made = await (
        await client.post(
            "/api/v1/canned", json={"shortcut": "wait", "title": "Wait", "body": "One moment"}, headers=alice
        )
    ).json()
    path = f"/api/v1/canned/{made['id']}"
    assert (await client.patch(path, json={"title": "Please wait"}, headers=bob)).status == 404
    assert (await client.delete(path, headers=bob)).status == 404
    edited = await client.patch(path, json={"title": "Please wait"}, headers=alice)
    assert (await edited.json())["title"] == "Please wait"
    assert [c["title"] for c in await _find(client, alice)] == ["Please wait"]
    assert await _find(client, bob) == []
    assert (await client.delete(path, headers=alice)).status == 200
    assert await _find(client, alice) == []


async def test_bad_canned_responses_are_refused(client: Client) -> None:
    alice = await login(client, "alice")
    good = {"shortcut": "ok", "title": "OK", "body": "Fine"}
    assert (await client.post("/api/v1/canned", json=good, headers=alice)).status == 201
    for body, code in (
        (good, (409, "canned.exists")),
        (good | {"shortcut": "Bad Shortcut"}, (400, "canned.invalid")),
        (good | {"shortcut": "x1", "body": "Hi {{customer.shoe_size}}"}, (400, "canned.invalid")),
        (good | {"shortcut": "x2", "body": " "}, (400, "canned.invalid")),
        (good | {"shortcut": "x3", "colour": "red"}, (400, "canned.invalid")),
    ):
        response = await client.post("/api/v1/canned", json=body, headers=alice)
        assert (response.status, (await response.json())["error"]["code"]) == code, body
    assert [c["shortcut"] for c in await _find(client, alice)] == ["ok"]


def test_the_configurations_canned_responses_are_checked(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + '[[canned]]\nshortcut = "a"\ntitle = "A"\nbody = "{{nope}}"\n'
        + '[[canned]]\nshortcut = "b"\ntitle = "B"\nbody = "b"\nqueues = ["nowhere"]\n'
    )
    found = {(issue.key, issue.reason) for issue in issues_of(tmp_path, text)}
    assert found == {
        ("canned[0]", "{{nope}} is not a field: use customer.name, customer.phone, customer.email, agent.name, queue"),
        ("canned[1].queues", "must be a list of configured queues"),
    }
