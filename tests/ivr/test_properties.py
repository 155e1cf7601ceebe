"""Properties of the interpreter on the demo flow, for any caller at any time: nothing it
hears makes it raise, every step leaves the state at a node that waits for the caller or
ends the IVR, and a state it cannot continue is an UnknownStep and nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime, time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.hours import BusinessHours
from ivr.interpreter import CallState, Gather, Heard, Step, UnknownStep
from tests.ivr.support import CALLER, Customers, demo_flow, interpreter

FLOW = demo_flow()
IVR = interpreter(
    FLOW,
    hours={"support": BusinessHours("America/New_York", {day: ((time(8), time(20)),) for day in range(5)})},
    customers=Customers(by_phone={CALLER: "cust-1"}, by_account={"12345678": "cust-2"}),
)
heard = st.builds(
    Heard,
    digits=st.one_of(st.sampled_from(["", "1", "2", "12345678", "#", "*"]), st.text("0123456789*#", max_size=12)),
    speech=st.one_of(st.sampled_from(["", "sales", "Support please", "1234 5678"]), st.text(max_size=30)),
    confidence=st.one_of(st.none(), st.floats(0, 1)),
)
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))


def run(coroutine: Coroutine[Any, Any, Step]) -> Step:
    return asyncio.run(coroutine)


@settings(max_examples=150, deadline=None)
@given(answers=st.lists(heard, max_size=8), now=moments, caller=st.text(max_size=16))
def test_any_answers_lead_to_a_gather_or_the_end_of_the_ivr(answers: list[Heard], now: datetime, caller: str) -> None:
    step = run(IVR.begin(FLOW, caller, now))
    for answer in answers:
        if not isinstance(step.then, Gather):
            break
        assert FLOW.nodes[step.state.node].__class__.__name__ in {"MenuNode", "CollectNode"}
        step = run(IVR.resume(step.state, answer, caller, now))
        assert CallState.from_json(step.state.to_json()) == step.state
        assert all(isinstance(kind, str) and kind.startswith("ivr_") for kind, _ in step.events)


@settings(max_examples=150, deadline=None)
@given(
    node=st.one_of(st.sampled_from(list(FLOW.nodes)), st.text(max_size=10)),
    retries=st.integers(0, 10),
    answer=heard,
    now=moments,
)
def test_any_state_is_continued_or_refused_as_an_unknown_step(
    node: str, retries: int, answer: Heard, now: datetime
) -> None:
    try:
        step = run(IVR.resume(CallState("main", node, retries=retries), answer, CALLER, now))
    except UnknownStep:
        assert node not in ("main_menu", "account")
    else:
        assert step.state.node in FLOW.nodes
