"""Callers for ``bench.voice``, as Twilio drives them: each call a walk through the flow of
``bench.voice_service`` (the new call's webhook, then the menu's digits, then for half of
them the account number), every request signed with exactly the parameters Twilio posts;
and the drivers that send them, on a schedule (open loop) or as fast as answers come
(closed loop), and the wait URL's polls of the callers waiting in the queue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator

from bench.service_config import OUR_NUMBER, PUBLIC, TOKEN
from bench.voice_service import ACCOUNT_SID

# Twilio gives up on a webhook after 15 s (and reads the caller an application error).
TWILIO_TIMEOUT = aiohttp.ClientTimeout(total=15.0)
# How long a caller takes between two steps (hears the prompt, presses keys): the open
# loop's schedule keeps a caller's steps about this far apart.
THINK_SECONDS = 2.0
# What an answer must hold for the caller to go on: the next step's <Gather>, or <Enqueue>.
ENQUEUED = "<Enqueue "
_VALIDATOR = RequestValidator(TOKEN)


@dataclass(frozen=True)
class Request:
    path: str
    body: str
    headers: dict[str, str]
    expect: str  # in the answer, or the step failed
    new_call: bool


def _form(n: int, **fields: str) -> dict[str, str]:
    return {
        "CallSid": f"CA{n:032x}",
        "AccountSid": ACCOUNT_SID,
        "From": f"+1555{n:07d}",
        "To": OUR_NUMBER,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        **fields,
    }


def signed(path: str, form: dict[str, str], expect: str = "", new_call: bool = False) -> Request:
    headers = {
        "X-Twilio-Signature": _VALIDATOR.compute_signature(PUBLIC + path, form),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return Request(path, urlencode(form), headers, expect, new_call)


def _gather_to(step: int) -> str:
    return f'<Gather action="{PUBLIC}/twilio/voice/step/{step}"'


def walk(n: int) -> list[Request]:
    """Caller ``n``'s webhooks, signed in advance (the client's signing is not timed): even
    callers press 2 and key in an account number (lookup, hours, the support queue: three
    steps), odd ones press 1 (sales, queued at once: two)."""
    steps = [signed("/twilio/voice", _form(n, CallStatus="ringing"), _gather_to(1), new_call=True)]
    if n % 2:
        steps.append(signed("/twilio/voice/step/1", _form(n, Digits="1", FinishedOnKey=""), ENQUEUED))
    else:
        steps.append(signed("/twilio/voice/step/1", _form(n, Digits="2", FinishedOnKey=""), _gather_to(2)))
        account = f"{n % 100_000_000:08d}"
        steps.append(signed("/twilio/voice/step/2", _form(n, Digits=account, FinishedOnKey=""), ENQUEUED))
    return steps


class Callers:
    """Fresh callers (distinct CallSids and numbers) for one service instance."""

    def __init__(self) -> None:
        self._next = 0

    def walks(self, count: int) -> list[list[Request]]:
        first, self._next = self._next, self._next + count
        return [walk(n) for n in range(first, first + count)]


def wait_poll(n: int, queue_seconds: int) -> Request:
    """The wait URL as Twilio asks it: each call waits in a Twilio queue of its own."""
    fields = {"QueueSid": "QU" + "0" * 32, "QueuePosition": "1", "QueueTime": str(queue_seconds)}
    form = _form(n, **fields, AvgQueueTime="0", CurrentQueueSize="1")
    return signed("/twilio/voice/wait", form, "<Play>")


@dataclass
class Tally:
    """Every request sent: its latency in ms (from when it was due to its answer, or to
    its failure: a timeout counts its 15 s), the answers, the failures."""

    latencies_ms: list[float] = field(default_factory=list)
    new_call_ms: list[float] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: int = 0  # steps never sent: their caller's earlier step failed
    in_flight: int = 0
    most_in_flight: int = 0  # requests sent and not yet answered, at most
    started: float = 0.0
    ended: float = 0.0
    keep_answers: bool = False

    @property
    def done(self) -> int:
        """Requests answered 200 with what the caller needs to go on."""
        return len(self.latencies_ms) - len(self.failures)

    @property
    def rate(self) -> float:
        return self.done / (self.ended - self.started) if self.ended > self.started else 0.0


async def send(session: aiohttp.ClientSession, base: str, request: Request, due: float, tally: Tally) -> bool:
    """One webhook; True if answered 200 with what the caller needs to go on."""
    tally.in_flight += 1
    tally.most_in_flight = max(tally.most_in_flight, tally.in_flight)
    try:
        async with session.post(base + request.path, data=request.body, headers=request.headers) as response:
            text = await response.text()
            failure = "" if response.status == 200 and request.expect in text else f"{response.status} {text[:300]}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        failure, text = repr(exc), ""
    tally.in_flight -= 1
    elapsed = (time.perf_counter() - due) * 1000
    tally.latencies_ms.append(elapsed)
    if request.new_call:
        tally.new_call_ms.append(elapsed)
    if failure:
        tally.failures.append(f"{request.path} after {elapsed:.0f} ms: {failure}")
        return False
    if tally.keep_answers:
        tally.answers.append(text)
    return True


def schedule(rate: float, seconds: float, callers: Callers) -> list[tuple[Request, int, int]]:
    """``rate * seconds`` steps, each (request, caller, its step): callers arrive evenly,
    each takes its next step THINK_SECONDS after the last, and the steps so ordered are
    then due evenly at ``rate`` (the last callers' walks are cut off where the run ends)."""
    count = int(rate * seconds)
    arrivals = int(count / 2.5) + int(THINK_SECONDS * rate) + 10
    gap = 2.5 / rate
    events: list[tuple[float, int, int]] = []
    for caller in range(arrivals):
        events.extend((caller * gap + j * THINK_SECONDS, caller, j) for j in range(3 - caller % 2))
    events.sort()
    walks = callers.walks(arrivals)
    return [(walks[caller][j], caller, j) for _, caller, j in events[:count]]


async def open_loop(base: str, rate: float, steps: list[tuple[Request, int, int]]) -> Tally:
    """Each step sent when due (``rate`` per second) whatever the answers to other callers,
    once its caller's previous step is answered; its latency counts from when it was due,
    or from that answer if it came later."""
    tally = Tally()
    previous: dict[int, asyncio.Future[bool]] = {}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=TWILIO_TIMEOUT) as session:

        async def one(request: Request, before: asyncio.Future[bool] | None, due: float) -> bool:
            if before is not None:
                if not await before:
                    tally.skipped += 1  # the caller's walk broke off: counted where it failed
                    return False
                # Twilio sends no step before the last one's answer: one that came late
                # makes this step due no sooner (its lateness is counted once, there).
                due = max(due, time.perf_counter())
            return await send(session, base, request, due, tally)

        tasks = []
        tally.started = start = time.perf_counter()
        for k, (request, caller, _) in enumerate(steps):
            due = start + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.ensure_future(one(request, previous.get(caller), due))
            previous[caller] = task
            tasks.append(task)
        await asyncio.gather(*tasks)
        tally.ended = time.perf_counter()
    return tally


