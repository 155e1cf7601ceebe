"""The load generator of ``bench.cluster``, in a process of its own so that its CPU time is
measured apart from what it drives:

    python -m bench.cluster_load POOL PORT CONNECTIONS WARMUP SECONDS once|again

CONNECTIONS keep-alive connections to 127.0.0.1:PORT each send the next of POOL's signed
SMS webhooks (``write_pool``) as soon as their previous one is answered, for WARMUP
seconds untimed and then SECONDS timed. With ``once``, a run that would need more than
the pool fails: a webhook sent twice is a retry to the service, not a new contact. With
``again`` the pool is sent over again: a bare handler keeps nothing, and outruns any pool
signed in a few seconds. It prints ``measuring`` when the timed window opens and ``done``
when it closes (the parent samples CPU time at those lines), then one JSON object:
webhooks answered 200 in all and within the window, the window's length, the latency
percentiles of those answered within it, and the failures.

HTTP is written by hand rather than with aiohttp's client: on two cores the generator
shares the machine with everything it measures, and a request costs it a fraction of
what it costs aiohttp's client."""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.intake import _sms_requests


def write_pool(path: Path, count: int) -> None:
    """``count`` signed webhooks from distinct senders, each as the bytes of a whole HTTP
    request: signed once for every run, so that no run pays for signing."""
    requests = []
    for body, headers in _sms_requests(count):
        payload = body.encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        requests.append(
            f"POST /twilio/sms HTTP/1.1\r\nHost: bench\r\n{head}Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
    path.write_bytes(pickle.dumps(requests, protocol=pickle.HIGHEST_PROTOCOL))


@dataclass
class _Run:
    requests: list[bytes]
    window: tuple[float, float]
    again: bool
    sent: int = 0
    answered: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def next_request(self) -> bytes:
        if self.sent == len(self.requests) and not self.again:
            raise RuntimeError(f"all {self.sent} signed webhooks sent before the run's end: write a larger pool")
        self.sent += 1
        return self.requests[(self.sent - 1) % len(self.requests)]


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, whether the server keeps the connection open) of one response."""
    lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.split(b":", 1) for line in lines[1:] if b":" in line)
    fields = {name.strip().lower(): value.strip().lower() for name, value in headers.items()}
    if b"content-length" not in fields:
        raise RuntimeError(f"a response without Content-Length: {lines[0]!r}")
    body = await reader.readexactly(int(fields[b"content-length"]))
    return status, body, fields.get(b"connection") != b"close"


async def _connection(port: int, run: _Run) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < run.window[1]:
            writer.write(run.next_request())
            sent = time.monotonic()
            status, body, keep = await _answer(reader)
            answered = time.monotonic()
            if status != 200:
                # The run's figures are void: no use spending the pool on more.
                run.failures.append(f"{status} {body[:200]!r}")
                return
            run.answered += 1
            if run.window[0] <= answered <= run.window[1]:
                run.latencies.append(answered - sent)
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def _announce(run: _Run) -> None:
    for at, line in zip(run.window, ("measuring", "done"), strict=True):
        await asyncio.sleep(at - time.monotonic())
        print(line, flush=True)


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def main(pool: Path, port: int, connections: int, warmup: float, seconds: float, again: bool) -> None:
    requests = pickle.loads(pool.read_bytes())
    start = time.monotonic() + warmup
    run = _Run(requests, (start, start + seconds), again)
    await asyncio.gather(_announce(run), *(_connection(port, run) for _ in range(connections)))
    ordered = sorted(run.latencies)
    result = {
        "answered": run.answered,
        "in_window": len(ordered),
        "seconds": seconds,
        "p50_ms": _percentile(ordered, 0.5) * 1000,
        "p99_ms": _percentile(ordered, 0.99) * 1000,
        "failures": len(run.failures),
        "first_failure": run.failures[0] if run.failures else "",
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 7 or sys.argv[6] not in ("once", "again"):
        raise SystemExit("usage: python -m bench.cluster_load POOL PORT CONNECTIONS WARMUP SECONDS once|again")
    pool, port, connections, warmup, seconds, repeat = sys.argv[1:]
    asyncio.run(main(Path(pool), int(port), int(connections), float(warmup), float(seconds), repeat == "again"))
