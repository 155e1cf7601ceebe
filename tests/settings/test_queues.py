"""The configuration loader: queues (channels, skills, SLA targets), their routing policy
and escalation."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from interaction_center.domain.model import Channel
from interaction_center.settings.model import (
    EscalationSettings,
    QueueSettings,
    SlaTarget,
)
from tests.settings.files import (
    CONFIG_NAME,
    MINIMAL,
    ROUTED,
    issue_in_file,
    issues_of,
    load,
    only_issue,
)

# --- queues --------------------------------------------------------------------------------


def test_unknown_channel_in_a_queue_is_rejected(tmp_path: Path) -> None:
    text = '[twilio]\nauth_token = "t"\n[queues.support]\nchannels = ["sms", "fax"]\n'

    issue = only_issue(tmp_path, text)

    assert issue.key == "queues.support.channels"
    assert "'fax'" in issue.reason


def test_a_queue_must_accept_a_channel(tmp_path: Path) -> None:
    text = MINIMAL + "[queues.sales]\nchannels = []\n"

    issue = only_issue(tmp_path, text)

    assert (issue.key, issue.reason) == ("queues.sales.channels", "a queue must accept at least one channel")


def test_queue_skill_must_be_declared(tmp_path: Path) -> None:
    text = 'skills = ["billing"]\n' + MINIMAL + '[queues.sales]\nchannels = ["email"]\nskills = { french = 3 }\n'

    issue = only_issue(tmp_path, text)

    assert issue == issue_in_file(tmp_path, "queues.sales.skills.french", "not declared in the top-level skills list")


def test_at_least_one_queue_is_required(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, '[twilio]\nauth_token = "t"\n')

    assert {issue.key for issue in issues} == {"queues", "channels.sms.queue"}


def test_sla_is_loaded_per_channel(tmp_path: Path) -> None:
    text = MINIMAL + "[queues.support.sla.sms]\nanswer_seconds = 120\nfirst_response_seconds = 600\n"

    loaded = load(tmp_path, text)

    assert loaded.queues["support"].sla == {Channel.SMS: SlaTarget(120, 600)}


def test_sla_for_a_channel_the_queue_does_not_accept_is_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "[queues.support.sla.email]\nanswer_seconds = 60\n")

    assert (issue.key, issue.reason) == ("queues.support.sla.email", "the queue does not accept this channel")


@pytest.mark.parametrize("value", ["0", "-5", "true", '"60"', "1.5"])
def test_sla_answer_seconds_must_be_a_positive_whole_number(tmp_path: Path, value: str) -> None:
    issue = only_issue(tmp_path, MINIMAL + f"[queues.support.sla.sms]\nanswer_seconds = {value}\n")

    assert issue.key == "queues.support.sla.sms.answer_seconds"


def test_sla_answer_seconds_is_required(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "[queues.support.sla.sms]\nfirst_response_seconds = 600\n")

    assert issue.key == "queues.support.sla.sms.answer_seconds"


def test_sla_first_response_seconds_must_be_a_positive_whole_number(tmp_path: Path) -> None:
    text = MINIMAL + "[queues.support.sla.sms]\nanswer_seconds = 60\nfirst_response_seconds = 0\n"

    issue = only_issue(tmp_path, text)

    assert issue.key == "queues.support.sla.sms.first_response_seconds"


def test_sla_rejects_unknown_keys(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "[queues.support.sla.sms]\nanswer_seconds = 60\nwarn_seconds = 30\n")

    assert issue.key == "queues.support.sla.sms"


# --- queues: routing policy ----------------------------------------------------------------


def test_every_queue_routing_key_loads_into_its_setting(tmp_path: Path) -> None:
    text = ROUTED.replace(
        '[queues.sales]\nchannels = ["sms", "chat"]\n',
        """[queues.sales]
channels = ["sms", "chat"]
priority = 3
strategy = "least_occupied"
max_size = 40
preferred_agent_seconds = 12.5
wrap_up_seconds = 7.5

[queues.sales.skills]
billing = 4
technical = 10

[[queues.sales.escalation]]
after_seconds = 30
raise_priority = 2

[[queues.sales.escalation]]
after_seconds = 90.5
relax_skills = 1

