"""The phone channel under load: IVR steps as Twilio sends them, and callers waiting in a
queue, against the real service (SQLite) in its own process, each beside its ceiling
measured the same way in the same run:

- IVR steps: every step a signed webhook over HTTP (``bench.voice_calls``): a new call
  (``POST /twilio/voice``), then the menu's digits and, for half the callers, an account
  number (``POST /twilio/voice/step/N``), each caller walking the flow of
  ``bench.voice_service`` to its queue (40% of steps are new calls). First at a steady
  rate, open loop (sent when due whatever the answers; latency from when due) -> p50/p99
  webhook latency; then closed loop at several concurrencies, each side in turns, the best
  kept -> steps/s at saturation. Beside a bare aiohttp handler in its own process
  (``bench.intake_bare voice``) that checks the same signature and answers the same TwiML,
  a VoiceResponse built per request, driven by the same client with the same requests.
- Waiting: a fresh service; WAITING callers walk the flow to their queue, then each asks
  the wait URL as Twilio does, every POLL_PERIOD seconds, spread -> the service process's
  RSS growth per waiting call (from /proc/PID/status, before the calls and with all
  waiting) and the wait URL's latency.

The client is this process. Prints a table for people; the last line is one JSON object
with the figures.

    .venv/bin/python -m bench.voice [--rate 200] [--seconds 20] [--waiting 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from dataclasses import dataclass

from bench.intake_chat import raise_fd_limit
from bench.intake_service import cpu_seconds, rss_kb
from bench.offer_latency import percentile
from bench.processes import bare_server
from bench.voice_calls import ENQUEUED, Callers, Request, Tally, closed_loop, open_loop, poll_waiting, schedule
from bench.voice_service import SERVER_LOGS, Held, Service, held, running_service

# Concurrencies of the closed loop (steps in flight), each a burst of BURST_SECONDS per
# side, the sides in turns, TRIALS times over: noise from other work on the machine only
# ever slows a burst, so each side's best is its saturation rate. On a shared machine a
# slow spell can last tens of seconds, long enough to cover both of one side's bursts at a
# level with two rounds (runs of the same code gave ratios from 0.32 to 0.41): three make
# that less likely. With few steps in flight the service waits on its disk flush with
# nothing else to do (each commit holds what arrived during the last one); 128 is a busy
# centre's peak, hundreds of calls in their IVR.
IN_FLIGHT = (8, 32, 128)
TRIALS = 3
BURST_SECONDS = 4.0
# Walks signed for one burst: more than either side answers in BURST_SECONDS.
BURST_WALKS = 12000
WARM_WALKS = 40
POLL_PERIOD = 10.0
POLL_SECONDS = 20.0
WALK_IN_FLIGHT = 16


def _queue_names(text: str) -> str:
    """An answer with the Twilio queue's name (the interaction's id) left out."""
    return re.sub(r"(<Enqueue [^>]*>)[^<]*<", r"\1QUEUE<", text)


async def _same_answers(service: Service, bare: str, walks: list[list[Request]]) -> bool:
    """Whether the bare handler answers these walks with the service's very TwiML."""
    ours = await closed_loop(service.base, walks, 1, 60.0, keep_answers=True)
    theirs = await closed_loop(bare, walks, 1, 60.0, keep_answers=True)
    if ours.failures or theirs.failures:
        raise RuntimeError(f"warm-up failed: {(ours.failures + theirs.failures)[0]}")
    return [_queue_names(t) for t in ours.answers] == [_queue_names(t) for t in theirs.answers]


def _check(tally: Tally, what: str, notes: list[str]) -> None:
    if tally.failures:
        skipped = f", {tally.skipped} later steps of their callers not sent" if tally.skipped else ""
        notes.append(f"{what}: {len(tally.failures)} failed{skipped}, first: {tally.failures[0]}  <-- FAILURES")


