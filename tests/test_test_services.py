"""The test harness itself: the throwaway Redis answers (the Redis routing backend's tests
build on it), so a missing server fails CI here rather than going unnoticed."""

from __future__ import annotations

import redis.asyncio as redis


async def test_the_session_redis_answers(redis_url: str) -> None:
    client = redis.from_url(redis_url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()