[[queues.sales.escalation]]
after_seconds = 300
raise_priority = 1
relax_skills = 2
overflow_to = "support"
""",
    )

    sales = load(tmp_path, text).queues["sales"]

    assert sales == QueueSettings(
        "sales",
        (Channel.SMS, Channel.CHAT),
        skills={"billing": 4, "technical": 10},
        priority=3,
        strategy="least_occupied",
        sla={},
        escalation=(
            EscalationSettings(30, raise_priority=2),
            EscalationSettings(90.5, relax_skills=1),
            EscalationSettings(300, raise_priority=1, relax_skills=2, overflow_to="support"),
        ),
        max_size=40,
        preferred_agent_seconds=12.5,
        wrap_up_seconds=7.5,
    )


@pytest.mark.parametrize("strategy", ["longest_idle", "most_skilled", "least_occupied", "round_robin"])
def test_every_strategy_is_accepted(tmp_path: Path, strategy: str) -> None:
    loaded = load(tmp_path, MINIMAL + f'strategy = "{strategy}"\n')

    assert loaded.queues["support"].strategy == strategy


@pytest.mark.parametrize("strategy", ['"fastest"', '"LONGEST_IDLE"', '""', "1"])
def test_unknown_strategy_is_rejected(tmp_path: Path, strategy: str) -> None:
    issue = only_issue(tmp_path, MINIMAL + f"strategy = {strategy}\n")

    assert issue == issue_in_file(
        tmp_path,
        "queues.support.strategy",
        f"unknown strategy {tomllib.loads(f'v = {strategy}')['v']!r} "
        "(known: longest_idle, most_skilled, least_occupied, round_robin)",
    )


@pytest.mark.parametrize("level", [1, 10])
def test_queue_skill_levels_1_and_10_are_accepted(tmp_path: Path, level: int) -> None:
    loaded = load(tmp_path, ROUTED + f"[queues.sales.skills]\nbilling = {level}\n")

    assert loaded.queues["sales"].skills == {"billing": level}


@pytest.mark.parametrize("level", ["0", "11", "-1", "7.5", '"7"', "true"])
def test_queue_skill_level_outside_1_to_10_is_rejected(tmp_path: Path, level: str) -> None:
    issue = only_issue(tmp_path, ROUTED + f"[queues.sales.skills]\nbilling = {level}\n")

    shown = repr(tomllib.loads(f"v = {level}")["v"])
    assert issue == issue_in_file(
        tmp_path, "queues.sales.skills.billing", f"a skill level is a whole number from 1 to 10, not {shown}"
    )


def test_queue_skills_in_the_old_list_form_are_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, ROUTED.replace('"chat"]\n', '"chat"]\nskills = ["billing"]\n'))

    assert issue == issue_in_file(tmp_path, "queues.sales.skills", "must be a table of skill = level (1-10)")


@pytest.mark.parametrize(
    ("line", "key", "reason"),
    [
        ("priority = 1.5", "queues.support.priority", "must be a whole number of at least -1000, not 1.5"),
        ("priority = -1001", "queues.support.priority", "must be a whole number of at least -1000, not -1001"),
        ("max_size = 0", "queues.support.max_size", "must be a whole number of at least 1, not 0"),
        (
            "preferred_agent_seconds = -1",
            "queues.support.preferred_agent_seconds",
            "must be a number of at least 0, not -1",
        ),
        ('wrap_up_seconds = "15"', "queues.support.wrap_up_seconds", "must be a number of at least 0, not '15'"),
    ],
)
def test_bad_queue_numbers_are_rejected(tmp_path: Path, line: str, key: str, reason: str) -> None:
    issue = only_issue(tmp_path, MINIMAL + line + "\n")

    assert issue == issue_in_file(tmp_path, key, reason)


def test_escalation_step_that_does_nothing_is_rejected(tmp_path: Path) -> None:
    text = MINIMAL + "[[queues.support.escalation]]\nafter_seconds = 60\nraise_priority = 0\n"

    issue = only_issue(tmp_path, text)

    assert issue == issue_in_file(
        tmp_path, "queues.support.escalation[0]", "does nothing: set raise_priority, relax_skills or overflow_to"
    )


def test_escalation_overflow_to_an_unknown_queue_is_rejected(tmp_path: Path) -> None:
    text = ROUTED + '[[queues.support.escalation]]\nafter_seconds = 60\noverflow_to = "nowhere"\n'

    issue = only_issue(tmp_path, text)

    assert issue == issue_in_file(tmp_path, "queues.support.escalation[0].overflow_to", "no queue named 'nowhere'")


def test_escalation_may_overflow_to_a_queue_declared_after_it(tmp_path: Path) -> None:
    text = MINIMAL + '[[queues.support.escalation]]\nafter_seconds = 60\noverflow_to = "later"\n'
    text += '[queues.later]\nchannels = ["sms"]\n'

    loaded = load(tmp_path, text)

    assert loaded.queues["support"].escalation == (EscalationSettings(60, overflow_to="later"),)


def test_escalation_steps_out_of_order_are_rejected(tmp_path: Path) -> None:
    text = MINIMAL + (
        "[[queues.support.escalation]]\nafter_seconds = 600\nraise_priority = 1\n"
        "[[queues.support.escalation]]\nafter_seconds = 120\nrelax_skills = 1\n"
    )

    issue = only_issue(tmp_path, text)

    assert issue == issue_in_file(tmp_path, "queues.support.escalation", "steps must be in order of after_seconds")


@pytest.mark.parametrize(
    ("step", "key"),
    [
        ("raise_priority = 1", "queues.support.escalation[0]"),
        ("after_seconds = 60\nraise_priority = 1\nnotify = true", "queues.support.escalation[0]"),
        ("after_seconds = -1\nraise_priority = 1", "queues.support.escalation[0].after_seconds"),
        ("after_seconds = 60\nraise_priority = -1", "queues.support.escalation[0].raise_priority"),
        ("after_seconds = 60\nrelax_skills = 0.5", "queues.support.escalation[0].relax_skills"),
        ("after_seconds = 60\noverflow_to = 3", "queues.support.escalation[0].overflow_to"),
    ],
)
def test_malformed_escalation_steps_are_rejected(tmp_path: Path, step: str, key: str) -> None:
    issue = only_issue(tmp_path, MINIMAL + f"[[queues.support.escalation]]\n{step}\n")

    assert (issue.source, issue.key) == (str(tmp_path / CONFIG_NAME), key)


def test_escalation_must_be_an_array_of_tables(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "escalation = 60\n")

    assert issue.key == "queues.support.escalation"
