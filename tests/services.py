"""Throwaway PostgreSQL and Redis servers on free loopback ports for one test session.

Given ``IC_DATABASE_URL`` (a PostgreSQL URL) or ``IC_REDIS_URL``, those servers are used
instead. When a server cannot be had, tests that need it skip with the reason, or fail
under ``IC_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import pytest


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` loopback ports free now, all different: each is held until all are
    chosen, so none is handed out twice. Any may still be taken before its server binds
    it (an outgoing connection's port is drawn from the same range)."""
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in held:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in held]


def haproxy() -> str:
    """HAProxy's binary (scripts/ensure-services installs it), or the test is unavailable."""
    binary = shutil.which("haproxy")
    if binary is None:
        unavailable("haproxy is not installed (run scripts/ensure-services)")
    return binary


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("IC_REQUIRE_SERVICES") == "1":
        pytest.fail(f"IC_REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class Server:
    url: str
    stop: Callable[[], None]


def _postgres_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def start_postgres() -> tuple[str | None, str, Callable[[], None]]:
    """(url or None, reason, stop). PostgreSQL refuses to run as root: as root the
    cluster belongs to the ``postgres`` user and its commands run as that user."""
    bindir = _postgres_bin()
    if bindir is None:
        return None, "PostgreSQL is not installed (run scripts/ensure-services)", lambda: None
    datadir = tempfile.mkdtemp(prefix="ic-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)

    def stop() -> None:
        run(f"{bindir}/pg_ctl", "-D", datadir, "-m", "immediate", "stop")
        shutil.rmtree(datadir, ignore_errors=True)

    init = run(f"{bindir}/initdb", "-D", datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
    if init.returncode != 0:
        stop()
        return None, f"initdb failed: {init.stderr.strip()[-300:]}", lambda: None
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {datadir} -c fsync=off -c max_connections=200"
    started = run(f"{bindir}/pg_ctl", "-D", datadir, "-o", options, "-l", f"{datadir}/server.log", "-w", "start")
    if started.returncode != 0:
        stop()
        return None, f"PostgreSQL did not start: {started.stderr.strip()[-300:]}", lambda: None
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres", "", stop


def start_redis() -> tuple[str | None, str, Callable[[], None]]:
    binary = shutil.which("redis-server")
    if binary is None:
        return None, "redis-server is not installed (run scripts/ensure-services)", lambda: None
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def stop() -> None:
        process.terminate()
        process.wait(timeout=10)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return f"redis://127.0.0.1:{port}/0", "", stop
        except OSError:
            time.sleep(0.05)
    stop()
    return None, "redis-server did not start", lambda: None
