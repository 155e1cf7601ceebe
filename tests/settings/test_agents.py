"""The configuration loader: the agents' roster, roles, and routing profiles (queues,
skills, capacity)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from interaction_center.domain.model import Channel, Role
from interaction_center.settings.model import (
    AgentSeed,
    QueueMembershipSettings,
)
from tests.settings.files import (
    CONFIG_NAME,
    MINIMAL,
    ROUTED,
    issue_in_file,
    load,
    only_issue,
)

# --- agents --------------------------------------------------------------------------------


def test_agent_defaults(tmp_path: Path) -> None:
    loaded = load(tmp_path, MINIMAL + '[[agents]]\nusername = "alice"\n')

    assert loaded.agents == (AgentSeed("alice", "alice", Role.AGENT, queues=(), skills={}, capacity={}, password=""),)


def test_an_agent_takes_calls_on_the_phone_their_profile_names(tmp_path: Path) -> None:
    loaded = load(tmp_path, MINIMAL + '[[agents]]\nusername = "alice"\nphone = "+15557654321"\n')
    assert loaded.agents[0].phone == "+15557654321"


@pytest.mark.parametrize("phone", ["5557654321", "+0123456789", "call me", "+1 555 765 4321"])
def test_an_agent_phone_not_in_e164_form_is_rejected(tmp_path: Path, phone: str) -> None:
    issue = only_issue(tmp_path, MINIMAL + f'[[agents]]\nusername = "alice"\nphone = "{phone}"\n')
    assert issue == issue_in_file(
        tmp_path, "agents[0].phone", "must be a phone number in E.164 form, like +15551234567"
    )


def test_agent_referencing_an_unknown_queue_is_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + '[[agents]]\nusername = "alice"\nqueues = ["support", "nowhere"]\n')

    assert issue == issue_in_file(tmp_path, "agents[0].queues[1]", "no queue named 'nowhere'")


def test_agent_with_an_undeclared_skill_is_rejected(tmp_path: Path) -> None:
    text = 'skills = ["billing"]\n' + MINIMAL + '[[agents]]\nusername = "alice"\nskills = { billing = 3, french = 2 }\n'

    issue = only_issue(tmp_path, text)

    assert issue == issue_in_file(tmp_path, "agents[0].skills.french", "not declared in the top-level skills list")


def test_duplicate_agent_username_is_rejected(tmp_path: Path) -> None:
    text = MINIMAL + '[[agents]]\nusername = "alice"\n[[agents]]\nusername = "bob"\n[[agents]]\nusername = "alice"\n'

    issue = only_issue(tmp_path, text)

    assert (issue.key, issue.reason) == ("agents[2].username", "'alice' is declared twice")


def test_agent_needs_a_username(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + '[[agents]]\ndisplay_name = "Nobody"\n')

    assert issue.key == "agents[0].username"


def test_agent_role_must_be_known(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + '[[agents]]\nusername = "alice"\nrole = "boss"\n')

    assert issue.key == "agents[0].role"
    assert "'boss'" in issue.reason


def test_agents_must_be_an_array_of_tables(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, "agents = 3\n" + MINIMAL)

    assert issue.key == "agents"


# --- agents: routing profiles --------------------------------------------------------------


def test_every_agent_routing_key_loads_into_its_seed(tmp_path: Path) -> None:
    text = (
        ROUTED
        + """
