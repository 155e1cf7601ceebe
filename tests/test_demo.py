"""What `make run` does, from a copy of the shipped demo configuration: config check,
db upgrade, serve; then `simulate sms` makes an interaction a demo agent can see, whose
reply the demo sandbox keeps and `--wait-reply` prints; an email's acknowledgement goes
through the sandbox's mail sink the same way."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

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
    env["IC_SMTP_RELAY_PORT"] = str(free_port())
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

            # The customer writes and waits for the answer, which the demo sandbox keeps.
            customer = asyncio.create_task(
                asyncio.to_thread(
                    _cli, tmp_path, env, "simulate", "sms", "--from", "+15551230001", "--wait-reply", "30",
                    "Hello from the demo",
                )
            )  # fmt: skip
            login = {"username": "alice", "password": "alice-demo"}
            async with session.post(f"{base}/api/v1/auth/login", json=login) as response:
                alice = {"Authorization": f"Bearer {(await response.json())['token']}"}
            async with session.put(f"{base}/api/v1/agents/me/status", json={"status": "available"}, headers=alice):
                pass
            # No Twilio account: calls are marked put through, and the desk offers no phone
            # and no call controls that could only be refused.
            async with session.get(f"{base}/api/v1/voice", headers=alice) as response:
                assert await response.json() == {"browser_calls": False, "call_controls": False}
            offers: list[dict[str, Any]] = []
            for _ in range(200):
                async with session.get(f"{base}/api/v1/offers", headers=alice) as response:
                    offers = (await response.json())["offers"]
                if offers:
                    break
                await asyncio.sleep(0.05)
            [offer] = offers
            async with session.post(f"{base}/api/v1/offers/{offer['offer']['id']}/accept", headers=alice):
                pass
            reply = {"body": "Thanks, on it"}
            path = f"{base}/api/v1/interactions/{offer['id']}"
            async with session.post(f"{path}/messages", json=reply, headers=alice) as response:
                assert response.status == 201, await response.text()
            simulated = await customer
            assert simulated.returncode == 0, simulated.stderr
            assert "HTTP 200" in simulated.stdout
            assert "sms from +15005550006 to +15551230001:\nThanks, on it" in simulated.stdout
            # Its delivery report came back from the stand-in, signed as Twilio signs.
            for _ in range(100):
                async with session.get(path, headers=alice) as response:
                    statuses = [
                        m["status"] for m in (await response.json())["messages"] if m["direction"] == "outbound"
                    ]
                if statuses == ["delivered"]:
                    break
                await asyncio.sleep(0.05)
            assert statuses == ["delivered"]

            # Email: the acknowledgement goes through the relay, which the sandbox's sink is.
            mailed = await asyncio.to_thread(
                _cli, tmp_path, env, "simulate", "email", "--from", "jane@customer.test", "--subject", "My bill",
                "--wait-reply", "30", "It is wrong",
            )  # fmt: skip
            assert mailed.returncode == 0, mailed.stderr
            assert "email from support@example.com to jane@customer.test:" in mailed.stdout
            assert "Subject: Re: My bill" in mailed.stdout
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert offer["channel"] == "sms"
    assert [m["body"] for m in offer["messages"]] == ["Hello from the demo"]
    logged = (tmp_path / "server.log").read_text()
    assert "DEMO SANDBOX on" in logged and '"level": "ERROR"' not in logged