async def closed_loop(
    base: str, walks: list[list[Request]], in_flight: int, seconds: float, keep_answers: bool = False
) -> Tally:
    """``in_flight`` callers at once, each walking one call after another, each step sent
    as soon as the last is answered; for ``seconds`` (or until the walks run out). Steps
    answered per second: counted until the last step in flight is answered."""
    tally = Tally(keep_answers=keep_answers)
    next_walk = 0
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector, timeout=TWILIO_TIMEOUT) as session:

        async def caller() -> None:
            nonlocal next_walk
            while next_walk < len(walks) and time.perf_counter() < deadline:
                steps = walks[next_walk]
                next_walk += 1
                for request in steps:
                    if not await send(session, base, request, time.perf_counter(), tally):
                        break

        tally.started = time.perf_counter()
        deadline = tally.started + seconds
        await asyncio.gather(*(caller() for _ in range(in_flight)))
        tally.ended = time.perf_counter()
    return tally


async def poll_waiting(
    base: str, callers: list[int], period: float, seconds: float, on_tick: Callable[[], None]
) -> Tally:
    """Every caller's wait URL every ``period`` seconds, the callers spread evenly over the
    period, for ``seconds``; open loop, latency from when each poll was due. ``on_tick``
    is called about once a second (to sample the service's memory)."""
    tally = Tally(keep_answers=True)
    count = int(len(callers) * seconds / period)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=TWILIO_TIMEOUT) as session:
        tasks = []
        tally.started = start = time.perf_counter()
        ticked = start
        for k in range(count):
            due = start + k * period / len(callers)
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if due - ticked >= 1.0:
                on_tick()
                ticked = due
            # Signed as it is sent: the wait so far is part of what Twilio signs.
            request = wait_poll(callers[k % len(callers)], int(k // len(callers) * period + 5))
            tasks.append(asyncio.ensure_future(send(session, base, request, due, tally)))
        await asyncio.gather(*tasks)
        tally.ended = time.perf_counter()
    return tally
