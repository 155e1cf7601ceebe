"""Fixtures for the routing conformance suite.

``backend_factory`` is parametrized over the routing backends; a new backend (Redis) joins
by adding its name to ``params`` and a branch in ``BackendFactory.__call__``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from routing import EngineConfig, MemoryRoutingBackend, RoutingBackend


class BackendFactory:
    """Makes fresh, empty backends of one kind and remembers each, so all get closed."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._made: list[RoutingBackend] = []

    def __call__(self, config: EngineConfig) -> RoutingBackend:
        backend: RoutingBackend
        if self.kind == "memory":
            backend = MemoryRoutingBackend(config)
        else:
            raise AssertionError(f"no routing backend called {self.kind!r}")
        self._made.append(backend)
        return backend

    async def close_all(self) -> None:
        """Close every backend made so far (and not closed yet)."""
        while self._made:
            await self._made.pop().close()


@pytest.fixture(params=["memory"])
async def backend_factory(request: pytest.FixtureRequest) -> AsyncIterator[BackendFactory]:
    """``make(config) -> RoutingBackend``; every backend it made is closed at teardown."""
    factory = BackendFactory(request.param)
    try:
        yield factory
    finally:
        await factory.close_all()
