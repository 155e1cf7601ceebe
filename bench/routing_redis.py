"""``python -m bench.routing --backend redis``: the Redis routing backend's full cycle
(release -> enqueue -> next_offers until short -> accept, chat and email in turns, as
``bench.routing_engine`` runs the in-memory one) at 1,000 agents and 10,000 waiting, in
wall time, beside the ceiling any Redis backend has: ``EVALSHA`` of a script that only
returns, one call after another from another process on the same Redis.

A cycle is several scripts (one per decision), so the ratio of cycles to raw calls is
bounded by the calls a cycle makes; both are printed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bench.processes import free_port
from bench.routing_engine import Result, Scale, config, run_scale
from routing.redis import RedisRoutingBackend

SCALE = Scale(1_000, 10_000)
CYCLES = 5_000
RAW_CALLS = 50_000


@contextlib.asynccontextmanager
async def redis_server() -> AsyncIterator[str]:
    """A throwaway redis-server on a free loopback port, without persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (scripts/ensure-services installs it)")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = Redis.from_url(url)
        for _ in range(200):
            with contextlib.suppress(RedisConnectionError):
                if await client.ping():
                    break
            await asyncio.sleep(0.05)
        await client.aclose()
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def raw_evalsha(url: str, calls: int) -> float:
    """Calls per second of EVALSHA on a script that returns 1, one after another."""
    client = Redis.from_url(url)
    try:
        sha = await client.script_load("return 1")
        for _ in range(1_000):
            await client.evalsha(sha, 0)
        started = time.perf_counter()
        for _ in range(calls):
            await client.evalsha(sha, 0)
        return calls / (time.perf_counter() - started)
    finally:
        await client.aclose()


async def cycles(url: str) -> Result:
    backend = RedisRoutingBackend(url, config(), prefix="bench:")
    try:
        return await run_scale(SCALE, CYCLES, random.Random(7), backend, time.perf_counter)
    finally:
        await backend.close()


async def main() -> None:
    async with redis_server() as url:
        result = await cycles(url)
        raw = subprocess.run(
            [sys.executable, "-m", "bench.routing_redis", "raw", url], capture_output=True, text=True, check=True
        )
        raw_per_s = float(raw.stdout.strip())
    # A cycle's calls: release, enqueue, accept, and next_offers once (it makes the cycle's
    # one offer and finds no more: a short batch).
    per_cycle = 4
    ratio = result.cycles_per_s / raw_per_s
    print(
        f"Redis backend, full cycle at {SCALE.agents:,} agents and {SCALE.waiting:,} waiting"
        f" ({CYCLES:,} measured after {CYCLES:,}), wall time:"
    )
    print(
        f"  {result.cycles_per_s:,.0f} cycles/s ({result.cost_us:.0f} us a cycle: chat {result.cycle_us['chat']:.0f},"
        f" email {result.cycle_us['email']:.0f}); offering (next_offers) {result.next_offer_us:.0f} us an offer"
    )
    print(f"  raw EVALSHA of `return 1`, another process: {raw_per_s:,.0f} calls/s ({1e6 / raw_per_s:.0f} us a call)")
    print(
        f"  ratio cycles/raw calls {ratio:.3f}; a cycle makes {per_cycle} calls, so at most {1 / per_cycle:.2f}"
        f" ({raw_per_s / per_cycle:,.0f} cycles/s, were each call as cheap as a raw one);"
        f" its calls against raw: {ratio * per_cycle:.2f}"
    )
    print(
        f"  targets: >= 40% of raw {'met' if ratio >= 0.4 else 'NOT met'};"
        f" >= 5,000 cycles/s {'met' if result.cycles_per_s >= 5_000 else 'NOT met'}"
    )
    figures = {
        "backend": "redis",
        "cycles_per_s": round(result.cycles_per_s),
        "cycle_us": round(result.cost_us, 1),
        "next_offer_us": round(result.next_offer_us, 1),
        "raw_evalsha_per_s": round(raw_per_s),
        "ratio_to_raw": round(ratio, 3),
        "calls_per_cycle": per_cycle,
        "ceiling_cycles_per_s": round(raw_per_s / per_cycle),
        "calls_ratio_to_raw": round(ratio * per_cycle, 2),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    if sys.argv[1:2] == ["raw"]:
        print(asyncio.run(raw_evalsha(sys.argv[2], RAW_CALLS)))
    else:
        asyncio.run(main())
