"""The web tests' fixtures beyond tests/conftest.py's."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from interaction_center.settings.model import Settings
from tests.support import AppFactory, Client

PagesFactory = Callable[..., Awaitable[Client]]


@pytest.fixture
def pages_client_factory(app_factory: AppFactory, settings_factory: Callable[..., Settings]) -> PagesFactory:
    """The service reached by plain http, as on one's own machine (the tests' usual public
    base URL is https, whose Secure cookie a browser would not send to http://127.0.0.1),
    with settings_factory's overrides."""

    async def start(**overrides: Any) -> Client:
        settings = settings_factory(**overrides)
        return await app_factory(
            dataclasses.replace(settings, http=dataclasses.replace(settings.http, public_base_url=""))
        )

    return start


@pytest.fixture
async def pages_client(pages_client_factory: PagesFactory) -> Client:
    return await pages_client_factory()
