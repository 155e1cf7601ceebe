"""Agents at work during a benchmark, in a process of their own so that the load generator
keeps its share of the machine (``at_work`` starts it):

    python -m bench.agents BASE COUNT

logs in ``agent0`` .. ``agent{COUNT-1}`` (see ``roster``), opens each one's live socket,
sets each available and prints ``ready``; then accepts every offer pushed to them and
completes it at once. On SIGTERM it lets the work in hand finish and prints one JSON
line, a ``Tally``."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.processes import ROOT, clean_env

# The work in hand at SIGTERM is given this long to finish; logging in, this long.
FINISH_SECONDS = 30.0
START_SECONDS = 120.0


def roster(count: int) -> list[tuple[str, str]]:
    """(username, password) of the agents, as the benchmark's configuration lists them."""
    return [(f"agent{n}", f"pw{n}") for n in range(count)]


@dataclass
class Tally:
    offers: int = 0
    accepted: int = 0
    completed: int = 0
    # time.monotonic() at the last completion: the same clock in every process of the machine.
    last_completed_at: float = 0.0
    failures: int = 0
    first_failure: str = ""

    def failed(self, step: str, status: int, text: str) -> None:
        self.failures += 1
        self.first_failure = self.first_failure or f"{step} {status} {text[:200]}"


async def _take(session: aiohttp.ClientSession, base: str, token: str, frame: dict[str, Any], tally: Tally) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(f"{base}/api/v1/offers/{frame['offer_id']}/accept", headers=headers) as response:
        if response.status != 200:
            tally.failed("accept", response.status, await response.text())
            return
    tally.accepted += 1
    url = f"{base}/api/v1/interactions/{frame['interaction_id']}/complete"
    async with session.post(url, json={"disposition": "resolved"}, headers=headers) as response:
        if response.status != 200:
            tally.failed("complete", response.status, await response.text())
            return
    tally.completed += 1
    tally.last_completed_at = time.monotonic()


async def _listen(
    session: aiohttp.ClientSession,
    base: str,
    token: str,
    socket: aiohttp.ClientWebSocketResponse,
    tally: Tally,
    work: set[asyncio.Task[None]],
) -> None:
    async for message in socket:
        if message.type != aiohttp.WSMsgType.TEXT:
            continue
        frame = json.loads(message.data)
        if frame.get("type") == "offer":
            tally.offers += 1
            task = asyncio.create_task(_take(session, base, token, frame, tally))
            work.add(task)
            task.add_done_callback(work.discard)


async def _online(
    session: aiohttp.ClientSession, base: str, username: str, password: str
) -> tuple[str, aiohttp.ClientWebSocketResponse]:
    """(token, live socket) of the agent, logged in and available."""
    async with session.post(f"{base}/api/v1/auth/login", json={"username": username, "password": password}) as r:
        r.raise_for_status()
        token = (await r.json())["token"]
    headers = {"Authorization": f"Bearer {token}"}
    # The socket first: an offer made the moment the agent is available is pushed to it.
    socket = await session.ws_connect(f"{base}/api/v1/ws", headers=headers)
    async with session.put(f"{base}/api/v1/agents/me/status", json={"status": "available"}, headers=headers) as r:
        r.raise_for_status()
    return token, socket


async def main(base: str, count: int) -> Tally:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    tally = Tally()
    work: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession() as session:
        online = await asyncio.gather(*(_online(session, base, u, p) for u, p in roster(count)))
        listeners = [asyncio.create_task(_listen(session, base, t, s, tally, work)) for t, s in online]
        print("ready", flush=True)
        await stop.wait()
        if work:
            await asyncio.wait(work, timeout=FINISH_SECONDS)
        for listener in listeners:
            listener.cancel()
        for _, socket in online:
            with contextlib.suppress(Exception):
                await socket.close()
    return tally


class AgentsProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def finish(self) -> Tally:
        """Stop the agents once the work in hand is done; what they did."""
        self.process.terminate()
        out, _ = await asyncio.wait_for(self.process.communicate(), FINISH_SECONDS + 10)
        return Tally(**json.loads(out.decode().splitlines()[-1]))


@contextlib.asynccontextmanager
async def at_work(base: str, count: int) -> AsyncIterator[AgentsProcess]:
    """``count`` agents of the roster at work on the service at ``base``, in their own process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.agents",
        base,
        str(count),
        cwd=ROOT,
        env=clean_env(),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), START_SECONDS)
        if line.strip() != b"ready":
            raise RuntimeError(f"bench.agents did not start: {line!r}")
        yield AgentsProcess(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m bench.agents BASE COUNT")
    print(json.dumps(dataclasses.asdict(asyncio.run(main(sys.argv[1], int(sys.argv[2]))))), flush=True)
