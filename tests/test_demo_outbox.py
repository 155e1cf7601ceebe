"""DEMO ONLY: the demo sandbox's outbox shared in Redis (dispatch/demo_outbox.py), as
`make cluster`'s instances share it: what one kept, another shows, in one numbering."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from interaction_center.dispatch import demo_outbox
from interaction_center.dispatch.demo_outbox import SharedOutbox


@pytest.fixture
async def instances(redis_url: str) -> AsyncIterator[tuple[SharedOutbox, SharedOutbox]]:
    """Two instances' outboxes on one prefix."""
    prefix = f"test:{uuid.uuid4().hex}:"
    first, second = SharedOutbox(redis_url, prefix), SharedOutbox(redis_url, prefix)
    yield first, second
    await first.close()
    await second.close()


async def test_what_one_instance_kept_another_shows_in_one_numbering(
    instances: tuple[SharedOutbox, SharedOutbox],
) -> None:
    first, second = instances
    await first.add("sms", "+15551230001", "+15005550006", "Thanks, on it")
    await second.add("email", "Jane@Customer.test", "support@example.com", "Subject: Re: My bill\n\nSorted.")
    await first.add("sms", "+15551230002", "+15005550006", "Hello")
    shown = await second.after(0, None)
    assert [(s.seq, s.channel, s.to, s.body) for s in shown] == [
        (1, "sms", "+15551230001", "Thanks, on it"),
        (2, "email", "Jane@Customer.test", "Subject: Re: My bill\n\nSorted."),
        (3, "sms", "+15551230002", "Hello"),
    ]
    # As `simulate --wait-reply` asks: after the last number it saw, to its own address.
    assert [s.seq for s in await first.after(1, "jane@customer.test")] == [2]
    assert await first.after(3, None) == []


async def test_the_shared_outbox_keeps_its_latest_entries(
    instances: tuple[SharedOutbox, SharedOutbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_outbox, "KEPT", 3)
    first, second = instances
    for n in range(1, 6):
        await (first if n % 2 else second).add("sms", "+15551230001", "+15005550006", f"reply {n}")
    assert [s.body for s in await second.after(0, None)] == ["reply 3", "reply 4", "reply 5"]


async def test_any_instance_serves_the_page_of_what_all_kept(instances: tuple[SharedOutbox, SharedOutbox]) -> None:
    first, second = instances
    await first.add("sms", "+15551230001", "+15005550006", "<b>Thanks</b>")
    app = web.Application()
    second.register(app)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/demo/outbox", params={"after": "0", "to": "+15551230001"})
        assert response.status == 200
        page = await response.json()
    assert page["messages"] == [
        {"seq": 1, "channel": "sms", "to": "+15551230001", "from": "+15005550006", "body": "<b>Thanks</b>"}
    ]
    assert "demo sandbox" in page["demo_only"]
