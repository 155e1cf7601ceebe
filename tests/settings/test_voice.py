"""The voice configuration: [voice] and its flows directory, [queues.NAME.hours] and
[queues.NAME.voice]; every problem names the file (a flow's own), the key and the reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from channels.voice.settings import DEFAULT_HOLD_MUSIC, QueueVoiceSettings, VoiceSettings
from interaction_center.settings.loader import ConfigIssue, load_settings
from ivr.flow import Flows, QueueNode
from tests.settings.files import CONFIG_NAME, MINIMAL, SHIPPED, issue_in_file, issues_of, load, only_issue

DEMO_FLOW = SHIPPED.parent / "flows" / "main.toml"
VOICE = 'skills = ["billing"]\n' + MINIMAL.replace('channels = ["sms"]', 'channels = ["sms", "voice"]')
FLOW = """
numbers = ["+15005550001"]
start = "hello"
[prompts]
hello = "Hello."
[nodes.hello]
type = "say"
prompts = ["hello"]
next = "queue"
[nodes.queue]
type = "queue"
queue = "support"
"""


def with_flows(tmp_path: Path, **flows: str) -> Path:
    directory = tmp_path / "flows"
    directory.mkdir(exist_ok=True)
    for name, text in flows.items():
        (directory / f"{name}.toml").write_text(text, encoding="utf-8")
    return directory


def test_the_shipped_configuration_answers_the_demo_number_with_the_demo_flow() -> None:
    loaded = load_settings(SHIPPED, environ={})

    voice = loaded.voice
    main = voice.flows.for_number("+15005550006")
    assert main is not None and main.name == "main" and main.source == str(DEMO_FLOW)
    assert voice.flows.default == "main" == voice.default_flow
    assert (voice.ring_timeout_seconds, voice.callback_attempts, voice.callback_retry_seconds) == (20, 3, 120)
    assert (voice.hold_music, voice.voicemail_max_seconds) == (DEFAULT_HOLD_MUSIC, 120)
    support, sales = loaded.queues["support"], loaded.queues["sales"]
    # The demo answers at any hour (its hours table is there, commented, to try).
    assert support.hours is None
    assert (support.voice.max_wait_seconds, support.voice.callback_above_seconds) == (900, 300)
    assert sales.hours is None
    assert (sales.voice.max_wait_queue, sales.voice.announce_every_seconds) == ("support", 30)


def test_without_a_voice_section_or_flows_directory_there_is_no_voice(tmp_path: Path) -> None:
    loaded = load(tmp_path, MINIMAL)

    assert loaded.voice == VoiceSettings()
    assert loaded.voice.flows == Flows()
    assert loaded.queues["support"].hours is None
    assert loaded.queues["support"].voice == QueueVoiceSettings()


def test_flows_are_read_from_the_directory_beside_the_file_and_named_by_their_files(tmp_path: Path) -> None:
    with_flows(tmp_path, main=FLOW, other=FLOW.replace("+15005550001", "+15005550002"))

    loaded = load(tmp_path, VOICE + '[voice]\ndefault_flow = "main"\n')

    assert set(loaded.voice.flows.flows) == {"main", "other"}
    other = loaded.voice.flows.for_number("+15005550002")
    assert other is not None and other.name == "other"
    assert other.nodes["queue"] == QueueNode("queue", "support")


def test_the_flows_directory_may_be_named_and_the_scalars_set_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "ivr").mkdir()
    (tmp_path / "ivr" / "front.toml").write_text(FLOW)
    environ = {"IC_VOICE_DEFAULT_FLOW": "front", "IC_VOICE_RING_TIMEOUT_SECONDS": "35"}

    loaded = load(tmp_path, VOICE + '[voice]\nflows = "ivr"\nvoicemail_max_seconds = 60\n', environ)

    assert loaded.voice.flows.default == "front"
    assert (loaded.voice.ring_timeout_seconds, loaded.voice.voicemail_max_seconds) == (35, 60)


def test_a_broken_flow_is_reported_against_its_own_file_naming_flow_node_and_reason(tmp_path: Path) -> None:
    flows = with_flows(tmp_path, main=FLOW.replace('next = "queue"', 'next = "queu"'))

    issue = only_issue(tmp_path, VOICE)

    assert issue == ConfigIssue(str(flows / "main.toml"), "flows.main.nodes.hello.next", "names no node 'queu'")


@pytest.mark.parametrize(
    ("flow", "key", "reason"),
    [
        (
            FLOW.replace('queue = "support"', 'queue = "sales"'),
            "flows.main.nodes.queue.queue",
            "no queue named 'sales'",
        ),
        (
            FLOW + "skills = { billing = 2, plumbing = 1 }\n",
            "flows.main.nodes.queue.skills.plumbing",
            "not declared in the top-level skills list",
        ),
        (
            FLOW.replace('["hello"]', '["hullo"]'),
            "flows.main.nodes.hello.prompts",
            "no prompt named 'hullo' in [prompts]",
        ),
        (FLOW + '[nodes.lost]\ntype = "hangup"\n', "flows.main.nodes.lost", "unreachable from the start node 'hello'"),
        (
            FLOW.replace('next = "queue"', 'next = "hello"'),
            "flows.main.nodes.hello",
            "a loop with no caller input: hello → hello",
        ),
        (
            FLOW.replace("+15005550001", "15005550001"),
            "flows.main.numbers",
            "'15005550001' is not an E.164 number (+, country code and number: +15005550006)",
        ),
        ("start = [", "-", "not valid TOML: "),
    ],
)
def test_each_flow_problem_names_the_flow_file(tmp_path: Path, flow: str, key: str, reason: str) -> None:
    flows = with_flows(tmp_path, main=flow)

    issue = only_issue(tmp_path, VOICE)

    assert (issue.source, issue.key) == (str(flows / "main.toml"), key)
    assert issue.reason.startswith(reason)


def test_a_queue_that_does_not_take_calls_cannot_be_a_flows_target(tmp_path: Path) -> None:
    with_flows(tmp_path, main=FLOW)

    issue = only_issue(tmp_path, MINIMAL)

    assert (issue.key, issue.reason) == ("flows.main.nodes.queue.queue", "queue 'support' does not accept voice")


def test_a_number_two_flows_list_is_refused(tmp_path: Path) -> None:
    flows = with_flows(tmp_path, a=FLOW, b=FLOW)

    issue = only_issue(tmp_path, VOICE)

    assert issue == ConfigIssue(str(flows / "b.toml"), "flows.b.numbers", "+15005550001 is listed by flow 'a' too")


def test_a_default_flow_that_is_not_there_and_a_missing_directory_are_refused(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, VOICE + '[voice]\nflows = "nowhere"\ndefault_flow = "main"\n')

    assert [(issue.key, issue.reason) for issue in issues] == [
        ("voice.flows", f"{tmp_path / 'nowhere'}: no such directory"),
        ("voice.default_flow", "no flow named 'main' (a file main.toml in the flows directory)"),
    ]


def test_the_demo_flow_copied_beside_another_configuration_needs_its_queues(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    shutil.copy(DEMO_FLOW, flows / "main.toml")

    issues = issues_of(tmp_path, VOICE)

    assert {(issue.source, issue.key) for issue in issues} == {
        (str(flows / "main.toml"), "flows.main.nodes.sales.queue"),
    }


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("[voice]\nring_timeout_seconds = 0\n", "voice.ring_timeout_seconds", "must be at least 1"),
        ('[voice]\nhold_music = "music.mp3"\n', "voice.hold_music", "must be an http:// or https:// URL"),
        ("[voice]\nflows = 3\n", "voice.flows", "must be a directory's path, not 3"),
        ("[voice]\nvoicemail = 3\n", "voice.voicemail", "unknown key"),
        (
            '[queues.support.voice]\nmax_wait_branch = "queue:nowhere"\n',
            "queues.support.voice.max_wait_branch",
            "no queue named 'nowhere'",
        ),
        (
            '[queues.support.voice]\nmax_wait_branch = "hang up"\n',
            "queues.support.voice.max_wait_branch",
            "must be voicemail, callback or \"queue:NAME\", not 'hang up'",
        ),
        (
            '[queues.support.voice]\ncallback_key = "12"\n',
            "queues.support.voice.callback_key",
            "must be one key: 0-9, * or #, not '12'",
        ),
        ("[queues.support.voice]\nrecord = 1\n", "queues.support.voice.record", "must be true or false, not 1"),
        (
            "[queues.support.voice]\nposition_limit = 0\n",
            "queues.support.voice.position_limit",
            "must be at least 1, not 0",
        ),
        (
            "[queues.support.voice]\nestimate_samples = 10\nestimate_window = 5\n",
            "queues.support.voice.estimate_window",
            "must be at least estimate_samples (10)",
        ),
        ("[queues.support.voice]\nannounce = 5\n", "queues.support.voice.announce", "unknown key (known: "),
        (
            '[queues.support.hours]\ntime_zone = "Europe/Londres"\n',
            "queues.support.hours.time_zone",
            "unknown time zone 'Europe/Londres' (an IANA name such as Europe/London)",
        ),
        (
            '[queues.support.hours]\ntime_zone = "UTC"\nmonday = "9 to 5"\n',
            "queues.support.hours.monday",
            "'9 to 5' is not an interval HH:MM-HH:MM",
        ),
        ('hours = "9-5"\n', "queues.support.hours", "must be a table with time_zone"),
    ],
)
def test_each_voice_setting_problem_names_its_key(tmp_path: Path, text: str, key: str, reason: str) -> None:
    issue = only_issue(tmp_path, VOICE + text)

    assert (issue.source, issue.key) == (str(tmp_path / CONFIG_NAME), key)
    assert issue.reason.startswith(reason)


def test_a_wait_branch_to_a_queue_that_does_not_take_calls_is_refused(tmp_path: Path) -> None:
    text = VOICE + '[queues.support.voice]\nmax_wait_branch = "queue:email"\n[queues.email]\nchannels = ["email"]\n'

    assert only_issue(tmp_path, text) == issue_in_file(
        tmp_path, "queues.support.voice.max_wait_branch", "queue 'email' does not accept voice"
    )


def test_a_queue_with_voice_settings_but_no_calls_is_fine(tmp_path: Path) -> None:
    loaded = load(tmp_path, MINIMAL + "[queues.support.voice]\nrecord = true\n")

    assert loaded.queues["support"].voice.record is True


def test_a_bad_voice_variable_is_blamed_on_the_environment(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL, {"IC_VOICE_CALLBACK_ATTEMPTS": "-1"})

    assert issue == ConfigIssue(
        "environment IC_VOICE_CALLBACK_ATTEMPTS", "voice.callback_attempts", "must be 0 or more"
    )
