"""A contact that cannot be stored fails alone: refused at its transport's edge with a 4xx
or an error frame, and, should one get past an edge, failed alone in its group commit
while everything committed with it is stored. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

from sqlalchemy import func, select

from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from storage.models import Message
from tests.support import AppFactory, Client, sms

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
