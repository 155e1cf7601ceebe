"""``GET /healthz`` while the service reads the largest mail it accepts: one part short of
the MIME part bound, filling the size limit. The service runs in its own process (SQLite
in a temporary folder); this process delivers the mails over SMTP, back to back, and polls
``/healthz`` meanwhile. The ceiling is the same polling of the same idle service, in the
same run. Prints a table for people; the last line is one JSON object with the figures.

    .venv/bin/python -m bench.mail_stall [--mails 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import smtplib
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.processes import free_port, start_service, stop, wait_port, wait_ready
from channels.email.limits import MAX_PARTS
from channels.email.settings import SmtpSettings

MAX_BYTES = SmtpSettings().max_message_bytes
IDLE_SECONDS = 3.0
POLL_SECONDS = 0.005


def _config(directory: Path, http_port: int, smtp_port: int) -> Path:
    """The least the service needs to take mail (SMS is on by default, so its queue takes it)."""
    path = directory / "bench.toml"
    path.write_text(
        f"""
http = {{ host = "127.0.0.1", port = {http_port} }}
smtp = {{ host = "127.0.0.1", port = {smtp_port}, domains = ["example.com"] }}
database = {{ url = "sqlite:///{directory}/bench.db" }}
twilio = {{ auth_token = "bench-auth-token" }}
channels = {{ email = {{ queue = "support" }} }}
queues = {{ support = {{ channels = ["sms", "email"] }} }}
"""
    )
    return path


def largest_mail(n: int) -> bytes:
    """MAX_PARTS - 1 text parts (with the closing delimiter, exactly the bound), padded to
    just under the size limit."""
    parts = MAX_PARTS - 1
    head = (
        f"From: bench{n}@customer.test\r\nTo: support@example.com\r\nSubject: Largest {n}\r\n"
        f"Message-ID: <largest-{n}@customer.test>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
    ).encode()
    line = b"word " * 15 + b"\r\n"
    per_part = (MAX_BYTES - len(head) - 4096) // parts
    body = line * max(1, (per_part - 40) // len(line))
    return head + b"".join(b"--XX\r\nContent-Type: text/plain\r\n\r\n" + body for _ in range(parts)) + b"--XX--\r\n"


def _data(mail: bytes) -> bytes:
    """``mail`` as DATA sends it: dot-stuffed (RFC 5321 4.5.2) and ended. Done before the
    polling, not by smtplib's ``data`` on the delivering thread: its regular expressions
    over 10 MB (~50 ms) hold this process's interpreter, and the poller's timings with it."""
    return re.sub(rb"(?m)^\.", b"..", mail) + b".\r\n"


def _deliver(port: int, data: bytes) -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=300) as smtp:
        smtp.ehlo("bench.test")
        smtp.mail("bench@customer.test")
        smtp.rcpt("support@example.com")
        code, _ = smtp.docmd("DATA")
        assert code == 354, code
        smtp.send(data)
        code, _ = smtp.getreply()
    return code


async def _poll(base: str, done: asyncio.Event) -> list[float]:
    """Milliseconds each /healthz took, one after another until ``done``."""
    took = []
    async with aiohttp.ClientSession() as session:
        while not done.is_set():
            started = time.perf_counter()
            async with session.get(base + "/healthz") as response:
                assert response.status == 200
            took.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(POLL_SECONDS)
    return took


def _figures(took: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(took), 2),
        "p99_ms": round(statistics.quantiles(took, n=100, method="inclusive")[98], 2),
        "max_ms": round(max(took), 2),
    }


async def main(mails: int) -> None:
    with tempfile.TemporaryDirectory(prefix="ic-bench-mail-") as tmp:
        directory = Path(tmp)
        http_port, smtp_port = free_port(), free_port()
        server = start_service(_config(directory, http_port, smtp_port), subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{http_port}"
            await wait_port(smtp_port, server)
            await wait_ready(base, "/readyz")
            # Made before the polling: building one takes ~40 ms of this process's loop.
            data = [_data(largest_mail(n)) for n in range(mails)]
            done = asyncio.Event()
            polling = asyncio.create_task(_poll(base, done))
            await asyncio.sleep(IDLE_SECONDS)
            done.set()
            idle = await polling
            done = asyncio.Event()
            polling = asyncio.create_task(_poll(base, done))
            started = time.perf_counter()
            codes = [await asyncio.to_thread(_deliver, smtp_port, one) for one in data]
            seconds = (time.perf_counter() - started) / mails
            done.set()
            reading = await polling
        finally:
            stop(server)
    assert codes == [250] * mails, codes
    size = len(largest_mail(0))
    print(f"{'/healthz':<28}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, figures in (("idle (ceiling)", _figures(idle)), ("while a mail is read", _figures(reading))):
        print(f"{name:<28}{figures['p50_ms']:>10}{figures['p99_ms']:>10}{figures['max_ms']:>10}")
    print(f"{mails} mails of {size} bytes, {MAX_PARTS - 1} parts: {seconds:.2f} s each, end to end")
    result = {
        "mail_bytes": size,
        "mail_parts": MAX_PARTS - 1,
        "seconds_per_mail": round(seconds, 2),
        "healthz_idle": _figures(idle),
        "healthz_while_reading": _figures(reading),
    }
    print(json.dumps(result))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mails", type=int, default=3)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(_arguments().mails))
