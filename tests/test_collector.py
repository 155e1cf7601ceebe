"""The serving process's garbage collector (interaction_center.collector): set as
``serve`` sets it, on an application of its own, and put back afterwards."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from interaction_center import collector


@pytest.fixture
def put_back() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


async def test_a_served_app_collects_less_often_and_freezes_what_it_started_with(put_back: None) -> None:
    frozen_while_starting: list[int] = []

    async def services(app: web.Application) -> AsyncIterator[None]:
        # As the service's own lifecycle: started before anything is frozen.
        frozen_while_starting.append(gc.get_freeze_count())
        yield

    app = web.Application()
    app.cleanup_ctx.append(services)
    collector.settle(app)
    assert gc.get_threshold()[0] == collector.YOUNG_THRESHOLD

    server = TestServer(app)
    await server.start_server()
    try:
        assert frozen_while_starting == [0]
        assert gc.get_freeze_count() > 0
    finally:
        await server.close()
