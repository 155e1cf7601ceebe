"""The web tests' fixtures beyond tests/conftest.py's."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from interaction_center.settings.model import Settings
from tests.support import AppFactory, Client


@pytest.fixture
async def pages_client(app_factory: AppFactory, settings_factory: Callable[..., Settings]) -> Client:
    """The service reached by plain http, as on one's own machine (the tests' usual public
    base URL is https, whose Secure cookie a browser would not send to http://127.0.0.1)."""
    settings = settings_factory()
    return await app_factory(dataclasses.replace(settings, http=dataclasses.replace(settings.http, public_base_url="")))
