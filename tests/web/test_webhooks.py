"""Outbound webhooks: each receiver gets its kinds of events in the log's order, signed
with HMAC-SHA256 over the timestamp and the body, again after a failure (same idempotency
key) until it takes them; a dead receiver holds up nothing else. Instances on one Redis
deliver each event once between them, one at a time, another taking over when it stops."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from interaction_center.dispatch.membership import RedisMembership
from interaction_center.dispatch.webhooks import signature
from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from routing.redis import client
from routing.redis_keys import named
from tests.cluster import shared_state
from tests.services import free_port
from tests.settings.files import MINIMAL, issues_of
from tests.support import Client, accept_first, login, post_sms, set_status, sms_form

Start = Callable[[Settings], Awaitable[Client]]
Make = Callable[..., Settings]
SECRET = "a-secret-shared-with-the-crm"


@dataclass
class Receiver:
    failures_left: int = 2
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: TestServer | None = None

    async def take(self, request: web.Request) -> web.Response:
        self.posts.append((dict(request.headers), await request.read()))
        if self.failures_left:
            self.failures_left -= 1
            return web.Response(status=500)
        return web.Response(status=204)

    def taken(self) -> list[dict[str, object]]:
        """The events delivered (their last attempt answered 2xx), once each, in order."""
        seen: dict[str, dict[str, object]] = {}
        for headers, body in self.posts:
            seen.setdefault(headers["Idempotency-Key"], json.loads(body))
        return list(seen.values())


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.take)
    receiver.server = TestServer(app)
    await receiver.server.start_server()
    yield receiver
    await receiver.server.close()


async def test_a_receiver_gets_its_events_in_order_signed_and_again_after_failures(
    app_factory: Start, settings_factory: Make, receiver: Receiver
) -> None:
    assert receiver.server is not None
    hooks = f"""
[[webhooks]]
name = "crm"
url = "{receiver.server.make_url("/hook")}"
secret = "{SECRET}"
events = ["queued", "accepted"]
retry_seconds = 0.05
[[webhooks]]
name = "dead"
url = "http://127.0.0.1:{free_port()}/nobody"
secret = "{SECRET}"
events = ["queued"]
retry_seconds = 0.05
"""
    client = await app_factory(settings_factory(top=hooks))
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    # The dead receiver holds up neither routing nor the other receiver.
    taken = await accept_first(client, alice)
    for _ in range(200):
        if len(receiver.taken()) == 2:
            break
        await asyncio.sleep(0.05)
    events = receiver.taken()
    assert [(e["type"], e["interaction_id"]) for e in events] == [("queued", taken["id"]), ("accepted", taken["id"])]
    assert len(receiver.posts) >= 4  # two failed attempts before the first was taken
    first_key = receiver.posts[0][0]["Idempotency-Key"]
    assert receiver.posts[1][0]["Idempotency-Key"] == first_key == events[0]["id"]
    for headers, body in receiver.posts:
        assert headers["X-IC-Signature"] == signature(SECRET, headers["X-IC-Timestamp"], body)
        assert headers["X-IC-Event"] in ("queued", "accepted")


def test_webhooks_are_checked_as_configuration(tmp_path: Path) -> None:
    hook = '[[webhooks]]\nname = "x"\nurl = "{url}"\nsecret = "{secret}"\nevents = ["queued"]\n'
    for url, secret, reason in (
        ("ftp://x", SECRET, "url: an http:// or https:// URL"),
        ("https://x", "short", "secret: at least 16 characters, shared with the receiver only"),
    ):
        [issue] = issues_of(tmp_path, MINIMAL + hook.format(url=url, secret=secret))
        assert (issue.key, issue.reason) == ("webhooks[0]", reason)


async def test_instances_on_one_redis_deliver_each_event_once_and_another_takes_over_when_one_stops(
    app_factory: Start, settings_factory: Make, receiver: Receiver, redis_url: str
) -> None:
    assert receiver.server is not None
    receiver.failures_left = 0
    hooks = f"""
[[webhooks]]
name = "crm"
url = "{receiver.server.make_url("/hook")}"
secret = "{SECRET}"
events = ["queued"]
"""
    settings = settings_factory(top=hooks, redis=shared_state(redis_url))
    instances = [await app_factory(settings), await app_factory(settings)]

    async def delivered(count: int) -> None:
        for _ in range(200):
            if len(receiver.taken()) >= count:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{len(receiver.taken())} of {count} delivered")

    for n in range(6):
        await post_sms(instances[n % 2], sms_form(sender=f"+1555000{n:04d}", body=f"Question {n}"))
    await delivered(6)
    await asyncio.sleep(1)  # time for a second instance's copies, were there any
    assert len(receiver.posts) == 6

    # The instance delivering stops: the other goes on from where it got to.
    redis = client(redis_url)
    try:
        holding = await redis.get(named(settings.redis.prefix, "alone", work="webhook:crm"))
    finally:
        await redis.aclose()
    [holder] = [i for i in instances if _instance(i) == holding]
    # Only the instance delivering says how far behind the receiver is.
    for instance in instances:
        exposition = await (await instance.get("/metrics")).text()
        assert ('ic_event_log_lag{consumer="webhook:crm"}' in exposition) is (instance is holder)
    await holder.close()
    [other] = [i for i in instances if i is not holder]
    for n in range(6, 9):
        await post_sms(other, sms_form(sender=f"+1555000{n:04d}", body=f"Question {n}"))
    await delivered(9)
    assert len({event["interaction_id"] for event in receiver.taken()}) == 9


def _instance(app: Client) -> str:
    membership = app.app[SERVICES].membership
    assert isinstance(membership, RedisMembership)
    return membership.instance
