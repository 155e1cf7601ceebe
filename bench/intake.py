"""Sustained intake per channel, end to end into storage, the queue and the agents who take
each contact, each beside the bare component measured the same way in the same run:

- SMS: signed Twilio webhooks (distinct senders) to the real service -> contacts/s, beside
  a bare aiohttp form handler answering the same requests. Twilio does not bound how many
  webhooks it has in flight, so each side is driven at several concurrencies and its
  sustained rate is its best one: the bare handler is CPU-bound and peaks low, the service
  commits in groups and needs more in flight to fill them. Each side runs twice at each
  level, in turns, and keeps its best: noise from other work on the machine only ever
  slows a run;
- email: several SMTP clients, each on its own connection sending several mails, to the
  service's aiosmtpd -> mails/s, beside a bare aiosmtpd sink answering 250;
- web chat: K concurrent chat WebSockets (start, one message, its ack) -> the service
  process's RSS growth per open session and acked messages/s, beside a bare aiohttp
  WebSocket echo server.

The service runs in its own process (one fresh instance per run, SQLite in a temporary
folder); so does each bare component (``bench.intake_bare``), and so do AGENTS agents
(``bench.agents``), online and available throughout: each offer pushed to them is accepted
and the contact completed at once, so routing, offers and their records are paid for while
contacts come in. A service run's rate counts until the later of its last contact sent
and its last contact completed. The client is this process. After each service run the
database and the live queue statistics are checked to hold every contact, completed.
Prints a table for people; the last line is one JSON object with the figures.

    .venv/bin/python -m bench.intake [--sessions 5000] [--sms 5000] [--emails 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from urllib.parse import urlencode

import aiohttp
import aiosmtplib
from twilio.request_validator import RequestValidator

from bench.intake_chat import CHAT_IN_FLIGHT, CHAT_WARMUP, chat_sessions, raise_fd_limit
from bench.intake_service import (
    AGENTS,
    PHASE_SECONDS,
    SERVER_LOGS,
    STEP_SECONDS,
    Stored,
    Window,
    bounded,
    cpu_seconds,
    running_service,
    stored_after,
)
from bench.processes import bare_server
from bench.service_config import OUR_NUMBER, PUBLIC, TOKEN

# Webhooks in flight at once, each level its own run (a fresh service instance).
SMS_IN_FLIGHT = (32, 128)
# Runs of each side at each level, taken in turns, the best kept: on a shared machine a
# neighbour's burst can only slow a run, and a run of a few seconds feels one fully.
SMS_TRIALS = 2
SMTP_CLIENTS = 8


# --- SMS --------------------------------------------------------------------------------


def _sms_requests(count: int) -> list[tuple[str, dict[str, str]]]:
    """Signed in advance: the client's signing is not timed."""
    validator = RequestValidator(TOKEN)
    requests = []
    for n in range(count):
        form = {
            "MessageSid": f"SM{n:032x}",
            "AccountSid": "AC" + "0" * 32,
            "From": f"+1555{n:07d}",
            "To": OUR_NUMBER,
            "Body": f"Hello, this is customer {n}: my bill is wrong.",
            "NumMedia": "0",
            "NumSegments": "1",
        }
        headers = {
            "X-Twilio-Signature": validator.compute_signature(PUBLIC + "/twilio/sms", form),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        requests.append((urlencode(form), headers))
    return requests


async def _post_all(url: str, requests: list[tuple[str, dict[str, str]]], in_flight: int) -> Window:
    """The timed requests, all answered 200."""
    failures: list[str] = []
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(n: int) -> None:
            body, headers = requests[n]
            async with session.post(url, data=body, headers=headers) as response:
                text = await response.text()
                if response.status != 200:
                    failures.append(f"{response.status} {text[:200]}")

        # A few first, untimed: connections opened, code paths warm.
        for n in range(min(in_flight, len(requests))):
            await one(n)
        warm = min(in_flight, len(requests))
        window = await bounded(len(requests) - warm, in_flight, lambda i: one(warm + i))
    if failures or window.done != len(requests) - warm:
        first = failures[0] if failures else f"timed out after {window.seconds:.0f} s"
        raise RuntimeError(f"{len(failures)} webhooks not answered 200 ({window.done} done), first: {first}")
    return window


# --- email ------------------------------------------------------------------------------


def _mails(count: int) -> list[tuple[str, bytes]]:
    mails = []
    for n in range(count):
        mail = EmailMessage()
        sender = f"customer{n}@customer.test"
        mail["From"] = f"Customer {n} <{sender}>"
        mail["To"] = "support@example.com"
        mail["Subject"] = f"Invoice {n} is wrong"
        mail["Message-ID"] = f"<bench-{n}@customer.test>"
        mail["Date"] = "Mon, 01 Jan 2024 12:00:00 +0000"
        mail.set_content(f"Hello,\n\nmy invoice {n} charges me twice. Please fix it.\n\nCustomer {n}\n")
        mails.append((sender, mail.as_bytes(policy=SMTP_POLICY)))
    return mails


async def _send_mails(port: int, mails: list[tuple[str, bytes]]) -> Window:
    """The mails, all answered 250: SMTP_CLIENTS connections, each sending its share in turn."""
    failures: list[str] = []
    shares = [mails[i::SMTP_CLIENTS] for i in range(SMTP_CLIENTS)]
    clients = [
        aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="client.test", timeout=STEP_SECONDS)
        for _ in shares
    ]
    for client in clients:
        await client.connect()  # EHLO included

    async def run(client: aiosmtplib.SMTP, share: list[tuple[str, bytes]]) -> None:
        for sender, data in share:
            try:
                errors, reply = await client.sendmail(sender, ["support@example.com"], data)
            except aiosmtplib.SMTPException as exc:
                failures.append(repr(exc))
                continue
            if errors:
                failures.append(f"{errors} {reply}")

    start = time.monotonic()
    try:
        async with asyncio.timeout(PHASE_SECONDS):
            await asyncio.gather(*(run(c, s) for c, s in zip(clients, shares, strict=True)))
        ended = time.monotonic()
    finally:
        for client in clients:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
    if failures:
        raise RuntimeError(f"{len(failures)} mails not accepted, first: {failures[0]}")
    return Window(len(mails), start, ended)


