"""SMS intake through a real HAProxy (``config/haproxy.cfg`` as it is) in front of 1, 2 and
3 instances of the service, each a ``serve`` process of its own on one PostgreSQL and one
Redis (both throwaway, started here); beside it, in the same run, the same HAProxy in front
of as many bare aiohttp handlers (``bench.cluster_bare``, a process each) answering the
same webhooks with the same empty TwiML: the ceiling of that many processes behind it.

For each count, each side gets fresh servers (the service a fresh database and Redis
prefix, so that runs compare), then ``bench.cluster_load``, a process of its own, keeps
CONNECTIONS keep-alive connections to HAProxy busy with signed webhooks from distinct
senders for WARMUP_SECONDS untimed and SECONDS timed. The rate is webhooks answered 200
within the timed window per second (for the service, a contact stored and queued), with
its latency p50/p99. Every contact answered is checked stored, and counted by the
instances' own /metrics (which also shows how HAProxy spread them).

During each timed window the scheduler's account of every process is read from /proc:
time on a CPU and time runnable but waiting for one, of the instances, PostgreSQL (its
postmaster and backends), Redis, HAProxy, the bare handlers and the load generator; and
the machine's busy time, so that other work on a shared machine shows. From that it says
where the bottleneck is, and from the CPU a contact costs each part, what cores of its
own would give.

Prints tables for people; the last line is one JSON object with the figures.

    .venv/bin/python -m bench.cluster
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.cluster_load import write_pool
from bench.cluster_servers import (
    Postgres,
    Usage,
    balancer,
    child_named,
    cpu_sample,
    instances,
    postgres_server,
    sms_taken_in,
    usage,
    write_config,
)
from bench.processes import ROOT, bare_server, clean_env
from bench.routing_redis import redis_server

COUNTS = (1, 2, 3)
CONNECTIONS = 64
WARMUP_SECONDS = 2.0
SECONDS = 8.0
# Webhooks signed in advance (about 2 s), shared by every run: several times what a service
# run sends on a 2-core machine (under 10,000); a run that needs more fails, saying so.
POOL = 60_000
CORES = os.cpu_count() or 1
# The load generator stands for Twilio: not part of what the service's machine pays.
LOAD = "load generator"


@dataclass(frozen=True)
class Run:
    rate: float
    p50_ms: float
    p99_ms: float
    answered: int  # in all, the untimed warm-up included
    cpu: Usage
    # The share of contacts each instance took in (service runs).
    spread: tuple[float, ...] = ()

    def cost_ms(self) -> dict[str, float]:
        """CPU milliseconds each group spent per webhook answered."""
        return {name: cores * 1000 / self.rate for name, cores in self.cpu.groups.items()}

    def server_ms(self) -> float:
        """CPU milliseconds a webhook cost the servers' side, whatever other work took of
        the machine: the figure a shared machine moves least."""
        return sum(ms for name, ms in self.cost_ms().items() if name != LOAD)


async def _drive(port: int, pool: Path, groups: dict[str, list[int]], repeat: str) -> Run:
    """The load generator against HAProxy on ``port``, the CPU of ``groups`` (and its own)
    sampled as its timed window opens and closes; ``repeat``: its ``once`` or ``again``."""
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "bench.cluster_load", str(pool), str(port)],
        *[str(CONNECTIONS), str(WARMUP_SECONDS), str(SECONDS), repeat],
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=clean_env(),
    )
    try:
        assert process.stdout is not None
        groups = {**groups, LOAD: [process.pid]}
        samples = []
        for expected in ("measuring", "done"):
            line = (await process.stdout.readline()).decode().strip()
            if line != expected:
                raise RuntimeError(f"the load generator said {line!r} where {expected!r} was due")
            samples.append(cpu_sample(groups))
        result = json.loads(await process.stdout.readline())
        if await process.wait() != 0:
            raise RuntimeError(f"the load generator exited with {process.returncode}")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if result["failures"]:
        raise RuntimeError(f"{result['failures']} webhooks not answered 200, first: {result['first_failure']}")
    rate = result["in_window"] / result["seconds"]
    return Run(rate, result["p50_ms"], result["p99_ms"], result["answered"], usage(*samples))


async def _service(
    count: int, postgres: Postgres, redis: tuple[str, int], directory: Path, pool: Path, logs: list[str]
) -> Run:
    database = f"bench_{count}"
    await postgres.create(database)
    config = write_config(directory / f"service-{count}.toml", postgres.url(database), redis[0], f"bench:{count}:")
    async with (
        instances(config, count, logs) as started,
        balancer([port for port, _ in started], directory / f"haproxy-service-{count}.log") as (port, haproxy),
    ):
        groups = {"instances": [pid for _, pid in started], "postgres": [postgres.pid], "redis": [redis[1]]}
        run = await _drive(port, pool, {**groups, "haproxy": [haproxy]}, "once")
        taken = [await sms_taken_in(instance) for instance, _ in started]
    stored = await postgres.sms_interactions(database)
    if stored != run.answered or sum(taken) != run.answered:
        raise RuntimeError(f"{run.answered} answered 200, {stored} stored, taken in per instance {taken}")
    return replace(run, spread=tuple(n / run.answered for n in taken))


async def _bare(count: int, directory: Path, pool: Path) -> Run:
    async with contextlib.AsyncExitStack() as stack:
        servers = [await stack.enter_async_context(bare_server("sms", "bench.cluster_bare")) for _ in range(count)]
        log = directory / f"haproxy-bare-{count}.log"
        port, haproxy = await stack.enter_async_context(balancer([port for port, _ in servers], log))
        groups = {"bare handlers": [pid for _, pid in servers], "haproxy": [haproxy]}
        return await _drive(port, pool, groups, "again")


# --- the report -------------------------------------------------------------------------


# A machine this busy has no CPU to spare; nor has a process that wanted this much of the
# one core it can use (an event loop, Redis's one thread).
FULL = 0.9


def _at_one_core(cpu: Usage) -> list[str]:
    return [name for name in ("instances", "redis", "bare handlers") if cpu.busiest.get(name, 0.0) >= FULL]


def _waits_bound(cpu: Usage) -> bool:
    """Whether something other than CPU limited the run: the machine had cores to spare,
    and no process wanted all of its one."""
    return cpu.machine < FULL * CORES and not _at_one_core(cpu)


def _bottleneck(cpu: Usage) -> str:
    """What limits a run, from where its processes' time went."""
    if _waits_bound(cpu):
        return (
            f"not CPU: {cpu.machine:.2f} of {CORES} cores busy and no process wanted a whole one:"
            " it waits (commits, locks, round trips)"
        )
    found = []
    if cpu.machine >= FULL * CORES:
        most = max(cpu.waiting, key=lambda name: cpu.waiting[name])
        found.append(
            f"the {CORES} cores are full ({cpu.machine:.2f} busy, {cpu.others:.2f} of it other work), and this"
            f" run's processes waited {sum(cpu.waiting.values()):.2f} cores' worth for one (most: {most},"
            f" {cpu.waiting[most]:.2f})"
        )
    found.extend(
        f"one of the {name} wanted {cpu.busiest[name]:.2f} of the one core it can use" for name in _at_one_core(cpu)
    )
    return "; ".join(found)


