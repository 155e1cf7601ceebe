"""Fixtures for the routing conformance suite.

``backend_factory`` is parametrized over the routing backends; a new backend (Redis) joins
by adding its name to ``params`` and a branch in ``BackendFactory.__call__``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from routing import EngineConfig, MemoryRoutingBackend, RoutingBackend
from routing.redis import RedisRoutingBackend


class BackendFactory:
    """Makes fresh, empty backends of one kind and remembers each, so all get closed."""

    def __init__(self, kind: str, redis_url: str | None = None) -> None:
        self.kind = kind
        self.redis_url = redis_url
        self._made: list[RoutingBackend] = []

    def __call__(self, config: EngineConfig) -> RoutingBackend:
        backend: RoutingBackend
        if self.kind == "memory":
            backend = MemoryRoutingBackend(config)
        elif self.kind == "redis" and self.redis_url is not None:
            # Its own prefix: backends made on the one test server never see each other.
            backend = RedisRoutingBackend(self.redis_url, config, prefix=f"test:{uuid.uuid4().hex}:")
        else:
            raise AssertionError(f"no routing backend called {self.kind!r}")
        self._made.append(backend)
        return backend

    async def close_all(self) -> None:
        """Close every backend made so far (and not closed yet)."""
        while self._made:
            await self._made.pop().close()


# Each call to the Redis backend is a round trip (about 0.1 ms of client time): the
# longest property runs take a minute or two on a loaded machine, where the in-memory
# engine takes seconds. The suite's tests stay as they are; only their time allowed grows.
REDIS_TIMEOUT_SECONDS = 420


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend_factory") == "redis":
            item.add_marker(pytest.mark.timeout(REDIS_TIMEOUT_SECONDS))


@pytest.fixture(params=["memory", "redis"])
async def backend_factory(request: pytest.FixtureRequest) -> AsyncIterator[BackendFactory]:
    """``make(config) -> RoutingBackend``; every backend it made is closed at teardown."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    factory = BackendFactory(request.param, redis_url)
    try:
        yield factory
    finally:
        await factory.close_all()
