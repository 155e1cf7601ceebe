"""Reading and checking flow files: each refusal names the flow, the node and the reason."""

from __future__ import annotations

import pytest

from ivr.check import check_flows
from ivr.flow import CollectNode, Flows, MenuNode, Prompt, QueueNode
from ivr.load import load_flow
from tests.ivr.support import KNOWN, demo_flow, flow_of, parse

# A flow with one of everything, correct; each test below breaks one thing.
GOOD = """
numbers = ["+15005550007"]
start = "hello"
language = "en-US"
[prompts]
hello = "Hello."
menu = "Press 1 or say billing."
sorry = "Sorry."
ask = "Your number?"
bye = "Bye."
[nodes.hello]
type = "say"
prompts = ["hello"]
next = "menu"
[nodes.menu]
type = "menu"
prompts = ["menu"]
input = "dtmf speech"
options = { "1" = "ask", billing = "ask" }
invalid_prompt = "sorry"
fallback = "bye"
[nodes.ask]
type = "collect"
prompts = "ask"
attribute = "account"
pattern = "[0-9]+"
next = "who"
fallback = "who"
[nodes.who]
type = "lookup"
account_attribute = "account"
found = "open"
not_found = "open"
[nodes.open]
type = "hours"
queue = "support"
open = "queue"
closed = "bye"
[nodes.queue]
type = "queue"
queue = "sales"
skills = { billing = 5 }
priority = 2
[nodes.bye]
type = "hangup"
prompts = ["bye"]
"""


def broken(old: str, new: str) -> list[tuple[str, str]]:
    assert old in GOOD
    return parse(GOOD.replace(old, new, 1))[1]


def test_the_good_flow_reads_into_its_nodes() -> None:
    flow = flow_of(GOOD)

    assert flow.numbers == ("+15005550007",)
    assert flow.prompts["hello"] == Prompt(say="Hello.", language="en-US")
    assert flow.nodes["menu"] == MenuNode(
        "menu", ("menu",), {"1": "ask", "billing": "ask"}, "dtmf speech", 5, 2, "sorry", "bye"
    )
    assert flow.nodes["ask"] == CollectNode(
        "ask", ("ask",), "account", "dtmf", 1, 32, "[0-9]+", "#", 5, 2, None, "who", "who"
    )
    assert flow.nodes["queue"] == QueueNode("queue", "sales", {"billing": 5}, 2, "", ())


def test_the_demo_flow_passes_every_check() -> None:
    assert set(demo_flow().nodes) >= {"welcome", "main_menu", "account", "lookup", "support_hours", "closed"}


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        # Missing targets.
        ('start = "hello"', 'start = "nowhere"', ("flows.test.start", "names no node 'nowhere'")),
        ('start = "hello"', "", ("flows.test.start", "required: the node a call starts at")),
        ('next = "menu"', 'next = "menus"', ("flows.test.nodes.hello.next", "names no node 'menus'")),
        ('"1" = "ask"', '"1" = "asking"', ("flows.test.nodes.menu.options.1", "names no node 'asking'")),
        ('fallback = "bye"', 'fallback = "by"', ("flows.test.nodes.menu.fallback", "names no node 'by'")),
        ('found = "open"', "", ("flows.test.nodes.who.found", "required: the node to go to")),
        ('closed = "bye"', 'closed = "shut"', ("flows.test.nodes.open.closed", "names no node 'shut'")),
        # Names the rest of the configuration declares.
        ('queue = "sales"', 'queue = "billing"', ("flows.test.nodes.queue.queue", "no queue named 'billing'")),
        ('queue = "support"', 'queue = "helpdesk"', ("flows.test.nodes.open.queue", "no queue named 'helpdesk'")),
        (
            'queue = "sales"',
            'queue = "email_only"',
            ("flows.test.nodes.queue.queue", "queue 'email_only' does not accept voice"),
        ),
        (
            "billing = 5",
            "plumbing = 5",
            ("flows.test.nodes.queue.skills.plumbing", "not declared in the top-level skills list"),
        ),
        (
            'prompts = ["hello"]',
            'prompts = ["hallo"]',
            ("flows.test.nodes.hello.prompts", "no prompt named 'hallo' in [prompts]"),
        ),
        (
            'invalid_prompt = "sorry"',
            'invalid_prompt = "oops"',
            ("flows.test.nodes.menu.invalid_prompt", "no prompt named 'oops' in [prompts]"),
        ),
        (
            'account_attribute = "account"',
            'account_attribute = "acount"',
            ("flows.test.nodes.who.account_attribute", "no collect node stores 'acount'"),
        ),
        # Numbers and patterns.
        (
            'numbers = ["+15005550007"]',
            'numbers = ["5005550007"]',
            ("flows.test.numbers", "'5005550007' is not an E.164 number (+, country code and number: +15005550006)"),
        ),
        (
            'pattern = "[0-9]+"',
            'pattern = "[0-9"',
            ("flows.test.nodes.ask.pattern", "not a regular expression: unterminated character set at position 0"),
        ),
        # Fields.
        (
            'type = "say"',
            'type = "speak"',
            (
                "flows.test.nodes.hello.type",
                "must be one of say, menu, collect, lookup, hours, queue, voicemail, transfer, hangup, not 'speak'",
            ),
        ),
        (
            'input = "dtmf speech"',
            'input = "dtmf"',
            (
                "flows.test.nodes.menu.options.billing",
                'a word to say, but the menu listens for dtmf only (input = "dtmf speech")',
            ),
        ),
        (
            'billing = "ask"',
            'Billing = "ask"',
            (
                "flows.test.nodes.menu.options.Billing",
                "an option is keys to press (0-9, *, #) or a lower-case word or phrase",
            ),
        ),
        (
            'pattern = "[0-9]+"',
            "retries = -1",
            ("flows.test.nodes.ask.retries", "must be a whole number of at least 0, not -1"),
        ),
        (
            'pattern = "[0-9]+"',
            "min_length = 8\nmax_length = 4",
            ("flows.test.nodes.ask.max_length", "must be at least min_length (8)"),
        ),
        (
            'prompts = ["bye"]',
            'prompts = ["bye"]\nsay = "x"',
            ("flows.test.nodes.bye.say", "unknown key (known: prompts)"),
        ),
        (
            'hello = "Hello."',
            'hello = { say = "Hello.", play = "https://x/y.mp3" }',
            ("flows.test.prompts.hello", "must have exactly one of say (text) and play (a recording's URL)"),
        ),
        (
            "priority = 2",
            'priority = 2\n[nodes.by]\ntype = "hangup"',
            ("flows.test.nodes.by", "unreachable from the start node 'hello'"),
        ),
        (
            'account_attribute = "account"',
            "by_caller = false",
            ("flows.test.nodes.who", "looks nothing up: set by_caller = true, account_attribute, or both"),
        ),
    ],
)
def test_a_broken_flow_is_refused_naming_flow_node_and_reason(old: str, new: str, problem: tuple[str, str]) -> None:
    assert broken(old, new) == [problem]


