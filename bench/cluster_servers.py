"""What ``bench.cluster`` drives its load through: a throwaway PostgreSQL, HAProxy on
``config/haproxy.cfg`` as it is, the service's instances on one database and one Redis;
and the time each of those processes (with its children) has spent on a CPU and waiting
for one, from the scheduler's own account (/proc/PID/task/*/schedstat, in nanoseconds)."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import prometheus_client.parser

from bench.processes import ROOT, clean_env, free_port, log_summary, start_service, stop, wait_port, wait_ready
from bench.service_config import OUR_NUMBER, PUBLIC, TOKEN

# The servers config/haproxy.cfg names (instance1 to instance3).
INSTANCES = 3


@dataclass(frozen=True)
class Postgres:
    port: int
    pid: int  # the postmaster's: its backends are its children

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def _run(self, database: str, statement: str) -> int:
        connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/{database}")
        try:
            return int(await connection.fetchval(statement) or 0)
        finally:
            await connection.close()

    async def create(self, database: str) -> None:
        await self._run("postgres", f'CREATE DATABASE "{database}"')

    async def sms_interactions(self, database: str) -> int:
        return await self._run(database, "SELECT count(*) FROM interactions WHERE channel = 'sms'")


def _run_as(as_user: list[str], *args: str) -> None:
    done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stderr.strip()[-300:]}")


@contextlib.asynccontextmanager
async def postgres_server() -> AsyncIterator[Postgres]:
    """A throwaway PostgreSQL cluster on a free loopback port, started the way
    tests/services.start_postgres starts the tests' (as root, the cluster is the postgres
    user's), written again here because benchmarks do not import the tests. Unlike the
    tests' it keeps fsync on: commits cost what they cost in production."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb") or ""]
    if not found[-1]:
        raise SystemExit("PostgreSQL is not installed (scripts/ensure-services installs it)")
    bindir = Path(found[-1]).parent
    datadir = Path(tempfile.mkdtemp(prefix="ic-bench-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    try:
        _run_as(
            as_user,
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {datadir} -c max_connections=200"
        log = str(datadir / "server.log")
        _run_as(as_user, str(bindir / "pg_ctl"), "-D", str(datadir), "-o", options, "-l", log, "-w", "start")
        yield Postgres(port, int((datadir / "postmaster.pid").read_text().split()[0]))
    finally:
        with contextlib.suppress(RuntimeError):
            _run_as(as_user, str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(datadir, ignore_errors=True)


@contextlib.asynccontextmanager
async def balancer(http_ports: list[int], log: Path) -> AsyncIterator[tuple[int, int]]:
    """(port, pid) of HAProxy on config/haproxy.cfg as it is, in front of the servers on
    ``http_ports`` (at most INSTANCES): the file's other servers are given ports nothing
    listens on, and this yields once its health checks have taken them out. On leaving,
    fails if a health check took out a server that was there (it stopped answering
    /readyz under load, and the run's figures are not the file's instances')."""
    binary = shutil.which("haproxy")
    if binary is None:
        raise SystemExit("haproxy is not installed (scripts/ensure-services installs it)")
    port = free_port()
    ports = {"CLUSTER_HTTP_PORT": port, "CLUSTER_SMTP_PORT": free_port()}
    for number in range(1, INSTANCES + 1):
        there = number <= len(http_ports)
        ports[f"INSTANCE{number}_HTTP_PORT"] = http_ports[number - 1] if there else free_port()
        ports[f"INSTANCE{number}_SMTP_PORT"] = free_port()
    env = {**clean_env(), **{name: str(value) for name, value in ports.items()}}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "-f", str(ROOT / "config" / "haproxy.cfg"), "-db"], env=env, stdout=out, stderr=out
        )
    taken_out = [f"Server instances/instance{n} is DOWN" for n in range(1, INSTANCES + 1)]
    try:
        await wait_port(port, process)
        deadline = time.monotonic() + 10.0
        while not all(line in log.read_text() for line in taken_out[len(http_ports) :]):
            if time.monotonic() > deadline:
                raise RuntimeError(f"HAProxy's checks did not take out the absent servers: {log.read_text()[-600:]}")
            await asyncio.sleep(0.05)
        yield port, process.pid
        text = log.read_text()
        if any(line in text for line in taken_out[: len(http_ports)]):
            raise RuntimeError(f"HAProxy took out an instance during the run: {text[-600:]}")
    finally:
        stop(process)


def write_config(path: Path, database_url: str, redis_url: str, prefix: str) -> Path:
    """One configuration for every instance (they differ in --port): SMS into one queue,
    and no agents, so that what is measured is intake (stored, then queued in Redis)."""
    path.write_text(
        f"""[http]
host = "127.0.0.1"
public_base_url = "{PUBLIC}"
trusted_proxies = ["127.0.0.1"]
[database]
url = "{database_url}"
[redis]
url = "{redis_url}"
prefix = "{prefix}"
[twilio]
auth_token = "{TOKEN}"
phone_number = "{OUR_NUMBER}"
[channels.sms]
queue = "support"
[queues.support]
channels = ["sms"]
max_size = 1000000
[queues.support.sla.sms]
answer_seconds = 3600
"""
    )
    return path


@contextlib.asynccontextmanager
async def instances(config: Path, count: int, logs: list[str]) -> AsyncIterator[list[tuple[int, int]]]:
    """(HTTP port, pid) of ``count`` ``serve`` processes on ``config``, started one after
    the other as the README asks, each once it answers /readyz. Each one's log is written
    beside ``config``, and a summary of it added to ``logs`` when it stops."""
    started: list[tuple[int, int]] = []
    async with contextlib.AsyncExitStack() as stack:
        for number in range(1, count + 1):
            port, log = free_port(), config.with_name(f"{config.stem}-{number}.log")
            with log.open("wb") as out:
                process = start_service(config, out, "--port", str(port), migrate=number == 1)

            def summarize(log: Path = log, number: int = number) -> None:
                logs.append(
                    f"{config.stem} instance {number}: " + "; ".join(log_summary(log.read_text(errors="replace")))
                )

            stack.callback(summarize)
            stack.callback(stop, process)
            await wait_port(port, process)
            await wait_ready(f"http://127.0.0.1:{port}", "/readyz", seconds=30.0)
            started.append((port, process.pid))
        yield started


async def sms_taken_in(port: int) -> float:
    """The SMS an instance took in, from its own /metrics."""
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    return sum(
        sample.value
        for family in prometheus_client.parser.text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "ic_intake_total" and sample.labels.get("channel") == "sms"
    )


# --- CPU time ---------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(stat.parent.name))
    return tree


def child_named(name: str) -> int:
    """The pid of this process's child running ``name`` (a server a helper started)."""
    for pid in _children().get(os.getpid(), []):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                return pid
    raise RuntimeError(f"no child process {name!r}")


def _machine() -> tuple[float, float, float]:
    """(busy, in interrupts, stolen) CPU seconds of the whole machine since boot, all cores;
    interrupts are mostly, here, the kernel moving loopback TCP between the processes."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, (irq + softirq) / tick, steal / tick


def _threads(pid: int) -> tuple[float, float]:
    """(on a CPU, runnable but waiting for one) seconds so far, all the process's threads."""
    on = waiting = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError):
            running, queued, _ = stat.read_text().split()
            on, waiting = on + int(running), waiting + int(queued)
    return on / 1e9, waiting / 1e9


@dataclass(frozen=True)
class Sample:
    """Seconds so far of each process of each group (on a CPU, waiting for one), counting
    its descendants (a PostgreSQL backend counts for its postmaster), and the machine's."""

    at: float  # time.monotonic()
    processes: dict[str, list[tuple[float, float]]]
    busy: float
    interrupts: float
    stolen: float


def cpu_sample(groups: dict[str, list[int]]) -> Sample:
    children = _children()

    def tree(pid: int) -> tuple[float, float]:
        on = waiting = 0.0
        stack = [pid]
        while stack:
            member = stack.pop()
            stack.extend(children.get(member, []))
            member_on, member_waiting = _threads(member)
            on, waiting = on + member_on, waiting + member_waiting
        return on, waiting

    return Sample(time.monotonic(), {name: [tree(pid) for pid in pids] for name, pids in groups.items()}, *_machine())


@dataclass(frozen=True)
class Usage:
    """Cores used on average between two samples by each group, and cores' worth of its
    processes' time spent runnable but waiting for a CPU (what a busy machine denied it);
    the most one process of the group used and waited (over 1: it wanted more than the
    one core an event loop or Redis's thread can use); the machine's cores busy, of them
    in interrupts, and stolen by its hypervisor."""

    groups: dict[str, float]
    waiting: dict[str, float]
    busiest: dict[str, float]
    machine: float
    interrupts: float
    stolen: float

    @property
    def others(self) -> float:
        """Cores busy but not with this run's processes: other work on the machine. A
        kernel without CONFIG_IRQ_TIME_ACCOUNTING charges interrupts to the process they
        interrupt, so they are in this run's figures already; with it, they are here."""
        return self.machine - sum(self.groups.values())


def usage(before: Sample, after: Sample) -> Usage:
    seconds = after.at - before.at
    used = {
        name: [
            ((a[0] - b[0]) / seconds, (a[1] - b[1]) / seconds) for a, b in zip(after.processes[name], pids, strict=True)
        ]
        for name, pids in before.processes.items()
    }
    return Usage(
        {name: sum(on for on, _ in each) for name, each in used.items()},
        {name: sum(waiting for _, waiting in each) for name, each in used.items()},
        {name: max(on + waiting for on, waiting in each) for name, each in used.items()},
        (after.busy - before.busy) / seconds,
        (after.interrupts - before.interrupts) / seconds,
        (after.stolen - before.stolen) / seconds,
    )
