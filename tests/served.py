"""The service as a process of its own, as an operator runs it: ``interaction-center
serve`` with the test's configuration file, killed at the end if it still runs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp


@asynccontextmanager
async def serving(
    tmp_path: Path, port: int, *options: str, log: str = "server.log"
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """``serve`` on ``tmp_path``'s configuration (``options``: more of serve's, such as
    ``--port``), once it answers ``/healthz`` on ``port``; its output in ``log``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("IC_", "TWILIO_"))}
    command = [sys.executable, "-m", "interaction_center", "--config", str(tmp_path / "interaction-center.toml")]
    with (tmp_path / log).open("ab") as out:
        process = subprocess.Popen([*command, "serve", *options], cwd=tmp_path, env=env, stdout=out, stderr=out)
    try:
        await wait_healthy(port, process, log)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


async def wait_healthy(port: int, process: subprocess.Popen[bytes], log: str = "server.log") -> None:
    async with aiohttp.ClientSession() as session:
        # A minute: a first start seeds the roster, hashing each configured password.
        for _ in range(1200):
            assert process.poll() is None, f"the server exited during start-up (see {log})"
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("the server did not become healthy")
