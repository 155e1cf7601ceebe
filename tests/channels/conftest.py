"""Fixtures the channel tests share: a service with web chat on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from interaction_center.settings.model import Settings
from tests.support import AppFactory, Client

CHAT = '[channels.chat]\nqueue = "support"\nabandon_after_seconds = {grace}'


@pytest.fixture
def chat_settings(settings_factory: Callable[..., Settings]) -> Callable[..., Settings]:
    def make(grace: float = 60.0, **overrides: Any) -> Settings:
        overrides.setdefault("support_channels", '["sms", "chat"]')
        return settings_factory(channels=CHAT.format(grace=grace), **overrides)

    return make


@pytest.fixture
async def chat_client(app_factory: AppFactory, chat_settings: Callable[..., Settings]) -> Client:
    return await app_factory(chat_settings())
