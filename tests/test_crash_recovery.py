"""Nothing acknowledged is lost: the real server, killed with SIGKILL, restarted."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from sqlalchemy import select

from interaction_center.settings.model import Settings
from storage.database import create_engine
from storage.models import Interaction
from tests.served import serving
from tests.services import free_port
from tests.support import PASSWORDS, sms_form, twilio_signature


async def _post_sms(port: int, form: dict[str, str]) -> int:
    headers = {
        "X-Twilio-Signature": twilio_signature("/twilio/sms", form),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}/twilio/sms", data=urlencode(form), headers=headers) as response,
    ):
        return response.status


async def _as_alice(port: int, session: aiohttp.ClientSession) -> dict[str, str]:
    base = f"http://127.0.0.1:{port}/api/v1"
    async with session.post(f"{base}/auth/login", json={"username": "alice", "password": PASSWORDS["alice"]}) as r:
        headers = {"Authorization": f"Bearer {(await r.json())['token']}"}
    async with session.put(f"{base}/agents/me/status", json={"status": "available"}, headers=headers) as r:
        assert r.status == 200
    return headers


async def _stored(database_url: str) -> list[Interaction]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            # Rows of the table's columns (read on a Core connection), read by name as the
            # entity's attributes would be: typed as the entity.
            return list((await connection.execute(select(Interaction))).all())  # type: ignore[arg-type]
    finally:
        await engine.dispose()


async def test_a_contact_acknowledged_before_a_crash_is_queued_again_with_its_enqueue_time(
    tmp_path: Path, settings_factory: Callable[..., Settings]
) -> None:
    port = free_port()
    settings = settings_factory(port=port)
    async with serving(tmp_path, port) as process:
        assert await _post_sms(port, sms_form(body="are you there?")) == 200
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    [before] = await _stored(settings.database.url)
    assert before.state == "queued"

    async with serving(tmp_path, port), aiohttp.ClientSession() as session:
        alice = await _as_alice(port, session)
        async with session.get(f"http://127.0.0.1:{port}/api/v1/offers", headers=alice) as response:
            [offer] = (await response.json())["offers"]
    assert offer["id"] == before.id
    assert datetime.fromisoformat(offer["enqueued_at"]) == before.enqueued_at
    assert datetime.fromisoformat(offer["answer_deadline"]) == before.answer_deadline


async def test_an_offer_open_at_the_crash_is_still_the_agents_after_the_restart(
    tmp_path: Path, settings_factory: Callable[..., Settings]
) -> None:
    """Recovery changes nothing stored: the offer is the agent's again, with its own id and
    expiry, and can be accepted (it lapses as any offer would if it is not)."""
    port = free_port()
    settings = settings_factory(port=port)
    async with serving(tmp_path, port) as process, aiohttp.ClientSession() as session:
        await _as_alice(port, session)
        assert await _post_sms(port, sms_form()) == 200
        for _ in range(100):
            [row] = await _stored(settings.database.url)
            if row.state == "offered":
                break
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    [before] = await _stored(settings.database.url)
    assert before.state == "offered"

    async with serving(tmp_path, port), aiohttp.ClientSession() as session:
        alice = await _as_alice(port, session)
        base = f"http://127.0.0.1:{port}/api/v1"
        async with session.get(f"{base}/offers", headers=alice) as response:
            [offer] = (await response.json())["offers"]
        assert (offer["id"], offer["offer"]["id"]) == (before.id, before.offer_id)
        async with session.post(f"{base}/offers/{before.offer_id}/accept", headers=alice) as response:
            assert response.status == 200, await response.text()
            record: dict[str, Any] = await response.json()
    assert [e["type"] for e in record["events"]][-2:] == ["offered", "accepted"]
    assert datetime.fromisoformat(record["enqueued_at"]) == before.enqueued_at
