"""Starting and stopping the processes a benchmark measures: the service, the bare
components (``bench.intake_bare``) and the agents (``bench.agents``) each run in their own,
so that none shares an event loop with the load generator."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env() -> dict[str, str]:
    """This environment without the service's own settings, which would override the
    benchmark's configuration."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("IC_", "TWILIO_"))}


async def wait_port(port: int, process: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process {process.args!r} exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


async def wait_ready(base: str, path: str, seconds: float = 60.0) -> None:
    """Poll the service until ``path`` answers 200 (start-up hashes the roster's passwords)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(int(seconds / 0.05)):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(base + path) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{base}{path} did not answer within {seconds:.0f} s")


def start_service(config: Path, out: IO[bytes] | int, *options: str, migrate: bool = True) -> subprocess.Popen[bytes]:
    """``serve`` on ``config`` in a process of its own, once its database is migrated
    (unless ``migrate`` is false: another instance on the same database migrated it); its
    output goes to ``out`` (a file, or ``subprocess.DEVNULL``); ``options`` are more of
    serve's (instances sharing one configuration differ in ``--port``)."""
    command = [sys.executable, "-m", "interaction_center", "--config", str(config)]
    env = clean_env()
    if migrate:
        subprocess.run([*command, "db", "upgrade"], check=True, capture_output=True, env=env, timeout=120)
    return subprocess.Popen([*command, "serve", *options], env=env, stdout=out, stderr=out)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.asynccontextmanager
async def bare_server(kind: str, module: str = "bench.intake_bare") -> AsyncIterator[tuple[int, int]]:
    """(port, pid) of ``python -m MODULE KIND PORT``."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", module, kind, str(port)],
        env=clean_env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_port(port, process)
        yield port, process.pid
    finally:
        stop(process)


def log_summary(text: str) -> list[str]:
    """What a benchmark says of its service's log: its length, its errors and tracebacks,
    and the first of them (a figure from a service that failed is no figure)."""
    tracebacks = text.count("Traceback (most recent call last)")
    errors = text.count('"level": "ERROR"') + text.count('"level": "CRITICAL"')
    summary = [f"{len(text.splitlines())} lines, {errors} errors, {tracebacks} tracebacks"]
    if errors or tracebacks:
        at = min(i for i in (text.find('"level": "ERROR"'), text.find("Traceback")) if i >= 0)
        summary.append("first: " + text[max(0, at - 100) :][:600])
    return summary