def test_a_loop_through_say_lookup_and_hours_nodes_only_is_refused() -> None:
    problems = broken('not_found = "open"\n', 'not_found = "x"\n[nodes.x]\ntype = "say"\nnext = "x"\n')

    assert problems == [("flows.test.nodes.x", "a loop with no caller input: x → x")]
    problems = parse(
        GOOD.replace('open = "queue"', 'open = "again"')
        + '[nodes.again]\ntype = "say"\nprompts = ["hello"]\nnext = "who2"\n'
        + '[nodes.who2]\ntype = "lookup"\nfound = "open"\nnot_found = "queue"\n'
    )[1]
    assert problems == [("flows.test.nodes.open", "a loop with no caller input: open → again → who2 → open")]


def test_a_loop_a_silent_caller_never_leaves_is_refused() -> None:
    # The menu's fallback leads back to the welcome, and so to the menu.
    problems = broken('fallback = "bye"', 'fallback = "hello"')

    assert problems == [
        (
            "flows.test.nodes.menu",
            "a loop a silent caller never leaves: menu → hello → menu"
            " (let a fallback lead out: to a queue, voicemail or a hang-up)",
        )
    ]


def test_a_loop_the_caller_leaves_by_choosing_is_fine() -> None:
    # Option 1 goes back to the welcome: only a choice takes it, so the loop needs the caller.
    assert broken('"1" = "ask"', '"1" = "hello"') == []


def test_a_number_listed_by_two_flows_is_refused_on_the_second() -> None:
    one, two = flow_of(GOOD, "one"), flow_of(GOOD, "two")
    problems: list[tuple[str, str, str]] = []

    check_flows([one, two], KNOWN, lambda flow, key, reason: problems.append((flow.source, key, reason)))

    assert problems == [("two.toml", "flows.two.numbers", "+15005550007 is listed by flow 'one' too")]


def test_every_problem_of_a_file_is_reported_in_one_pass() -> None:
    text = GOOD.replace('next = "menu"', 'next = "menus"').replace("billing = 5", "plumbing = 5")

    problems = parse(text.replace('"[0-9]+"', '"("'))[1]

    # What the missing target leaves unreached is not reported on top.
    assert [key for key, _ in problems] == [
        "flows.test.nodes.ask.pattern",
        "flows.test.nodes.hello.next",
        "flows.test.nodes.queue.skills.plumbing",
    ]


def test_a_file_that_is_not_a_flow_is_reported() -> None:
    problems: list[tuple[str, str]] = []

    load_flow("x", "x.toml", {"nodes": 3, "colour": "red"}, lambda key, reason: problems.append((key, reason)))

    assert problems == [
        ("flows.x.colour", "unknown key (known: language, nodes, numbers, prompts, start, voice)"),
        ("flows.x.nodes", "must be a table of nodes ([nodes.NAME] with a type)"),
    ]


def test_flows_are_chosen_by_the_dialled_number_else_the_default() -> None:
    main, other = demo_flow(), flow_of(GOOD, "other")
    flows = Flows({"main": main, "other": other}, "main")

    assert flows.for_number("+15005550007") is other
    assert flows.for_number("+15005550006") is main
    assert flows.for_number("+15559999999") is main
    assert Flows({"other": other}, None).for_number("+15559999999") is None
    assert Flows().for_number("+15005550006") is None
    assert flows.get("other") is other
    assert flows.get("nope") is None
