"""Running calls through flows: the demo flow end to end, and each node type's behaviour."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest

from ivr.flow import Flow, Prompt
from ivr.hours import BusinessHours
from ivr.interpreter import (
    CallState,
    Enqueue,
    FlowLoop,
    Gather,
    Hangup,
    Heard,
    Step,
    Transfer,
    UnknownStep,
    Voicemail,
)
from tests.ivr.support import CALLER, NOON, Customers, demo_flow, flow_of, interpreter

# Support's hours for these tests: weekdays 09:00-17:00 in New York (NOON is 10:00 there).
SUPPORT_HOURS = BusinessHours("America/New_York", {day: ((time(9), time(17)),) for day in range(5)})
NIGHT = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)  # 18:30 in New York


def said(flow: Flow, *names: str) -> tuple[Prompt, ...]:
    return tuple(flow.prompts[name] for name in names)


def kinds(step: Step) -> list[str]:
    return [kind for kind, _ in step.events]


def event(step: Step, kind: str) -> dict[str, Any]:
    (data,) = [data for k, data in step.events if k == kind]
    return data


async def test_a_call_begins_with_the_welcome_and_the_main_menu() -> None:
    flow = demo_flow()

    step = await interpreter(flow).begin(flow, CALLER, NOON)

    assert step.prompts == said(flow, "welcome")
    assert step.then == Gather(
        prompts=said(flow, "main_menu"),
        input="dtmf speech",
        timeout_seconds=5,
        num_digits=1,
        finish_on_key="#",
        hints=("sales", "support"),
        language="en-US",
    )
    assert step.state == CallState("main", "main_menu")
    assert step.events == (
        ("ivr_prompt", {"node": "welcome", "prompt": "welcome"}),
        ("ivr_prompt", {"node": "main_menu", "prompt": "main_menu"}),
    )


async def test_pressing_1_queues_the_call_for_sales_with_billing() -> None:
    flow = demo_flow()

    step = await interpreter(flow).resume(CallState("main", "main_menu"), Heard(digits="1"), CALLER, NOON)

    assert step.prompts == said(flow, "connecting_sales")
    assert step.then == Enqueue("sales", {"billing": 3}, 0, "en-US")
    assert step.events == (
        ("ivr_input", {"node": "main_menu", "digits": "1", "speech": "", "confidence": None}),
        ("ivr_choice", {"node": "main_menu", "option": "1", "next": "sales"}),
        ("ivr_prompt", {"node": "sales", "prompt": "connecting_sales"}),
        ("ivr_queue", {"node": "sales", "queue": "sales"}),
    )
    assert step.state.node == "sales"


@pytest.mark.parametrize("speech", ["support", "Support.", "I'd like SUPPORT please", "support sales"])
async def test_saying_a_word_of_an_option_chooses_it(speech: str) -> None:
    flow = demo_flow()

    step = await interpreter(flow).resume(
        CallState("main", "main_menu"), Heard(speech=speech, confidence=0.8), CALLER, NOON
    )

    assert event(step, "ivr_choice") == {"node": "main_menu", "option": "support", "next": "account"}
    assert event(step, "ivr_input")["confidence"] == 0.8
    assert isinstance(step.then, Gather)
    assert step.then.prompts == said(flow, "account_number")
    assert (step.then.num_digits, step.then.finish_on_key, step.then.hints) == (8, "#", ())
    assert step.state == CallState("main", "account")


@pytest.mark.parametrize("speech", ["supportive", "sale", "three"])
async def test_a_word_only_part_of_what_was_said_or_not_an_option_is_invalid(speech: str) -> None:
    flow = demo_flow()

    step = await interpreter(flow).resume(CallState("main", "main_menu"), Heard(speech=speech), CALLER, NOON)

    assert event(step, "ivr_invalid") == {"node": "main_menu", "attempt": 1}


async def test_an_invalid_choice_is_apologised_for_and_asked_again_until_the_fallback() -> None:
    flow = demo_flow()
    ivr = interpreter(flow, hours={"support": SUPPORT_HOURS})
    state = CallState("main", "main_menu")

    for attempt in (1, 2):
        step = await ivr.resume(state, Heard(digits="7"), CALLER, NOON)
        assert step.prompts == ()
        assert step.then == Gather(
            said(flow, "invalid_choice", "main_menu"), "dtmf speech", 5, 1, "#", ("sales", "support"), "en-US"
        )
        assert step.state == CallState("main", "main_menu", retries=attempt)
        assert event(step, "ivr_invalid") == {"node": "main_menu", "attempt": attempt}
        state = step.state
    step = await ivr.resume(state, Heard(digits="7"), CALLER, NOON)

    # Three failures: the fallback, which queues for support while it is open.
    assert kinds(step) == ["ivr_input", "ivr_fallback", "ivr_hours", "ivr_prompt", "ivr_queue"]
    assert event(step, "ivr_fallback") == {"node": "main_menu", "next": "menu_fallback"}
    assert step.then == Enqueue("support", {}, 0, "en-US")
    assert step.state == CallState("main", "support")


async def test_silence_asks_again_without_the_apology_and_falls_back_to_goodbye_when_closed() -> None:
    flow = demo_flow()
    ivr = interpreter(flow, hours={"support": SUPPORT_HOURS})

    first = await ivr.resume(CallState("main", "main_menu"), Heard(), CALLER, NIGHT)
    second = await ivr.resume(first.state, Heard(), CALLER, NIGHT)
    third = await ivr.resume(second.state, Heard(), CALLER, NIGHT)

    assert event(first, "ivr_timeout") == {"node": "main_menu", "attempt": 1}
    assert isinstance(first.then, Gather)
    assert first.then.prompts == said(flow, "main_menu")
    assert event(second, "ivr_timeout") == {"node": "main_menu", "attempt": 2}
    assert event(third, "ivr_hours") == {"node": "menu_fallback", "queue": "support", "open": False}
    assert third.prompts == said(flow, "goodbye")
    assert third.then == Hangup()
    assert kinds(third)[-1] == "ivr_hangup"


async def test_a_valid_choice_after_a_failure_starts_the_next_node_afresh() -> None:
    flow = demo_flow()

    step = await interpreter(flow).resume(CallState("main", "main_menu", retries=2), Heard(digits="2"), CALLER, NOON)

    assert step.state == CallState("main", "account", retries=0)


async def test_an_account_number_is_collected_and_the_customer_found_by_it() -> None:
    flow = demo_flow()
    customers = Customers(by_account={"12345678": "cust-1"})
    ivr = interpreter(flow, customers=customers)

    step = await ivr.resume(CallState("main", "account"), Heard(digits="12345678"), CALLER, NOON)

    assert customers.asked == [(CALLER, "12345678")]
    assert step.events[1:] == (
        ("ivr_collected", {"node": "account", "attribute": "account", "value": "12345678"}),
        ("ivr_lookup", {"node": "lookup", "found": True, "customer_id": "cust-1"}),
        ("ivr_prompt", {"node": "found", "prompt": "welcome_back"}),
        ("ivr_hours", {"node": "support_hours", "queue": "support", "open": True}),
        ("ivr_prompt", {"node": "support", "prompt": "connecting_support"}),
        ("ivr_queue", {"node": "support", "queue": "support"}),
    )
    assert step.prompts == said(flow, "welcome_back", "connecting_support")
    assert step.state == CallState("main", "support", {"account": "12345678"}, 0, "cust-1")


async def test_a_spoken_account_number_loses_the_spaces_between_its_groups() -> None:
    flow = demo_flow()

    step = await interpreter(flow).resume(CallState("main", "account"), Heard(speech="1234 5678"), CALLER, NOON)

    assert event(step, "ivr_collected")["value"] == "12345678"


@pytest.mark.parametrize("digits", ["1234567", "123456789", "1234567*"])
async def test_an_account_number_of_the_wrong_length_or_form_is_asked_for_again(digits: str) -> None:
    flow = demo_flow()

    step = await interpreter(flow).resume(CallState("main", "account"), Heard(digits=digits), CALLER, NOON)

    assert event(step, "ivr_invalid") == {"node": "account", "attempt": 1}
    assert isinstance(step.then, Gather)
    assert step.then.prompts == said(flow, "invalid_account", "account_number")
    assert step.state == CallState("main", "account", retries=1)


async def test_a_caller_not_found_after_no_account_number_reaches_voicemail_when_support_is_closed() -> None:
    flow = demo_flow()
    customers = Customers()
    ivr = interpreter(flow, hours={"support": SUPPORT_HOURS}, customers=customers)

    step = await ivr.resume(CallState("main", "account", retries=2), Heard(), CALLER, NIGHT)

    # No account: looked up by the caller's number alone.
    assert customers.asked == [(CALLER, None)]
    assert event(step, "ivr_lookup") == {"node": "lookup", "found": False, "customer_id": None}
    assert step.prompts == said(flow, "closed", "leave_message")
    assert step.then == Voicemail(120, True)
    assert kinds(step)[-1] == "ivr_voicemail"
    assert step.state.customer_id is None


async def test_a_caller_found_by_phone_number_alone() -> None:
    flow = demo_flow()
    customers = Customers(by_phone={CALLER: "cust-9"})

    step = await interpreter(flow, customers=customers).resume(
        CallState("main", "account", retries=2), Heard(), CALLER, NOON
    )

    assert step.state.customer_id == "cust-9"


PATTERNED = """
start = "pin"
[prompts]
ask = "Your PIN?"
bad = "No."
bye = "Bye."
[nodes.pin]
type = "collect"
prompts = ["ask"]
attribute = "pin"
min_length = 4
max_length = 6
pattern = "9[0-9]+"
finish_on_key = "*"
invalid_prompt = "bad"
retries = 0
next = "out"
fallback = "out"
[nodes.out]
type = "hangup"
prompts = ["bye"]
"""


async def test_collect_validates_length_and_pattern_and_waits_for_the_finish_key() -> None:
    flow = flow_of(PATTERNED)
    ivr = interpreter(flow)

    begun = await ivr.begin(flow, CALLER, NOON)
    good = await ivr.resume(begun.state, Heard(digits="91234"), CALLER, NOON)
    bad = await ivr.resume(begun.state, Heard(digits="81234"), CALLER, NOON)

    assert begun.then == Gather(said(flow, "ask"), "dtmf", 5, None, "*", (), "")
    assert event(good, "ivr_collected") == {"node": "pin", "attribute": "pin", "value": "91234"}
    # No retries: the first failure falls back.
    assert event(bad, "ivr_fallback") == {"node": "pin", "next": "out"}
    assert "ivr_collected" not in kinds(bad)


ENDINGS = """
start = "menu"
numbers = ["+15005550007"]
[prompts]
menu = { say = "Press 1 for the office, 2 to leave us.", voice = "alice", language = "en-GB" }
office = "Transferring."
bye = { play = "https://example.com/bye.mp3" }
[nodes.menu]
type = "menu"
prompts = ["menu"]
options = { "1" = "office", "2" = "bye", "#" = "bye" }
fallback = "bye"
[nodes.office]
type = "transfer"
prompts = ["office"]
number = "+442079460000"
[nodes.bye]
type = "hangup"
prompts = ["bye"]
"""


async def test_transfer_and_hangup_end_the_ivr() -> None:
    flow = flow_of(ENDINGS)
    ivr = interpreter(flow)
    begun = await ivr.begin(flow, CALLER, NOON)

    transferred = await ivr.resume(begun.state, Heard(digits="1"), CALLER, NOON)
    hung_up = await ivr.resume(begun.state, Heard(digits="#"), CALLER, NOON)

    # "#" is an option, so it cannot also end the Gather.
    assert isinstance(begun.then, Gather)
    assert (begun.then.finish_on_key, begun.then.hints) == ("", ())
    assert begun.then.prompts == (
        Prompt(say="Press 1 for the office, 2 to leave us.", voice="alice", language="en-GB"),
    )
    assert transferred.then == Transfer("+442079460000")
    assert event(transferred, "ivr_transfer") == {"node": "office", "number": "+442079460000"}
    assert hung_up.prompts == (Prompt(play="https://example.com/bye.mp3"),)
    assert hung_up.then == Hangup()


async def test_speech_is_not_taken_by_a_menu_that_listens_for_keys_only() -> None:
    flow = flow_of(ENDINGS)

    step = await interpreter(flow).resume(CallState("test", "menu"), Heard(speech="1"), CALLER, NOON)

    assert "ivr_invalid" in kinds(step)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (CallState("gone", "main_menu"), "no flow named 'gone'"),
        (CallState("main", "gone"), "no menu or collect node named 'gone'"),
        (CallState("main", "welcome"), "no menu or collect node named 'welcome'"),
        (CallState("main", "sales"), "no menu or collect node named 'sales'"),
    ],
)
async def test_resuming_a_state_the_flows_cannot_continue_raises_unknown_step(state: CallState, message: str) -> None:
    flow = demo_flow()

    with pytest.raises(UnknownStep, match=message):
        await interpreter(flow).resume(state, Heard(digits="1"), CALLER, NOON)


async def test_a_flow_that_loops_without_the_caller_stops_with_a_clear_error() -> None:
    # Built by hand: config check refuses this loop, so only an unchecked flow has it.
    from ivr.flow import SayNode

    flow = Flow("loop", "loop.toml", (), "a", {"a": SayNode("a", (), "b"), "b": SayNode("b", (), "a")}, {})

    with pytest.raises(FlowLoop, match="flow 'loop' came back to node 'a'"):
        await interpreter(flow).begin(flow, CALLER, NOON)


def test_call_state_round_trips_through_json() -> None:
    state = CallState("main", "account", {"account": "12345678"}, 2, "cust-1")

    assert CallState.from_json(state.to_json()) == state
    assert CallState.from_json({"flow": "main", "node": "x"}) == CallState("main", "x")


@pytest.mark.parametrize(
    "data",
    [None, [], {"flow": "main"}, {"flow": "main", "node": 1}, {"flow": "m", "node": "n", "retries": -1},
     {"flow": "m", "node": "n", "attributes": {"a": 1}}, {"flow": "m", "node": "n", "customer_id": 5}],
)  # fmt: skip
def test_anything_else_as_a_call_state_is_an_unknown_step(data: Any) -> None:
    with pytest.raises(UnknownStep):
        CallState.from_json(data)
