"""An email or SMS set aside by its agent: on hold until the customer answers, snoozed
until a time, or taken up again. It holds none of the agent's capacity meanwhile, stays in
their work list, and comes back through routing for them first, then for anyone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interaction_center.desk.parking import MAX_SNOOZE, snooze_until
from interaction_center.domain.errors import InvalidInput
from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from tests.channels import test_email
from tests.channels.test_email import Relay, deliver, plain
from tests.support import (
    AppFactory,
    Client,
    accept_first,
    agent_id,
    interaction,
    login,
    offered,
    post_sms,
    routed,
    set_status,
    sms_form,
)

relay, email_settings, mail_client = test_email.relay, test_email.email_settings, test_email.mail_client

ANN = "+15551230001"


async def _post(client: Client, headers: dict[str, str], path: str, body: dict[str, Any] | None = None) -> Any:
    return await client.post(f"/api/v1/interactions/{path}", json=body or {}, headers=headers)


async def _ok(client: Client, headers: dict[str, str], path: str, body: dict[str, Any] | None = None) -> Any:
    response = await _post(client, headers, path, body)
    assert response.status in (200, 201), await response.text()
    return await response.json()


async def _refused(response: Any) -> tuple[int, str]:
    return response.status, (await response.json())["error"]["code"]


async def _holding(client: Client, headers: dict[str, str]) -> tuple[str, ...]:
    snapshot = await client.app[SERVICES].routing.agent(await agent_id(client, headers))
    assert snapshot is not None
    return snapshot.holding


async def _offered_soon(client: Client, headers: dict[str, str], seconds: float = 5.0) -> list[dict[str, Any]]:
    async with asyncio.timeout(seconds):
        while not (found := await offered(client, headers)):
            await asyncio.sleep(0.05)
    return found


async def test_an_email_on_hold_comes_back_to_its_agent_when_the_customer_answers(
    mail_client: Client, relay: Relay
) -> None:
    alice = await login(mail_client, "alice")
    await set_status(mail_client, alice, "available")
    first = plain("Please change my address.", subject="Address")
    assert (await deliver(mail_client, first))[0] == 250
    taken = await accept_first(mail_client, alice)
    await _ok(mail_client, alice, f"{taken['id']}/messages", {"body": "Which is the new address?"})
    reply = await relay.next_mail(1)

    held = await _ok(mail_client, alice, f"{taken['id']}/hold", {"note": "waiting for the new address"})

    assert (held["state"], held["assigned_agent_id"], held["parked_until"]) == (
        "parked",
        await agent_id(mail_client, alice),
        None,
    )
    parked = held["events"][-1]
    assert (parked["type"], parked["data"]["reason"], parked["data"]["note"]) == (
        "parked",
        "hold",
        "waiting for the new address",
    )
    # Theirs still, in their list, but none of their capacity.
    assert await _holding(mail_client, alice) == ()
    work = await (await mail_client.get("/api/v1/work", headers=alice)).json()
    assert ([w["id"] for w in work["parked"]], work["assigned"]) == ([taken["id"]], [])

    answer = plain("12 Elm Street.", subject="Re: Address", In_Reply_To=reply["Message-ID"])
    assert (await deliver(mail_client, answer))[0] == 250
    await routed(mail_client)

    [back] = await offered(mail_client, alice)
    assert back["id"] == taken["id"]
    again = await accept_first(mail_client, alice)
    record = await interaction(mail_client, alice, again["id"])
    assert record["state"] == "assigned" and record["parked_until"] is None
    assert [m["body"].strip() for m in record["messages"]] == [
        "Please change my address.",
        "Which is the new address?",
        "12 Elm Street.",
    ]
    queued = [e for e in record["events"] if e["type"] == "queued"]
    assert [e["data"].get("reason") for e in queued] == [None, "customer_answered"]


async def test_an_auto_reply_does_not_bring_an_email_back(mail_client: Client, relay: Relay) -> None:
    alice = await login(mail_client, "alice")
    await set_status(mail_client, alice, "available")
    first = plain()
    await deliver(mail_client, first)
    taken = await accept_first(mail_client, alice)
    await _ok(mail_client, alice, f"{taken['id']}/hold")

    out_of_office = plain("I am away", Auto_Submitted="auto-replied", In_Reply_To=first["Message-ID"])
    assert (await deliver(mail_client, out_of_office))[0] == 250
    await routed(mail_client)

    record = await interaction(mail_client, alice, taken["id"])
    assert record["state"] == "parked" and len(record["messages"]) == 2
    assert await offered(mail_client, alice) == []


async def test_an_answer_goes_to_anyone_when_the_agent_does_not_take_it_back(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    client = await app_factory(settings_factory(routing="hold_return_seconds = 0.3"))
    alice, bob = await login(client, "alice"), await login(client, "bob")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender=ANN, body="My bill is wrong"))
    taken = await accept_first(client, alice)
    await _ok(client, alice, f"{taken['id']}/hold")
    await set_status(client, alice, "away")
    await set_status(client, bob, "available")

    await post_sms(client, sms_form(sender=ANN, body="Here is the invoice number: 42"))
    await routed(client)
    # Kept for alice first, then anyone's.
    assert await offered(client, bob) == []
    [back] = await _offered_soon(client, bob)
    assert back["id"] == taken["id"]
    record = await interaction(client, bob, (await accept_first(client, bob))["id"])
    assert [e["type"] for e in record["events"]][-3:] == ["preferred_agent_released", "offered", "accepted"]


async def test_a_snoozed_sms_comes_back_when_its_time_comes(client: Client) -> None:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender=ANN))
    taken = await accept_first(client, alice)
    until = datetime.now(UTC) + timedelta(seconds=1.5)

    snoozed = await _ok(client, alice, f"{taken['id']}/snooze", {"until": until.isoformat(), "note": "call back"})

    assert snoozed["state"] == "parked"
    assert datetime.fromisoformat(snoozed["parked_until"]) == until
    assert snoozed["events"][-1]["data"]["reason"] == "snooze"
    assert await offered(client, alice) == []
    [back] = await _offered_soon(client, alice)
    assert back["id"] == taken["id"]
    record = await interaction(client, alice, taken["id"])
    assert [e["data"].get("reason") for e in record["events"] if e["type"] == "queued"][-1] == "snooze_ended"


async def test_a_customer_answer_ends_a_snooze_early(client: Client) -> None:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender=ANN))
    taken = await accept_first(client, alice)
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    await _ok(client, alice, f"{taken['id']}/snooze", {"until": later})

    await post_sms(client, sms_form(sender=ANN, body="Any news?"))
    await routed(client)

    [back] = await offered(client, alice)
    record = await interaction(client, alice, back["id"])
    assert (record["id"], record["parked_until"]) == (taken["id"], None)


async def test_the_agent_or_a_supervisor_takes_a_parked_interaction_up_again(client: Client) -> None:
    alice, bob, sam = await login(client, "alice"), await login(client, "bob"), await login(client, "sam")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender=ANN))
    taken = await accept_first(client, alice)
    await _ok(client, alice, f"{taken['id']}/hold")

    assert await _refused(await _post(client, bob, f"{taken['id']}/resume")) == (403, "auth.not_yours")
    resumed = await _ok(client, sam, f"{taken['id']}/resume")
    assert resumed["state"] == "queued"
    await routed(client)
    [back] = await offered(client, alice)
    assert back["id"] == taken["id"]
    assert await _refused(await _post(client, alice, f"{taken['id']}/resume")) == (409, "interaction.not_parked")


@pytest.mark.parametrize(
    "until",
    [
        "tomorrow",
        "2026-13-01T00:00:00+00:00",
        # No offset: whose nine o'clock?
        "2030-01-01T09:00:00",
        "2001-01-01T09:00:00+00:00",
        "2999-01-01T09:00:00+00:00",
        "0001-01-01T00:00:00+14:00",
    ],
)
async def test_a_bad_snooze_time_is_refused_and_changes_nothing(client: Client, until: str) -> None:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender=ANN))
    taken = await accept_first(client, alice)

    refused = await _post(client, alice, f"{taken['id']}/snooze", {"until": until})

    assert await _refused(refused) == (400, "snooze.bad_until")
    assert (await interaction(client, alice, taken["id"]))["state"] == "assigned"
    assert await _holding(client, alice) == (taken["id"],)


async def test_only_the_agents_own_assigned_interaction_is_parked(client: Client) -> None:
    alice, bob = await login(client, "alice"), await login(client, "bob")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender=ANN))
    taken = await accept_first(client, alice)

    assert await _refused(await _post(client, bob, f"{taken['id']}/hold")) == (403, "interaction.not_yours")
    await _ok(client, alice, f"{taken['id']}/hold")
    assert await _refused(await _post(client, alice, f"{taken['id']}/hold")) == (409, "interaction.not_assigned")
    reply = await _post(client, alice, f"{taken['id']}/messages", {"body": "Still there?"})
    assert await _refused(reply) == (409, "interaction.not_assigned")
    assert await _refused(await _post(client, alice, "nope/hold")) == (404, "interaction.not_found")


@given(st.one_of(st.text(max_size=64), st.datetimes(timezones=st.timezones()).map(datetime.isoformat)))
def test_any_snooze_time_is_taken_within_bounds_or_refused_as_such(text: str) -> None:
    try:
        when = snooze_until(text)
    except InvalidInput as refused:
        assert refused.code == "snooze.bad_until"
    else:
        assert when.tzinfo is not None and datetime.now(UTC) < when <= datetime.now(UTC) + MAX_SNOOZE


async def test_a_snooze_that_ended_while_the_service_was_down_comes_back_when_it_starts(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory()
    client = await app_factory(settings)
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender=ANN))
    taken = await accept_first(client, alice)
    until = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    await _ok(client, alice, f"{taken['id']}/snooze", {"until": until})
    await client.close()
    await asyncio.sleep(1.2)

    client = await app_factory(settings)
    alice = await login(client, "alice")
    await set_status(client, alice, "available")

    [back] = await _offered_soon(client, alice)
    assert back["id"] == taken["id"]