async def _settled(pid: int) -> None:
    """Once the process is idle (or after 20 s): requests a client gave up on are still
    served to their end."""
    for _ in range(40):
        before = cpu_seconds(pid)
        await asyncio.sleep(0.5)
        if cpu_seconds(pid) - before < 0.05:
            return


def _ms(values: list[float], share: float) -> float:
    return percentile(values, share) if values else float("nan")


@dataclass
class Burst:
    service: Tally
    bare: Tally
    cpu_ms: float  # the service's CPU time per step answered
    bare_cpu_ms: float


@dataclass
class Steps:
    same_twiml: bool
    steady: Tally
    bare_steady: Tally
    bursts: dict[int, Burst]
    held: Held


@dataclass
class Waiting:
    steps: int
    walked: Tally
    queued: int
    polled: Tally
    announced: int
    rss_before_kb: int
    rss_queued_kb: int
    rss_peak_kb: int
    rss_waiting_kb: int
    cpu_ms_per_poll: float  # the service's CPU time per wait URL poll answered
    held: Held


async def _steps(rate: float, seconds: float, notes: list[str]) -> Steps:
    """The steady rate and the saturation bursts, service and bare side by side."""
    callers = Callers()
    async with running_service() as service, bare_server("voice") as (port, bare_pid):
        bare = f"http://127.0.0.1:{port}"
        same = await _same_answers(service, bare, callers.walks(WARM_WALKS))
        steady_steps = schedule(rate, seconds, callers)
        steady = await open_loop(service.base, rate, steady_steps)
        await _settled(service.pid)
        bare_steady = await open_loop(bare, rate, steady_steps)
        _check(steady, "service, steady", notes)
        _check(bare_steady, "bare, steady", notes)
        bursts: dict[int, Burst] = {}
        bare_walks = Callers().walks(BURST_WALKS)
        for _ in range(TRIALS):
            for in_flight in IN_FLIGHT:
                before = cpu_seconds(service.pid)
                ours = await closed_loop(service.base, callers.walks(BURST_WALKS), in_flight, BURST_SECONDS)
                await _settled(service.pid)
                cpu_ms = (cpu_seconds(service.pid) - before) * 1000 / max(ours.done, 1)
                before = cpu_seconds(bare_pid)
                theirs = await closed_loop(bare, bare_walks, in_flight, BURST_SECONDS)
                bare_cpu_ms = (cpu_seconds(bare_pid) - before) * 1000 / max(theirs.done, 1)
                _check(ours, f"service, {in_flight} in flight", notes)
                _check(theirs, f"bare, {in_flight} in flight", notes)
                kept = bursts.setdefault(in_flight, Burst(ours, theirs, cpu_ms, bare_cpu_ms))
                if ours.rate > kept.service.rate:
                    kept.service, kept.cpu_ms = ours, cpu_ms
                if theirs.rate > kept.bare.rate:
                    kept.bare, kept.bare_cpu_ms = theirs, bare_cpu_ms
        after = await held(service)
    return Steps(same, steady, bare_steady, bursts, after)


async def _waiting(count: int, period: float, seconds: float, notes: list[str]) -> Waiting:
    callers = Callers()
    async with running_service() as service:
        warm = await closed_loop(service.base, callers.walks(WARM_WALKS), 8, 60.0)
        _check(warm, "waiting, warm-up", notes)
        warm_polls = await poll_waiting(service.base, list(range(WARM_WALKS)), 1.0, 1.0, lambda: None)
        _check(warm_polls, "waiting, warm-up polls", notes)
        rss_before = rss_kb(service.pid)
        walks = callers.walks(count)
        walked = await closed_loop(service.base, walks, WALK_IN_FLIGHT, 600.0, keep_answers=True)
        _check(walked, f"{count} callers to their queue", notes)
        queued = sum(1 for text in walked.answers if ENQUEUED in text)
        rss_queued = rss_kb(service.pid)
        samples: list[int] = []
        before = cpu_seconds(service.pid)
        polled = await poll_waiting(
            service.base,
            list(range(WARM_WALKS, WARM_WALKS + count)),
            period,
            seconds,
            lambda: samples.append(rss_kb(service.pid)),
        )
        _check(polled, "wait URL polls", notes)
        rss_waiting = rss_kb(service.pid)
        await _settled(service.pid)
        cpu_ms = (cpu_seconds(service.pid) - before) * 1000 / max(polled.done, 1)
        after = await held(service)
    expected = WARM_WALKS + count
    if (after.queued_calls, after.queued_interactions, after.waiting) != (expected,) * 3:
        notes.append(f"waiting: expected {expected} queued, held {after}  <-- MISMATCH")
    announced = sum(1 for text in polled.answers if "<Say>" in text)
    steps = sum(len(w) for w in walks)
    peak = max([rss_waiting, *samples])
    return Waiting(steps, walked, queued, polled, announced, rss_before, rss_queued, peak, rss_waiting, cpu_ms, after)