[[agents]]
username = "alice"
queues = ["support", { queue = "sales", priority = 2, delay_seconds = 20.5 }]
skills = { billing = 7, technical = 1 }
capacity = { sms = 5, chat = 3, email = 0 }
"""
    )

    [alice] = load(tmp_path, text).agents

    assert alice.queues == (
        QueueMembershipSettings("support", priority=1, delay_seconds=0.0),
        QueueMembershipSettings("sales", priority=2, delay_seconds=20.5),
    )
    assert alice.skills == {"billing": 7, "technical": 1}
    assert alice.capacity == {Channel.SMS: 5, Channel.CHAT: 3, Channel.EMAIL: 0}


def test_a_membership_table_takes_default_priority_and_delay(tmp_path: Path) -> None:
    [alice] = load(tmp_path, ROUTED + '[[agents]]\nusername = "alice"\nqueues = [{ queue = "sales" }]\n').agents

    assert alice.queues == (QueueMembershipSettings("sales", priority=1, delay_seconds=0.0),)


@pytest.mark.parametrize(
    ("membership", "key", "reason"),
    [
        ('{ queue = "nowhere" }', "agents[0].queues[1]", "no queue named 'nowhere'"),
        (
            '{ queue = "sales", priority = 0 }',
            "agents[0].queues[1].priority",
            "must be a whole number of at least 1, not 0",
        ),
        (
            '{ queue = "sales", priority = 1.5 }',
            "agents[0].queues[1].priority",
            "must be a whole number of at least 1, not 1.5",
        ),
        (
            '{ queue = "sales", delay_seconds = -1 }',
            "agents[0].queues[1].delay_seconds",
            "must be a number of at least 0, not -1",
        ),
        (
            '{ queue = "sales", wait = 5 }',
            "agents[0].queues[1]",
            "must be a queue name or a {queue, priority, delay_seconds} table",
        ),
        ("3", "agents[0].queues[1]", "must be a queue name or a {queue, priority, delay_seconds} table"),
    ],
)
def test_bad_queue_membership_is_rejected(tmp_path: Path, membership: str, key: str, reason: str) -> None:
    text = ROUTED + f'[[agents]]\nusername = "alice"\nqueues = ["support", {membership}]\n'

    issue = only_issue(tmp_path, text)

    assert issue == issue_in_file(tmp_path, key, reason)


def test_membership_table_without_a_queue_is_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, ROUTED + '[[agents]]\nusername = "alice"\nqueues = [{ priority = 2 }]\n')

    # The reason is currently "no queue named None": reported as unclear, so not pinned here.
    assert (issue.source, issue.key) == (str(tmp_path / CONFIG_NAME), "agents[0].queues[0]")


@pytest.mark.parametrize("queue", ['["sales"]', '{ name = "sales" }'])
def test_membership_whose_queue_is_not_a_name_is_reported(tmp_path: Path, queue: str) -> None:
    text = ROUTED + f'[[agents]]\nusername = "alice"\nqueues = [{{ queue = {queue} }}]\n'

    issue = only_issue(tmp_path, text)

    assert (issue.source, issue.key) == (str(tmp_path / CONFIG_NAME), "agents[0].queues[0]")


def test_agent_queues_must_be_a_list(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, ROUTED + '[[agents]]\nusername = "alice"\nqueues = "support"\n')

    assert issue.key == "agents[0].queues"


@pytest.mark.parametrize("level", ["0", "11", '"high"'])
def test_agent_skill_level_outside_1_to_10_is_rejected(tmp_path: Path, level: str) -> None:
    issue = only_issue(tmp_path, ROUTED + f'[[agents]]\nusername = "alice"\nskills = {{ billing = {level} }}\n')

    shown = repr(tomllib.loads(f"v = {level}")["v"])
    assert issue == issue_in_file(
        tmp_path, "agents[0].skills.billing", f"a skill level is a whole number from 1 to 10, not {shown}"
    )


def test_agent_skills_in_the_old_list_form_are_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, ROUTED + '[[agents]]\nusername = "alice"\nskills = ["billing"]\n')

    assert issue == issue_in_file(tmp_path, "agents[0].skills", "must be a table of skill = level (1-10)")


def test_agent_capacity_for_an_unknown_channel_is_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, ROUTED + '[[agents]]\nusername = "alice"\ncapacity = { sms = 2, fax = 1 }\n')

    assert (issue.source, issue.key) == (str(tmp_path / CONFIG_NAME), "agents[0].capacity.fax")
    assert issue.reason.startswith("unknown channel")


@pytest.mark.parametrize(
    ("slots", "shown"), [("-1", "-1"), ("1.5", "1.5"), ('"2"', "'2'"), ("true", "True"), ("1000000", "1000000")]
)
def test_agent_capacity_must_be_a_whole_number_within_reason(tmp_path: Path, slots: str, shown: str) -> None:
    issue = only_issue(tmp_path, ROUTED + f'[[agents]]\nusername = "alice"\ncapacity = {{ sms = {slots} }}\n')

    assert issue == issue_in_file(
        tmp_path, "agents[0].capacity.sms", f"must be a whole number of at least 0 and at most 100, not {shown}"
    )


def test_agent_capacity_must_be_a_table(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, ROUTED + '[[agents]]\nusername = "alice"\ncapacity = 3\n')

    assert issue.key == "agents[0].capacity"
