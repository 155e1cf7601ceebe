"""The configuration loader: strict casting, unknown keys, NaN and infinity, the file
itself, how every problem is reported, and the defects found while writing these tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from interaction_center.domain.errors import ConfigError
from interaction_center.settings.loader import ConfigInvalid, ConfigIssue, load_settings
from tests.settings.files import (
    CONFIG_NAME,
    MINIMAL,
    ROUTED,
    issues_of,
    load,
    only_issue,
    write,
)

# --- strict casting ------------------------------------------------------------------------


def test_non_numeric_port_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL, {"IC_HTTP_PORT": "abc"})

    assert issue.source == "environment IC_HTTP_PORT"
    assert issue.key == "http.port"
    assert "whole number" in issue.reason
    assert "'abc'" in issue.reason
    assert str(issue) == "environment IC_HTTP_PORT: http.port: must be a whole number, not 'abc'"


@pytest.mark.parametrize("raw", ["10s", "8080.0", "", "true", "0x50", "eighty"])
def test_environment_int_must_parse_completely(tmp_path: Path, raw: str) -> None:
    issue = only_issue(tmp_path, MINIMAL, {"IC_SMTP_PORT": raw})

    assert (issue.source, issue.key) == ("environment IC_SMTP_PORT", "smtp.port")


@pytest.mark.parametrize("raw", ["fast", "", "1,5", "0.5s"])
def test_environment_float_must_parse_completely(tmp_path: Path, raw: str) -> None:
    issue = only_issue(tmp_path, MINIMAL, {"IC_ROUTING_TICK_SECONDS": raw})

    assert (issue.source, issue.key) == ("environment IC_ROUTING_TICK_SECONDS", "routing.tick_seconds")
    assert "must be a number" in issue.reason


def test_toml_string_where_a_whole_number_is_expected_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + '[http]\nport = "8080"\n')

    with pytest.raises(ConfigInvalid) as caught:
        load_settings(path, environ={})

    assert caught.value.issues == [ConfigIssue(str(path), "http.port", "must be a whole number, not '8080'")]


def test_toml_bool_is_not_a_whole_number(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "[http]\nport = true\n")

    assert issue.key == "http.port"
    assert "whole number" in issue.reason


def test_toml_float_is_not_a_whole_number(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "[auth]\ntoken_ttl_seconds = 3600.0\n")

    assert issue.key == "auth.token_ttl_seconds"


def test_toml_bool_is_not_a_number(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "[routing]\ntick_seconds = false\n")

    assert (issue.key, issue.reason) == ("routing.tick_seconds", "must be a number, not False")


def test_toml_whole_number_is_accepted_where_a_float_is_expected(tmp_path: Path) -> None:
    loaded = load(tmp_path, MINIMAL + "[routing]\noffer_timeout_seconds = 30\n")

    assert loaded.routing.offer_timeout_seconds == 30.0
    assert isinstance(loaded.routing.offer_timeout_seconds, float)


def test_toml_number_is_not_a_string(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "[smtp]\nhost = 127\n")

    assert (issue.key, issue.reason) == ("smtp.host", "must be a string, not 127")


def test_section_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, "http = 8080\n" + MINIMAL)

    assert (issue.key, issue.reason) == ("http", "must be a table")


# --- how problems are reported -------------------------------------------------------------


def test_config_issue_renders_as_source_key_reason() -> None:
    assert str(ConfigIssue("a.toml", "http.port", "bad")) == "a.toml: http.port: bad"


def test_config_invalid_is_a_config_error_listing_every_issue() -> None:
    issues = [ConfigIssue("a.toml", "http.port", "bad"), ConfigIssue("environment IC_X", "x.y", "worse")]

    error = ConfigInvalid(issues)

    assert isinstance(error, ConfigError)
    assert error.code == "config.invalid"
    assert error.issues == issues
    assert "a.toml: http.port: bad" in error.message
    assert "environment IC_X: x.y: worse" in error.message


def test_every_issue_in_the_file_names_the_file_a_key_and_a_reason(tmp_path: Path) -> None:
    path = write(tmp_path, 'colour = "blue"\n[http]\nport = "x"\n[queues.support]\nchannels = ["fax"]\n')

    with pytest.raises(ConfigInvalid) as caught:
        load_settings(path, environ={})

    assert caught.value.issues
    for issue in caught.value.issues:
        assert issue.source == str(path)
        assert issue.key
        assert issue.reason


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = """
colour = "blue"
skills = ["billing"]

[http]
port = "eighty"

[database]
url = "mysql://db/ic"

[queues.support]
channels = ["sms", "fax"]

