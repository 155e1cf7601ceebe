"""What `make run` does, from a copy of the shipped demo configuration: config check,
db upgrade, serve; then `simulate sms` makes an interaction a demo agent can see."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp

from tests.services import free_port

ROOT = Path(__file__).resolve().parents[1]


def _cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interaction_center", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_demo_serves_and_a_simulated_sms_reaches_a_demo_agent(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IC_", "TWILIO_"))}
    env["IC_HTTP_PORT"] = str(port)
    # The demo's own ports may be taken (a `make run` beside the tests): free ones instead.
    env["IC_SMTP_PORT"] = str(free_port())
    assert _cli(tmp_path, env, "config", "check").returncode == 0
    assert _cli(tmp_path, env, "db", "upgrade").returncode == 0
    assert (tmp_path / "var" / "interaction-center.db").exists()

    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "interaction_center", "serve"], cwd=tmp_path, env=env, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                try:
                    async with session.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)

            simulated = await asyncio.to_thread(
                _cli, tmp_path, env, "simulate", "sms", "--from", "+15551230001", "Hello from the demo"
            )
            assert simulated.returncode == 0, simulated.stderr
            assert "HTTP 200" in simulated.stdout

            login = {"username": "alice", "password": "alice-demo"}
            async with session.post(f"{base}/api/v1/auth/login", json=login) as response:
                alice = {"Authorization": f"Bearer {(await response.json())['token']}"}
            async with session.put(f"{base}/api/v1/agents/me/status", json={"status": "available"}, headers=alice):
                pass
            async with session.get(f"{base}/api/v1/offers", headers=alice) as response:
                [offer] = (await response.json())["offers"]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert offer["channel"] == "sms"
    assert [m["body"] for m in offer["messages"]] == ["Hello from the demo"]
