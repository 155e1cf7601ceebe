"""``make bench``: the routing engine's full cycle at three scales with the same share of
agents ready at each (and its offering, ``next_offers``, alone within it), arrivals nobody
ready may take (a scarce skill) at two, live queue statistics at 10,000 agents, and contact-to-offer
latency through the whole service, each beside its bare-component ceiling measured in
the same run.

Prints a table for people; the last line is one JSON object with the figures. The
``cycle_*`` figures are whole cycles; ``decisions_per_s``, ``ratio_to_heapq``,
``cost_growth`` and ``cost_us`` are the ``next_offers`` calls of those cycles alone, per
offer made."""

from __future__ import annotations

import argparse
import asyncio
import json
import random

from bench import routing_redis
from bench.offer_latency import bare_latency, percentile, service_latency
from bench.routing_engine import READY_SHARE, Scale, run_scale, run_scarce, run_stats

SCALES = (Scale(100, 1_000), Scale(1_000, 10_000), Scale(10_000, 100_000))
SCARCE_READY = (1_000, 10_000)
SCARCE_ARRIVALS = 5_000
STATS_AGENTS = 10_000
STATS_CALLS = 20
CYCLES = 20_000
RATE = 200.0
SECONDS = 5.0


async def main() -> None:
    rng = random.Random(7)
    results = {scale: await run_scale(scale, CYCLES, rng) for scale in SCALES}
    print(
        f"full cycle (release -> enqueue -> next_offers until short -> accept), {READY_SHARE:.0%} of agents ready,"
        " chat and email cycles in turns:"
    )
    print(
        f"{'agents':>7} {'waiting':>8} {'ready':>6} {'cycles/s':>9} {'us/cycle':>9} {'chat us':>8} {'email us':>9}"
        f" {'heapq us':>9} {'ratio':>6}"
    )
    for scale, r in results.items():
        print(
            f"{scale.agents:>7} {scale.waiting:>8} {r.ready_share:>6.1%} {r.cycles_per_s:>9,.0f} {r.cost_us:>9.1f}"
            f" {r.cycle_us['chat']:>8.1f} {r.cycle_us['email']:>9.1f} {r.heapq_us:>9.2f} {r.cost_us / r.heapq_us:>6.1f}"
        )
    print("\noffering (next_offers) alone, within those cycles, per offer made:")
    print(f"{'agents':>7} {'waiting':>8} {'decisions/s':>12} {'us/decision':>12} {'ratio':>6}")
    for scale, r in results.items():
        print(
            f"{scale.agents:>7} {scale.waiting:>8} {r.decisions_per_s:>12,.0f} {r.next_offer_us:>12.1f}"
            f" {r.next_offer_us / r.heapq_us:>6.1f}"
        )
    scarce = [await run_scarce(ready, SCARCE_ARRIVALS, rng) for ready in SCARCE_READY]
    print("\narrivals nobody ready may take (half lack the skill, half hold back for older entries):")
    for s in scarce:
        print(f"  {s.ready:>6} ready agents: {s.cost_us:.1f} us per arrival, heapq {s.heapq_us:.2f} us")
    stats = await run_stats(STATS_AGENTS, STATS_CALLS, rng)
    print(
        f"\nqueue statistics at {stats.agents:,} agents: {stats.stats_ms:.1f} ms a call, "
        f"one pass over their memberships {stats.bare_ms:.1f} ms"
    )
    service = await service_latency(RATE, SECONDS)
    bare = await bare_latency(RATE, SECONDS)
    print(f"\ncontact-to-offer at {RATE:.0f}/s for {SECONDS:.0f} s (webhook sent -> offer frame received):")
    for name, values in (("service (SQLite)", service), ("bare aiohttp handler + WebSocket", bare)):
        print(
            f"  {name:<32} n={len(values)} p50={percentile(values, 0.5):.1f} ms p99={percentile(values, 0.99):.1f} ms"
        )
    middle, small, large = results[SCALES[1]], results[SCALES[0]], results[SCALES[2]]
    p99, bare_p99 = percentile(service, 0.99), percentile(bare, 0.99)
    figures = {
        "cycles_per_s": round(middle.cycles_per_s),
        "cycle_ratio_to_heapq": round(middle.cost_us / middle.heapq_us, 1),
        "cycle_cost_growth": round(large.cost_us / small.cost_us, 2),
        "cycle_cost_us": {f"{s.agents}x{s.waiting}": round(r.cost_us, 1) for s, r in results.items()},
        "ready_share": {f"{s.agents}x{s.waiting}": round(r.ready_share, 3) for s, r in results.items()},
        "decisions_per_s": round(middle.decisions_per_s),
        "ratio_to_heapq": round(middle.next_offer_us / middle.heapq_us, 1),
        "cost_growth": round(large.next_offer_us / small.next_offer_us, 2),
        "cost_us": {f"{s.agents}x{s.waiting}": round(r.next_offer_us, 1) for s, r in results.items()},
        "scarce_cost_us": {str(r.ready): round(r.cost_us, 1) for r in scarce},
        "scarce_ratio_to_heapq": round(scarce[-1].cost_us / scarce[-1].heapq_us, 1),
        "scarce_cost_growth": round(scarce[-1].cost_us / scarce[0].cost_us, 2),
        "stats_ms": round(stats.stats_ms, 1),
        "stats_ratio_to_bare": round(stats.stats_ms / stats.bare_ms, 1),
        "offer_latency_p50_ms": round(percentile(service, 0.5), 1),
        "offer_latency_p99_ms": round(p99, 1),
        "bare_latency_p99_ms": round(bare_p99, 2),
        "latency_ratio_to_bare": round(p99 / bare_p99, 1),
        "offers_received": len(service),
        "contacts_sent": int(RATE * SECONDS),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.routing", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("memory", "redis"), default="memory")
    if parser.parse_args().backend == "redis":
        asyncio.run(routing_redis.main())
    else:
        asyncio.run(main())