[[agents]]
username = "alice"
queues = ["nowhere"]
"""
    path = write(tmp_path, text)

    with pytest.raises(ConfigInvalid) as caught:
        load_settings(path, environ={"IC_SMTP_PORT": "x"})

    found = {(issue.source, issue.key) for issue in caught.value.issues}
    file = str(path)
    assert found == {
        (file, "colour"),
        (file, "http.port"),
        ("environment IC_SMTP_PORT", "smtp.port"),
        (file, "queues.support.channels"),
        (file, "agents[0].queues[0]"),
        (file, "database.url"),
        (file, "twilio.auth_token"),
    }


# --- unknown keys --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('[http]\nhots = "0.0.0.0"\n', "http.hots"),
        ("[smtp]\ntls = true\n", "smtp.tls"),
        ("[routing]\npriority = 1\n", "routing.priority"),
        ('[channels.fax]\nqueue = "support"\n', "channels.fax"),
        ("[queues.support.extra]\npriority = 1\n", "queues.support.extra"),
        ('[[agents]]\nusername = "alice"\nemail = "a@example.test"\n', "agents[0].email"),
    ],
)
def test_unknown_keys_are_rejected(tmp_path: Path, extra: str, key: str) -> None:
    issue = only_issue(tmp_path, MINIMAL + extra)

    assert issue.key == key


def test_unknown_top_level_key_is_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, 'colour = "blue"\n' + MINIMAL)

    assert (issue.key, issue.reason) == ("colour", "unknown key")


def test_channels_sms_accepts_only_a_queue_name(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + '[channels.sms]\nqueue = "support"\nfallback = "sales"\n')

    assert (issue.key, issue.reason) == ("channels.sms", "must be a table with a queue name")


_CHAT = ROUTED + '[channels.chat]\nqueue = "sales"\n'


def test_chat_allowed_origins_are_kept_as_written(tmp_path: Path) -> None:
    text = _CHAT + 'allowed_origins = ["https://shop.example", "http://127.0.0.1:8000", "http://[::1]:8080"]\n'
    settings = load(tmp_path, text)

    assert settings.channels.chat_allowed_origins == (
        "https://shop.example",
        "http://127.0.0.1:8000",
        "http://[::1]:8080",
    )
    assert load(tmp_path, _CHAT).channels.chat_allowed_origins == ()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('"https://shop.example"', "must be a list of origins"),
        ('["https://shop.example/"]', "not an origin"),
        ('["https://shop.example/chat"]', "not an origin"),
        ('["shop.example"]', "not an origin"),
        ('["https://Shop.example"]', "not an origin"),
        ('["*"]', "not an origin"),
        ('["https://a.example; script-src *"]', "not an origin"),
        ("[1]", "not an origin"),
    ],
)
def test_a_chat_allowed_origin_that_is_no_origin_is_named(tmp_path: Path, value: str, reason: str) -> None:
    # Each would be compared with browsers' Origin headers, which it never equals, or would
    # break out of the frame's Content-Security-Policy.
    issue = only_issue(tmp_path, _CHAT + f"allowed_origins = {value}\n")

    assert issue.key == "channels.chat.allowed_origins" and issue.reason.startswith(reason)


# --- NaN and infinity ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize(
    ("template", "key"),
    [
        ("[routing]\noffer_timeout_seconds = {}", "routing.offer_timeout_seconds"),
        ("[routing]\ntick_seconds = {}", "routing.tick_seconds"),
        ("[routing]\ntransfer_window_seconds = {}", "routing.transfer_window_seconds"),
        ("[routing]\nhold_return_seconds = {}", "routing.hold_return_seconds"),
        ("[routing]\nshort_abandon_seconds = {}", "routing.short_abandon_seconds"),
        ("[routing]\nreturning_customer_hours = {}", "routing.returning_customer_hours"),
        ("[routing.offer_timeouts]\nchat = {}", "routing.offer_timeouts.chat"),
        ("preferred_agent_seconds = {}", "queues.support.preferred_agent_seconds"),
        ("wrap_up_seconds = {}", "queues.support.wrap_up_seconds"),
        ("max_size = {}", "queues.support.max_size"),
        ("priority = {}", "queues.support.priority"),
        ("[queues.support.skills]\nbilling = {}", "queues.support.skills.billing"),
        (
            "[[queues.support.escalation]]\nafter_seconds = {}\nraise_priority = 1",
            "queues.support.escalation[0].after_seconds",
        ),
        (
            '[[agents]]\nusername = "a"\nqueues = [{{ queue = "support", delay_seconds = {} }}]',
            "agents[0].queues[0].delay_seconds",
        ),
        (
            '[[agents]]\nusername = "a"\nqueues = [{{ queue = "support", priority = {} }}]',
            "agents[0].queues[0].priority",
        ),
        ('[[agents]]\nusername = "a"\nskills = {{ billing = {} }}', "agents[0].skills.billing"),
        ('[[agents]]\nusername = "a"\ncapacity = {{ sms = {} }}', "agents[0].capacity.sms"),
    ],
)
def test_nan_and_infinite_numbers_are_rejected(tmp_path: Path, template: str, key: str, value: str) -> None:
    issues = issues_of(tmp_path, 'skills = ["billing"]\n' + MINIMAL + template.format(value) + "\n")

    # A set, so a key reported twice still passes here: reporting a bad number once is what
    # test_negative_or_non_numeric_offer_timeout_is_reported_once checks (for offer timeouts).
    assert {(issue.source, issue.key) for issue in issues} == {(str(tmp_path / CONFIG_NAME), key)}
    assert all(issue.reason for issue in issues)


@pytest.mark.parametrize(
    "variable", ["IC_ROUTING_TRANSFER_WINDOW_SECONDS", "IC_ROUTING_RETURNING_CUSTOMER_HOURS", "IC_ROUTING_TICK_SECONDS"]
)
@pytest.mark.parametrize("raw", ["nan", "inf", "1e999"])
def test_nan_and_infinite_routing_numbers_from_the_environment_are_rejected(
    tmp_path: Path, variable: str, raw: str
) -> None:
    issue = only_issue(tmp_path, MINIMAL, {variable: raw})

    assert issue.source == f"environment {variable}"
    assert issue.key == "routing." + variable.removeprefix("IC_ROUTING_").lower()


def test_queue_seconds_written_as_whole_numbers_load_as_floats(tmp_path: Path) -> None:
    support = load(tmp_path, MINIMAL + "preferred_agent_seconds = 30\nwrap_up_seconds = 15\n").queues["support"]

    assert type(support.preferred_agent_seconds) is float
    assert type(support.wrap_up_seconds) is float


# --- the file itself -----------------------------------------------------------------------


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[http\nport = 8080\n")

    with pytest.raises(ConfigInvalid) as caught:
        load_settings(path, environ={})

    syntax = [issue for issue in caught.value.issues if issue.key == "-"]
    assert len(syntax) == 1
    assert syntax[0].source == str(path)
    assert syntax[0].reason.startswith("not valid TOML")


def test_missing_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"

    with pytest.raises(ConfigInvalid) as caught:
        load_settings(path, environ={})

    assert ConfigIssue(str(path), "-", "file not found") in caught.value.issues


def test_unreadable_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        load_settings(tmp_path, environ={})

    assert any(issue.key == "-" and issue.reason.startswith("cannot be read") for issue in caught.value.issues)


# --- defects found while writing these tests (see the reasons) -----------------------------


def test_file_that_is_not_utf8_is_reported_as_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(MINIMAL.encode() + '[http]\nhost = "café"\n'.encode("latin-1"))

    with pytest.raises(ConfigInvalid) as caught:
        load_settings(path, environ={})

    assert caught.value.issues[0].key == "-"


def test_pathologically_nested_file_is_reported_as_an_issue(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid):
        load(tmp_path, "x = " + "[" * 5000 + "]" * 5000 + "\n")


def test_nan_routing_interval_in_the_file_is_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "[routing]\ntick_seconds = nan\n")

    assert issue.key == "routing.tick_seconds"


def test_nan_routing_interval_in_the_environment_is_rejected(tmp_path: Path) -> None:
    issues_of(tmp_path, MINIMAL, {"IC_ROUTING_OFFER_TIMEOUT_SECONDS": "nan"})


def test_out_of_range_port_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL, {"IC_HTTP_PORT": "70000"})

    assert issue.source == "environment IC_HTTP_PORT"


def test_bad_database_url_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL, {"IC_DATABASE_URL": "mysql://db/ic"})

    assert issue.source == "environment IC_DATABASE_URL"


def test_the_centres_time_zone_is_an_iana_name(tmp_path: Path) -> None:
    assert load(tmp_path, MINIMAL + '[routing]\ntime_zone = "Europe/London"\n').routing.time_zone == "Europe/London"
    assert load(tmp_path, MINIMAL).routing.time_zone == "UTC"
    [issue] = issues_of(tmp_path, MINIMAL + '[routing]\ntime_zone = "Mars/Olympus"\n')
    assert (issue.key, issue.reason) == ("routing.time_zone", "unknown time zone 'Mars/Olympus' (an IANA name)")