# --- the run ----------------------------------------------------------------------------


def _check(name: str, stored: Stored, sent: int) -> str:
    agents = stored.agents
    note = (
        f"{name}: stored {stored.interactions} interactions / {stored.messages} messages, {stored.completed} "
        f"completed, routing engine waiting {stored.waiting}; agents had {agents.offers} offers, accepted "
        f"{agents.accepted}, completed {agents.completed}, {agents.failures} failed (sent {sent})"
    )
    counts = (stored.interactions, stored.messages, stored.completed, agents.accepted, agents.completed)
    if counts != (sent,) * len(counts) or stored.waiting or agents.failures:
        note += f"  <-- MISMATCH {agents.first_failure}"
    return note


async def main(sessions: int, sms_count: int, email_count: int) -> None:
    fd_limit = raise_fd_limit()
    checks: list[str] = []
    accepted = dict.fromkeys(("sms", "email", "chat"), 0)

    requests = _sms_requests(sms_count)
    # Per level: the service's best rate through its last contact completed, its best with
    # webhooks answered alone, the bare handler's best.
    sms_runs: dict[int, tuple[float, float, float]] = {}
    # CPU milliseconds per contact (the service, through its last completion) and per
    # request (the bare handler), the least of all runs: what a contact costs whatever the
    # machine's speed or load.
    sms_cpu_ms = bare_cpu_ms = float("inf")
    for in_flight in SMS_IN_FLIGHT:
        served = answered = bare = 0.0
        for trial in range(1, SMS_TRIALS + 1):
            async with running_service() as service:
                before = cpu_seconds(service.pid)
                window = await _post_all(f"{service.base}/twilio/sms", requests, in_flight)
                stored = await stored_after(service, "sms", sms_count)
                sms_cpu_ms = min(sms_cpu_ms, (cpu_seconds(service.pid) - before) * 1000 / sms_count)
            checks.append(_check(f"sms ({in_flight} in flight, trial {trial})", stored, sms_count))
            accepted["sms"] += stored.agents.accepted
            served, answered = max(served, window.rate(stored.agents)), max(answered, window.rate())
            async with bare_server("sms") as (port, pid):
                before = cpu_seconds(pid)
                bare = max(bare, (await _post_all(f"http://127.0.0.1:{port}/twilio/sms", requests, in_flight)).rate())
                bare_cpu_ms = min(bare_cpu_ms, (cpu_seconds(pid) - before) * 1000 / sms_count)
        sms_runs[in_flight] = served, answered, bare
    sms_per_s = max(served for served, _, _ in sms_runs.values())
    sms_bare = max(bare for _, _, bare in sms_runs.values())

    mails = _mails(email_count)
    async with running_service() as service:
        window = await _send_mails(service.smtp_port, mails)
        stored = await stored_after(service, "email", email_count)
    checks.append(_check("email", stored, email_count))
    accepted["email"] = stored.agents.accepted
    email_per_s = window.rate(stored.agents)
    async with bare_server("smtp") as (port, _):
        email_bare = (await _send_mails(port, mails)).rate()

    async with running_service() as service:
        chat = await chat_sessions(f"{service.base}/chat/ws", service.pid, sessions, fd_limit)
        stored = await stored_after(service, "chat", chat.acked + CHAT_WARMUP)
    checks.append(_check("chat", stored, chat.acked + CHAT_WARMUP))
    accepted["chat"] = stored.agents.accepted
    chat_per_s = chat.messages.rate(stored.agents)
    async with bare_server("chat") as (port, pid):
        bare_chat = await chat_sessions(f"http://127.0.0.1:{port}/chat/ws", pid, sessions, fd_limit)
    chat_bare = bare_chat.messages.rate()

    print(
        f"intake, client, server and {AGENTS} agents each in their own process on loopback "
        f"(RLIMIT_NOFILE soft {fd_limit}); SMS {sms_count} webhooks per run at "
        f"{' and '.join(map(str, SMS_IN_FLIGHT))} in flight, {SMS_TRIALS} runs of each (best of each side), "
        f"email {email_count} mails over "
        f"{SMTP_CLIENTS} SMTP connections, chat target {sessions} sessions ({CHAT_IN_FLIGHT} in flight)"
    )
    print(f"{'channel':<8} {'service':>14} {'bare':>14} {'ratio':>7}  unit")
    print(f"{'sms':<8} {sms_per_s:>14,.0f} {sms_bare:>14,.0f} {sms_per_s / sms_bare:>7.3f}  contacts/s vs requests/s")
    print(
        f"  sms CPU: service {sms_cpu_ms:.2f} ms per contact (intake, routing, the agents' accept and "
        f"complete), bare handler {bare_cpu_ms:.3f} ms per request"
    )
    for in_flight, (served, answered, bare) in sms_runs.items():
        print(
            f"  sms at {in_flight:>3} in flight: service {served:,.0f}/s ({answered:,.0f}/s counting webhooks "
            f"answered alone), bare {bare:,.0f}/s"
        )
    print(f"{'email':<8} {email_per_s:>14,.0f} {email_bare:>14,.0f} {email_per_s / email_bare:>7.3f}  mails/s")
    print(
        f"{'chat':<8} {chat_per_s:>14,.0f} {chat_bare:>14,.0f} "
        f"{chat_per_s / chat_bare:>7.3f}  acked messages/s vs echoes/s"
    )
    print(
        f"{'chat':<8} {chat.kb_per_session:>14,.1f} {bare_chat.kb_per_session:>14,.1f} "
        f"{chat.kb_per_session / bare_chat.kb_per_session:>7.1f}  KB RSS per open session"
    )
    for name, r in (("service", chat), ("bare echo", bare_chat)):
        print(
            f"  chat {name}: {r.opened}/{r.wanted} sessions open at once, {r.acked} acked; "
            f"RSS {r.rss_before_kb / 1024:.1f} MB -> {r.rss_started_kb / 1024:.1f} MB started "
            f"-> {r.rss_after_kb / 1024:.1f} MB after messages; opened in {r.open_seconds:.1f} s "
            f"({r.opened / r.open_seconds if r.open_seconds else 0:,.0f}/s), messages in {r.messages.seconds:.1f} s"
        )
        if r.open_failures:
            print(f"    {len(r.open_failures)} notes/failures, first: {r.open_failures[0]}")
            if len(r.open_failures) > 1:
                print(f"    last: {r.open_failures[-1]}")
    for note in checks:
        print(f"  {note}")
    runs = [*(f"sms at {n} #{t}" for n in SMS_IN_FLIGHT for t in range(1, SMS_TRIALS + 1)), "email", "chat"]
    print(f"  service logs ({', '.join(runs)} runs): {'; '.join(SERVER_LOGS)}")
    figures = {
        "sms_contacts_per_s": round(sms_per_s, 1),
        "sms_bare_per_s": round(sms_bare, 1),
        "sms_ratio_to_bare": round(sms_per_s / sms_bare, 4),
        "sms_cpu_ms_per_contact": round(sms_cpu_ms, 3),
        "sms_bare_cpu_ms_per_request": round(bare_cpu_ms, 4),
        "sms_by_in_flight": {str(k): [round(served), round(bare)] for k, (served, _, bare) in sms_runs.items()},
        "email_msgs_per_s": round(email_per_s, 1),
        "email_bare_per_s": round(email_bare, 1),
        "email_ratio_to_bare": round(email_per_s / email_bare, 4),
        "chat_sessions": chat.opened,
        "chat_sessions_target": sessions,
        "chat_bare_sessions": bare_chat.opened,
        "chat_kb_per_session": round(chat.kb_per_session, 2),
        "chat_bare_kb_per_session": round(bare_chat.kb_per_session, 2),
        "chat_msgs_per_s": round(chat_per_s, 1),
        "chat_bare_msgs_per_s": round(chat_bare, 1),
        "chat_ratio_to_bare": round(chat_per_s / chat_bare, 4),
        "sms_sent": sms_count,
        "emails_sent": email_count,
        "agents_online": AGENTS,
        "offers_accepted": accepted,
        "stored_ok": not any("MISMATCH" in note for note in checks),
    }
    print(json.dumps(figures))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=5000, help="concurrent chat sessions to open (5000)")
    parser.add_argument("--sms", type=int, default=5000, help="SMS webhooks to send per run (5000)")
    parser.add_argument("--emails", type=int, default=1000, help="mails to send (1000)")
    arguments = parser.parse_args()
    if min(arguments.sessions, arguments.sms, arguments.emails) < 1:
        parser.error("counts must be positive")
    return arguments


if __name__ == "__main__":
    args = _arguments()
    asyncio.run(main(args.sessions, args.sms, args.emails))
