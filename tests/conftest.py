"""Shared fixtures: real databases (SQLite and PostgreSQL), Redis, the Twilio stub, and
the application served on loopback."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, async_playwright
from sqlalchemy.engine import make_url

from interaction_center.settings.model import Settings
from interaction_center.web.app import build_app
from storage.migrate import upgrade
from tests.services import start_postgres, start_redis, unavailable
from tests.support import AppFactory, Client, write_settings
from tests.twilio_stub import TwilioStub


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[tuple[str | None, str]]:
    given = os.environ.get("IC_DATABASE_URL", "")
    if given.startswith(("postgres://", "postgresql")):
        yield make_url(given).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False), ""
        return
    url, reason, stop = start_postgres()
    yield url, reason
    stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[tuple[str | None, str]]:
    given = os.environ.get("IC_REDIS_URL")
    if given:
        yield given, ""
        return
    url, reason, stop = start_redis()
    yield url, reason
    stop()


@pytest.fixture
def redis_url(redis_server: tuple[str | None, str]) -> str:
    url, reason = redis_server
    if url is None:
        unavailable(reason)
    assert url is not None
    return url


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each kind; PostgreSQL gets a fresh database per test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/interaction-center.db"
        return
    server, reason = request.getfixturevalue("postgres_server")
    if server is None:
        unavailable(reason)
    name = f"ic_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(server))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(_asyncpg_dsn(server))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def migrated_url(database_url: str) -> str:
    await upgrade(database_url)
    return database_url


@pytest.fixture
async def twilio_stub() -> AsyncIterator[TwilioStub]:
    stub = TwilioStub()
    stub.server = TestServer(stub.app())
    await stub.server.start_server()
    yield stub
    await stub.server.close()


@pytest.fixture
def settings_factory(tmp_path: Path, migrated_url: str, twilio_stub: TwilioStub) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return write_settings(tmp_path, migrated_url, twilio_stub.url, **overrides)

    return make


@pytest.fixture
async def app_factory(migrated_url: str) -> AsyncIterator[AppFactory]:
    """Apps on the test's database; depending on it makes them stop before it is dropped."""
    clients: list[Client] = []

    async def start(settings: Settings) -> Client:
        client = TestClient(TestServer(build_app(settings)))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


@pytest.fixture
async def client(app_factory: AppFactory, settings_factory: Callable[..., Settings]) -> Client:
    return await app_factory(settings_factory())


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's headless Chromium, driven by Playwright (the pages' and the chat widget's tests)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        unavailable("Chromium is not installed (`make test` installs Debian's chromium)")
    async with async_playwright() as playwright:
        # No sandbox: tests may run as root, which Chromium's sandbox refuses; the pages are
        # our own, on loopback. The browser phone's calls: a fake microphone, allowed without
        # asking, and media between two pages over loopback, by plain addresses.
        args = [
            "--no-sandbox",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            "--allow-loopback-in-peer-connection",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--mute-audio",
        ]
        launched = await playwright.chromium.launch(executable_path=chromium, args=args)
        yield launched
        await launched.close()