def _cpu_table(runs: dict[int, Run], unit: str) -> list[str]:
    lines = []
    for n in COUNTS:
        run = runs[n]
        cpu = run.cpu
        cores = "  ".join(
            f"{name} {used:.2f}+{cpu.waiting[name]:.2f}"
            + (f" ({cpu.busiest[name]:.2f})" if n > 1 and name.endswith("s") else "")
            for name, used in cpu.groups.items()
        )
        lines.append(
            f"  {n}: {cores}  | interrupts {cpu.interrupts:.2f}, others {cpu.others:.2f}; machine {cpu.machine:.2f},"
            f" stolen {cpu.stolen:.2f}"
        )
        cost = "  ".join(f"{name} {ms:.3f}" for name, ms in run.cost_ms().items())
        lines.append(f"     ms a {unit}: {cost}")
        lines.append(f"     bottleneck: {_bottleneck(cpu)}")
    return lines


def _predicted(run: Run, cores: int, count: int) -> float:
    """Contacts/s on ``cores`` cores of their own (no neighbours, the load generator
    elsewhere), if a contact costs each part what it cost in ``run`` at ``count``
    instances: PostgreSQL's backends and HAProxy's threads use every core; an instance is
    one event loop and Redis one thread, each one core at most. A run that waits limited
    had CPU to spare: more cores would not change its rate."""
    if _waits_bound(run.cpu):
        return run.rate
    cost = run.cost_ms()
    return min(cores * 1000 / run.server_ms(), count * 1000 / cost["instances"], 1000 / cost["redis"])


