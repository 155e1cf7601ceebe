"""The configuration loader: where settings come from (built-in defaults, then the file,
then the environment), which file, the shipped file, and unknown IC_ variables."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from interaction_center.domain.model import Channel, Role
from interaction_center.settings.loader import ConfigInvalid, ConfigIssue, config_path, load_settings
from interaction_center.settings.model import (
    EscalationSettings,
    QueueMembershipSettings,
    QueueSettings,
    SlaTarget,
)
from tests.settings.files import (
    MINIMAL,
    SHIPPED,
    issues_of,
    load,
    only_issue,
    write,
)

# --- the shipped file ----------------------------------------------------------------------


def test_shipped_config_loads_without_environment() -> None:
    loaded = load_settings(SHIPPED, environ={})

    assert loaded.skills == ("billing", "technical", "spanish")
    assert set(loaded.queues) == {"support", "sales"}
    assert loaded.channels.sms_queue == "support"
    assert loaded.twilio.auth_token == "demo-auth-token-not-secret"
    assert loaded.twilio.phone_number == "+15005550006"
    assert loaded.routing.offer_timeout_seconds == 30.0
    assert loaded.auth.token_ttl_seconds == 43200


def test_shipped_config_database_url_is_normalized_to_the_async_driver() -> None:
    loaded = load_settings(SHIPPED, environ={})

    assert loaded.database.url == "sqlite+aiosqlite:///var/interaction-center.db"


def test_shipped_config_queues_and_sla_targets() -> None:
    support = load_settings(SHIPPED, environ={}).queues["support"]

    assert support.channels == (Channel.SMS, Channel.EMAIL, Channel.CHAT, Channel.VOICE)
    assert support.sla[Channel.SMS] == SlaTarget(answer_seconds=300, first_response_seconds=900)
    assert support.sla[Channel.CHAT] == SlaTarget(answer_seconds=60, first_response_seconds=None)


def test_shipped_config_routing_settings() -> None:
    routing = load_settings(SHIPPED, environ={}).routing

    assert routing.max_missed_offers == 2
    assert routing.returning_customer_hours == 24.0
    assert routing.transfer_window_seconds == 60.0
    assert routing.offer_timeouts == {Channel.VOICE: 20.0, Channel.EMAIL: 120.0}


def test_shipped_config_queue_routing_policies() -> None:
    queues = load_settings(SHIPPED, environ={}).queues

    support, sales = queues["support"], queues["sales"]
    assert (support.strategy, support.priority, support.max_size) == ("longest_idle", 0, 500)
    assert (support.preferred_agent_seconds, support.wrap_up_seconds) == (30, 15)
    assert support.skills == {}
    assert support.escalation == (
        EscalationSettings(after_seconds=120, raise_priority=1),
        EscalationSettings(after_seconds=600, overflow_to="sales"),
    )
    assert (sales.strategy, sales.skills, sales.wrap_up_seconds) == ("most_skilled", {"billing": 3}, 10)
    assert (sales.max_size, sales.escalation) == (None, ())


def test_shipped_config_agent_roster() -> None:
    agents = {agent.username: agent for agent in load_settings(SHIPPED, environ={}).agents}

    assert set(agents) == {"alice", "bob", "sam", "ada"}
    assert agents["ada"].role == "admin"
    assert agents["alice"].queues == (
        QueueMembershipSettings("support", priority=1, delay_seconds=0),
        QueueMembershipSettings("sales", priority=2, delay_seconds=20),
    )
    assert agents["alice"].skills == {"billing": 7}
    assert agents["alice"].capacity == {Channel.SMS: 5, Channel.CHAT: 3}
    assert agents["bob"].skills == {"technical": 8}
    assert agents["bob"].capacity == {}
    assert agents["sam"].role is Role.SUPERVISOR
    assert agents["sam"].queues == ()


# --- layering: defaults, then the file, then the environment --------------------------------


def test_minimal_file_takes_every_other_value_from_the_builtin_defaults(tmp_path: Path) -> None:
    loaded = load(tmp_path, MINIMAL)

    assert (loaded.http.host, loaded.http.port, loaded.http.public_base_url) == ("127.0.0.1", 8080, "")
    assert (loaded.smtp.host, loaded.smtp.port) == ("127.0.0.1", 8025)
    assert loaded.database.url == "sqlite+aiosqlite:///var/interaction-center.db"
    assert loaded.redis.url == ""
    assert loaded.twilio.api_base_url == "https://api.twilio.com"
    assert loaded.twilio.default_region == "US"
    assert loaded.auth.token_ttl_seconds == 12 * 3600
    assert (loaded.routing.offer_timeout_seconds, loaded.routing.tick_seconds) == (20.0, 0.25)
    assert loaded.channels.sms_queue == "support"
    assert loaded.agents == ()
    assert (loaded.routing.max_missed_offers, loaded.routing.returning_customer_hours) == (2, 24.0)
    assert (loaded.routing.transfer_window_seconds, loaded.routing.offer_timeouts) == (60.0, {})
    assert loaded.queues["support"] == QueueSettings(
        "support",
        (Channel.SMS,),
        skills={},
        priority=0,
        strategy="longest_idle",
        sla={},
        escalation=(),
        max_size=None,
        preferred_agent_seconds=0.0,
        wrap_up_seconds=0.0,
    )


def test_file_values_override_builtin_defaults(tmp_path: Path) -> None:
    loaded = load(tmp_path, MINIMAL + '[http]\nhost = "0.0.0.0"\nport = 9000\n')

    assert (loaded.http.host, loaded.http.port) == ("0.0.0.0", 9000)


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    text = MINIMAL + '[http]\nport = 9000\n[database]\nurl = "sqlite:///from-file.db"\n'

    loaded = load(tmp_path, text, {"IC_HTTP_PORT": "9191", "IC_DATABASE_URL": "sqlite:///from-env.db"})

    assert loaded.http.port == 9191
    assert loaded.database.url == "sqlite+aiosqlite:///from-env.db"


def test_environment_overrides_a_default_the_file_does_not_mention(tmp_path: Path) -> None:
    loaded = load(tmp_path, MINIMAL, {"IC_SMTP_PORT": "2525"})

    assert loaded.smtp.port == 2525


@pytest.mark.parametrize(
    ("variable", "raw", "section", "key", "expected"),
    [
        ("IC_HTTP_HOST", "0.0.0.0", "http", "host", "0.0.0.0"),
        ("IC_HTTP_PUBLIC_BASE_URL", "https://ic.example.test", "http", "public_base_url", "https://ic.example.test"),
        ("IC_SMTP_HOST", "mail.local", "smtp", "host", "mail.local"),
        ("IC_TWILIO_PHONE_NUMBER", "+15550001111", "twilio", "phone_number", "+15550001111"),
        ("IC_TWILIO_API_BASE_URL", "http://127.0.0.1:9999", "twilio", "api_base_url", "http://127.0.0.1:9999"),
        ("IC_TWILIO_DEFAULT_REGION", "GB", "twilio", "default_region", "GB"),
        ("IC_AUTH_TOKEN_TTL_SECONDS", "60", "auth", "token_ttl_seconds", 60),
        ("IC_ROUTING_OFFER_TIMEOUT_SECONDS", "12.5", "routing", "offer_timeout_seconds", 12.5),
        ("IC_ROUTING_TICK_SECONDS", "1", "routing", "tick_seconds", 1.0),
        ("IC_ROUTING_MAX_MISSED_OFFERS", "5", "routing", "max_missed_offers", 5),
        ("IC_ROUTING_RETURNING_CUSTOMER_HOURS", "0.5", "routing", "returning_customer_hours", 0.5),
        ("IC_ROUTING_TRANSFER_WINDOW_SECONDS", "90", "routing", "transfer_window_seconds", 90.0),
    ],
)
def test_every_scalar_setting_has_an_ic_environment_variable(
    tmp_path: Path, variable: str, raw: str, section: str, key: str, expected: object
) -> None:
    loaded = load(tmp_path, MINIMAL, {variable: raw})

    value = getattr(getattr(loaded, section), key)
    assert value == expected
    assert type(value) is type(expected)


def test_environment_float_setting_is_a_float_even_when_written_as_a_whole_number(tmp_path: Path) -> None:
    loaded = load(tmp_path, MINIMAL, {"IC_ROUTING_OFFER_TIMEOUT_SECONDS": "5"})

    assert isinstance(loaded.routing.offer_timeout_seconds, float)


def test_twilio_variable_names_are_honoured(tmp_path: Path) -> None:
    environ = {"TWILIO_ACCOUNT_SID": "AC-from-twilio-var", "TWILIO_AUTH_TOKEN": "token-from-twilio-var"}

    loaded = load(tmp_path, MINIMAL, environ)

    assert loaded.twilio.account_sid == "AC-from-twilio-var"
    assert loaded.twilio.auth_token == "token-from-twilio-var"


def test_ic_variables_win_over_twilio_variables(tmp_path: Path) -> None:
    environ = {
        "TWILIO_ACCOUNT_SID": "AC-twilio",
        "IC_TWILIO_ACCOUNT_SID": "AC-ic",
        "TWILIO_AUTH_TOKEN": "token-twilio",
        "IC_TWILIO_AUTH_TOKEN": "token-ic",
    }

    loaded = load(tmp_path, MINIMAL, environ)

    assert loaded.twilio.account_sid == "AC-ic"
    assert loaded.twilio.auth_token == "token-ic"


def test_twilio_auth_token_from_environment_satisfies_a_file_without_one(tmp_path: Path) -> None:
    loaded = load(tmp_path, '[queues.support]\nchannels = ["sms"]\n', {"TWILIO_AUTH_TOKEN": "secret"})

    assert loaded.twilio.auth_token == "secret"


def test_auth_token_is_not_shown_in_the_settings_repr(tmp_path: Path) -> None:
    loaded = load(tmp_path, MINIMAL)

    assert "file-token" not in repr(loaded)


def test_load_settings_reads_os_environ_when_no_mapping_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith(("IC_", "TWILIO_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("IC_HTTP_PORT", "7070")

    loaded = load_settings(write(tmp_path, MINIMAL))

    assert loaded.http.port == 7070


def test_explicit_empty_environ_ignores_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IC_HTTP_PORT", "not-a-number")

    loaded = load(tmp_path, MINIMAL, {})

    assert loaded.http.port == 8080


# --- unknown IC_ variables -------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
# How the repository reads a variable: environ.get("IC_..."), environ["IC_..."],
# getenv("IC_..."), and in shell export IC_... or $IC_...
_READS = re.compile(
    r"""(?:environ(?:\.get\(|\[)|getenv\()\s*["'](IC_[A-Z0-9_]+)|export (IC_[A-Z0-9_]+)|\$\{?(IC_[A-Z0-9_]+)"""
)


def _variables_the_repository_reads() -> set[str]:
    found: set[str] = set()
    tops = [top for top in ROOT.iterdir() if top.name not in {".venv", ".git", "var"} and "cache" not in top.name]
    for path in [*tops, *(path for top in tops if top.is_dir() for path in top.rglob("*"))]:
        script = path.parent.name in {".ci", "scripts"} or path.name == "Makefile"
        if path.is_file() and (path.suffix in {".py", ".md", ".toml"} or script):
            found.update(name for match in _READS.findall(path.read_text(errors="replace")) for name in match if name)
    return found


def test_a_misspelt_ic_variable_is_reported_with_the_close_match(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL, {"IC_HTTP_PROT": "9000"})

    assert issue == ConfigIssue(
        "environment",
        "IC_HTTP_PROT",
        "unknown variable; did you mean IC_HTTP_PORT? (the known ones: IC_<SECTION>_<KEY> for the keys of [http],"
        " [smtp], [database], [redis], [twilio], [auth], [routing], [voice], [demo] in README.md's Configuration,"
        " and IC_CONFIG, IC_REQUIRE_SERVICES, IC_SCREENSHOTS)",
    )


def test_an_unknown_ic_variable_without_a_close_match_lists_the_known_ones(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL, {"IC_QUEUE": "support"})

    assert (issue.source, issue.key) == ("environment", "IC_QUEUE")
    assert issue.reason.startswith("unknown variable; the known ones: IC_HTTP_HOST, IC_HTTP_PORT, ")
    for name in ("IC_SMTP_RELAY_PASSWORD", "IC_ROUTING_TRANSFER_WINDOW_SECONDS", "IC_CONFIG", "IC_REQUIRE_SERVICES"):
        assert name in issue.reason


def test_every_unknown_ic_variable_is_reported_beside_the_other_problems(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, MINIMAL, {"IC_HTTP_PROT": "1", "IC_SMTP_HOSTNAME": "x", "IC_HTTP_PORT": "x"})

    assert [(issue.source, issue.key) for issue in issues] == [
        ("environment", "IC_HTTP_PROT"),
        ("environment", "IC_SMTP_HOSTNAME"),
        ("environment IC_HTTP_PORT", "http.port"),
    ]


def test_variables_outside_the_ic_prefix_are_left_alone(tmp_path: Path) -> None:
    loaded = load(tmp_path, MINIMAL, {"TWILIO_REGION": "au1", "ic_http_prot": "1", "PATH": "/bin"})

    assert loaded.http.port == 8080


def test_every_ic_variable_the_repository_reads_is_accepted(tmp_path: Path) -> None:
    read = _variables_the_repository_reads()
    # The scan finds what it is meant to (so an empty result cannot pass).
    assert {"IC_CONFIG", "IC_REQUIRE_SERVICES", "IC_DATABASE_URL", "IC_REDIS_URL"} <= read

    for name in sorted(read):
        try:
            load(tmp_path, MINIMAL, {name: ""})
        except ConfigInvalid as exc:
            assert name not in [issue.key for issue in exc.issues], exc.issues


# --- choosing the file ---------------------------------------------------------------------


def test_config_path_prefers_the_explicit_argument() -> None:
    assert config_path("given.toml", {"IC_CONFIG": "env.toml"}) == Path("given.toml")


def test_config_path_falls_back_to_ic_config() -> None:
    assert config_path(None, {"IC_CONFIG": "env.toml"}) == Path("env.toml")


def test_config_path_uses_the_default_file_when_it_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "interaction-center.toml").write_text(MINIMAL)

    assert config_path(None, {}) == Path("config/interaction-center.toml")


def test_config_path_is_none_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert config_path(None, {}) is None


def test_no_file_reports_what_the_builtin_defaults_lack() -> None:
    with pytest.raises(ConfigInvalid) as caught:
        load_settings(None, environ={})

    issues = caught.value.issues
    assert {issue.source for issue in issues} == {"<defaults>"}
    assert {issue.key for issue in issues} == {"twilio.auth_token", "queues", "channels.sms.queue"}
