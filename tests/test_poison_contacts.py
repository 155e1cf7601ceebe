"""A contact that cannot be stored fails alone: refused at its transport's edge with a 4xx
or an error frame, and, should one get past an edge, failed alone in its group commit
while everything committed with it is stored. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable

from sqlalchemy import func, select

from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from storage.models import Message
from tests.channels.conftest import CHAT
from tests.support import AppFactory, Client, next_frame, post_sms, sms, sms_form

BUSY = 400


async def stored_messages(client: Client) -> int:
    async with client.app[SERVICES].sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def test_a_poison_contact_past_every_edge_fails_alone_in_a_busy_batch(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    """A body with a lone surrogate makes the driver raise (UnicodeEncodeError on SQLite,
    a DataError of asyncpg's on PostgreSQL): none of the errors intake once expected of
    one contact. It fails alone; the hundreds written with it are stored."""
    client = await app_factory(settings_factory())
    intake = client.app[SERVICES].intake
    contacts = [sms(f"+1555123{n:04d}", f"valid {n}") for n in range(BUSY)]
    poison = dataclasses.replace(sms("+15559999999"), body="half a pair: \ud800")
    contacts.insert(BUSY // 2, poison)

    results = await asyncio.gather(*(intake.receive(c, "support") for c in contacts), return_exceptions=True)

    failed = [(c, r) for c, r in zip(contacts, results, strict=True) if isinstance(r, BaseException)]
    assert [c for c, _ in failed] == [poison]
    assert await stored_messages(client) == BUSY


async def test_a_chat_frame_with_a_lone_surrogate_is_refused_while_a_burst_of_sms_is_all_taken(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    """The issue's case: 92 of 400 concurrent valid SMS got a 500 because a chat frame's
    lone surrogate failed their group commit."""
    client = await app_factory(settings_factory(channels=CHAT.format(grace=60), support_channels='["sms", "chat"]'))
    socket = await client.ws_connect("/chat/ws")
    await socket.send_json({"type": "start", "name": "Mallory"})
    await next_frame(socket, "started")
    poison = '{"type": "message", "client_id": "p1", "body": "half a pair: \\ud800"}'

    async def chat_poison() -> dict[str, object]:
        await socket.send_str(poison)
        return await next_frame(socket, "error")

    statuses = asyncio.gather(*(post_sms(client, sms_form(sender=f"+1555123{n:04d}")) for n in range(BUSY)))
    responses, refused = await asyncio.gather(statuses, chat_poison())

    assert [r.status for r in responses] == [200] * BUSY
    assert refused["code"] == "input.unstorable"
    assert await stored_messages(client) == BUSY
    # The session goes on: the visitor's next, storable, message is taken.
    await socket.send_str(json.dumps({"type": "message", "client_id": "ok", "body": "a whole one: \U0001f600"}))
    assert (await next_frame(socket, "ack"))["client_id"] == "ok"