def _report(service: dict[int, Run], bare: dict[int, Run], logs: list[str]) -> None:
    one, bare_one = service[COUNTS[0]], bare[COUNTS[0]]
    print(
        f"SMS intake through HAProxy (config/haproxy.cfg), {CONNECTIONS} connections, {SECONDS:.0f} s timed after"
        f" {WARMUP_SECONDS:.0f} s, on {CORES} cores:"
    )
    print("  (CPU ms: what a webhook cost the servers, the load generator apart)")
    print(
        "  N  service/s  p50 ms  p99 ms  CPU ms |  bare/s  p99 ms  CPU ms | service/bare  service/N=1  bare/N=1  spread"
    )
    for n in COUNTS:
        s, b = service[n], bare[n]
        spread = "/".join(f"{share:.0%}" for share in s.spread)
        print(
            f"  {n}  {s.rate:9,.0f}  {s.p50_ms:6.1f}  {s.p99_ms:6.1f}  {s.server_ms():6.3f} | {b.rate:7,.0f}"
            f"  {b.p99_ms:6.1f}  {b.server_ms():6.3f} | {s.rate / b.rate:12.3f}  {s.rate / one.rate:11.2f}"
            f"  {b.rate / bare_one.rate:8.2f}  {spread}"
        )
    print(
        "CPU during the service runs, cores on a CPU + cores' worth waiting for one (in brackets: the most one"
        " instance used + waited), and CPU per contact:"
    )
    for line in _cpu_table(service, "contact"):
        print(line)
    print("CPU during the bare runs, the same, per request:")
    for line in _cpu_table(bare, "request"):
        print(line)
    print("Predicted contacts/s on cores of its own, from each N's CPU per contact (waits that did not limit a run")
    print("do not show; =: waits limited that run, which had CPU to spare, and its rate stays):")
    print("  cores " + "".join(f"  N={n:<6}" for n in COUNTS))
    predicted = {str(cores): {str(n): round(_predicted(service[n], cores, n)) for n in COUNTS} for cores in (2, 4, 8)}
    for cores, by_count in predicted.items():
        cells = [f"{by_count[str(n)]:,}" + ("=" if _waits_bound(service[n].cpu) else "") for n in COUNTS]
        print(f"  {cores:>5} " + "".join(f"  {cell:<8}" for cell in cells))
    print("Instances' logs:")
    for line in sorted(logs):
        print(f"  {line}")
    figures: dict[str, Any] = {
        "connections": CONNECTIONS,
        "seconds": SECONDS,
        "cores": CORES,
        "service_per_s": {str(n): round(service[n].rate) for n in COUNTS},
        "service_p99_ms": {str(n): round(service[n].p99_ms, 1) for n in COUNTS},
        "bare_per_s": {str(n): round(bare[n].rate) for n in COUNTS},
        "bare_p99_ms": {str(n): round(bare[n].p99_ms, 1) for n in COUNTS},
        "ratio_to_bare": {str(n): round(service[n].rate / bare[n].rate, 3) for n in COUNTS},
        "ratio_to_one": {str(n): round(service[n].rate / one.rate, 2) for n in COUNTS},
        "bare_ratio_to_one": {str(n): round(bare[n].rate / bare_one.rate, 2) for n in COUNTS},
        "service_cpu_cores": {str(n): {k: round(v, 2) for k, v in service[n].cpu.groups.items()} for n in COUNTS},
        "machine_cores_busy": {str(n): round(service[n].cpu.machine, 2) for n in COUNTS},
        "other_work_cores": {str(n): round(service[n].cpu.others, 2) for n in COUNTS},
        "server_cpu_ms_per_contact": {str(n): round(service[n].server_ms(), 3) for n in COUNTS},
        "bare_server_cpu_ms_per_request": {str(n): round(bare[n].server_ms(), 3) for n in COUNTS},
        "cpu_ms_per_contact": {str(n): {k: round(v, 3) for k, v in service[n].cost_ms().items()} for n in COUNTS},
        "predicted_per_s_by_cores": predicted,
    }
    print(json.dumps(figures))


async def main() -> None:
    # Stopped by a kill as by Ctrl-C: through the exits that stop every server it started.
    running = asyncio.current_task()
    assert running is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, running.cancel)
    logs: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ic-bench-cluster-") as tmp:
        directory = Path(tmp)
        pool = directory / "pool.pickle"
        write_pool(pool, POOL)
        service: dict[int, Run] = {}
        bare: dict[int, Run] = {}
        async with postgres_server() as postgres, redis_server() as redis_url:
            redis = (redis_url, child_named("redis-server"))
            for count in COUNTS:
                service[count] = await _service(count, postgres, redis, directory, pool, logs)
                bare[count] = await _bare(count, directory, pool)
    _report(service, bare, logs)


if __name__ == "__main__":
    asyncio.run(main())