def _line(name: str, tally: Tally) -> str:
    values = tally.latencies_ms
    failed = f", {len(tally.failures)} failed, {tally.skipped} not sent" if tally.failures else ""
    return (
        f"  {name:<8} {len(values):>6} steps sent, {tally.done} answered{failed} in "
        f"{tally.ended - tally.started:5.1f} s = {tally.rate:7,.1f}/s  "
        f"p50 {_ms(values, 0.5):6.1f} ms  p99 {_ms(values, 0.99):7.1f} ms  max {max(values, default=0):7.1f} ms"
        f"  (new calls p99 {_ms(tally.new_call_ms, 0.99):.1f} ms; up to {tally.most_in_flight} unanswered at once)"
    )


async def main(rate: float, seconds: float, waiting: int) -> None:
    fd_limit = raise_fd_limit()
    notes: list[str] = []
    s = await _steps(rate, seconds, notes)
    w = await _waiting(waiting, POLL_PERIOD, POLL_SECONDS, notes)
    steady, bare_steady, bursts, walked, polled = s.steady, s.bare_steady, s.bursts, w.walked, w.polled
    best = max(bursts, key=lambda k: bursts[k].service.rate)
    service_rate, cpu_ms = bursts[best].service.rate, bursts[best].cpu_ms
    bare_best = max(bursts, key=lambda k: bursts[k].bare.rate)
    bare_rate, bare_cpu_ms = bursts[bare_best].bare.rate, bursts[bare_best].bare_cpu_ms
    kb_per_call = (w.rss_waiting_kb - w.rss_before_kb) / waiting
    kb_per_call_unpolled = (w.rss_queued_kb - w.rss_before_kb) / waiting

    print(
        f"voice: client, service (SQLite) and bare handler each in their own process on loopback "
        f"(RLIMIT_NOFILE soft {fd_limit}); steps = signed webhooks, callers walking the flow to its queue"
    )
    print(f"open loop at {rate:.0f} steps/s for {seconds:.0f} s (latency from when each step was due):")
    print(_line("service", steady))
    print(_line("bare", bare_steady))
    print(
        f"closed loop, {BURST_SECONDS:.0f} s per burst, each level service then bare, {TRIALS} rounds, "
        "each side's best per level:"
    )
    print(f"  {'in flight':>9} {'service/s':>10} {'bare/s':>9} {'ratio':>6} {'svc p99':>8} {'svc CPU/step':>13}")
    for in_flight, b in bursts.items():
        print(
            f"  {in_flight:>9} {b.service.rate:>10,.1f} {b.bare.rate:>9,.1f} {b.service.rate / b.bare.rate:>6.3f} "
            f"{_ms(b.service.latencies_ms, 0.99):>6.1f}ms {b.cpu_ms:>10.2f} ms"
        )
    print(
        f"  saturation: service {service_rate:,.1f} steps/s ({best} in flight), bare {bare_rate:,.1f}/s "
        f"({bare_best} in flight), ratio {service_rate / bare_rate:.3f}; CPU per step: service {cpu_ms:.2f} ms, "
        f"bare {bare_cpu_ms:.3f} ms"
    )
    print(f"  bare answers the service's very TwiML (queue names aside): {s.same_twiml}")
    print(
        f"waiting: {waiting} callers walked to the queue ({w.steps} steps, {walked.rate:,.1f} steps/s at "
        f"{WALK_IN_FLIGHT} in flight), {w.queued} enqueued; then each polled the wait URL every "
        f"{POLL_PERIOD:.0f} s, spread, for {POLL_SECONDS:.0f} s"
    )
    print(
        f"  service RSS {w.rss_before_kb / 1024:.1f} MB before the calls -> {w.rss_queued_kb / 1024:.1f} MB all "
        f"queued -> {w.rss_waiting_kb / 1024:.1f} MB after polling (peak {w.rss_peak_kb / 1024:.1f} MB): "
        f"{kb_per_call:.1f} KB per waiting call ({kb_per_call_unpolled:.1f} KB all queued, before any poll)"
    )
    print(
        f"  wait URL: {len(polled.latencies_ms)} polls sent, {polled.done} answered ({polled.rate:,.1f}/s), "
        f"p50 {_ms(polled.latencies_ms, 0.5):.1f} ms "
        f"p99 {_ms(polled.latencies_ms, 0.99):.1f} ms max {max(polled.latencies_ms, default=0):.1f} ms; "
        f"{w.announced} announced a place; up to {polled.most_in_flight} polls unanswered at once; service CPU "
        f"{w.cpu_ms_per_poll:.2f} ms per poll"
    )
    for name, h in (("steps", s.held), ("waiting", w.held)):
        print(
            f"  {name} service held: {h.calls} calls, {h.queued_calls} queued, {h.queued_interactions} "
            f"interactions queued, routing engine waiting {h.waiting}"
        )
    for note in notes:
        print(f"  {note}")
    print(f"  service logs (steps, waiting runs): {'; '.join(SERVER_LOGS)}")
    figures = {
        "voice_steps_per_s": round(service_rate, 1),
        "voice_bare_steps_per_s": round(bare_rate, 1),
        "voice_ratio_to_bare": round(service_rate / bare_rate, 4),
        "voice_cpu_ms_per_step": round(cpu_ms, 3),
        "voice_bare_cpu_ms_per_step": round(bare_cpu_ms, 4),
        "voice_rate": rate,
        "voice_p50_ms": round(_ms(steady.latencies_ms, 0.5), 2),
        "voice_p99_ms": round(_ms(steady.latencies_ms, 0.99), 2),
        "voice_bare_p99_ms": round(_ms(bare_steady.latencies_ms, 0.99), 2),
        "voice_steady_steps": steady.done,
        "voice_by_in_flight": {str(k): [round(b.service.rate, 1), round(b.bare.rate, 1)] for k, b in bursts.items()},
        "waiting_calls": w.queued,
        "kb_per_waiting_call": round(kb_per_call, 2),
        "kb_per_queued_call_unpolled": round(kb_per_call_unpolled, 2),
        "wait_polls": polled.done,
        "wait_p50_ms": round(_ms(polled.latencies_ms, 0.5), 2),
        "wait_p99_ms": round(_ms(polled.latencies_ms, 0.99), 2),
        "wait_cpu_ms_per_poll": round(w.cpu_ms_per_poll, 3),
        "wait_failed": len(polled.failures),
        "voice_steady_failed": len(steady.failures),
        "same_twiml": s.same_twiml,
        "failures": sum("FAILURES" in n or "MISMATCH" in n for n in notes),
    }
    print(json.dumps(figures))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.voice", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="steps per second of the open loop (200)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the open loop runs (20)")
    parser.add_argument("--waiting", type=int, default=2000, help="callers waiting at once (2000)")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _arguments()
    asyncio.run(main(arguments.rate, arguments.seconds, arguments.waiting))
