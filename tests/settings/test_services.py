"""The configuration loader: routing, channels, Twilio, email, the database and the other
URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from interaction_center.domain.model import Channel
from interaction_center.settings.loader import ConfigIssue
from tests.settings.files import (
    CONFIG_NAME,
    MINIMAL,
    issue_in_file,
    load,
    only_issue,
)

# --- routing -------------------------------------------------------------------------------


def test_every_routing_key_loads_into_its_setting(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """
[routing]
max_missed_offers = 4
returning_customer_hours = 0
transfer_window_seconds = 45

[routing.offer_timeouts]
sms = 15
chat = 7.5
"""
    )

    routing = load(tmp_path, text).routing

    assert (routing.max_missed_offers, routing.returning_customer_hours, routing.transfer_window_seconds) == (
        4,
        0.0,
        45.0,
    )
    assert routing.offer_timeouts == {Channel.SMS: 15.0, Channel.CHAT: 7.5}
    assert all(type(seconds) is float for seconds in routing.offer_timeouts.values())


@pytest.mark.parametrize("seconds", ["0", "0.0"])
def test_offer_timeout_of_zero_is_rejected(tmp_path: Path, seconds: str) -> None:
    issue = only_issue(tmp_path, MINIMAL + f"[routing.offer_timeouts]\nsms = {seconds}\n")

    assert issue == issue_in_file(tmp_path, "routing.offer_timeouts.sms", f"must be a number above 0, not {seconds}")


@pytest.mark.parametrize(("seconds", "shown"), [("-5", "-5"), ('"20"', "'20'"), ("true", "True")])
def test_negative_or_non_numeric_offer_timeout_is_reported_once(tmp_path: Path, seconds: str, shown: str) -> None:
    issue = only_issue(tmp_path, MINIMAL + f"[routing.offer_timeouts]\nsms = {seconds}\n")

    assert issue == issue_in_file(tmp_path, "routing.offer_timeouts.sms", f"must be a number above 0, not {shown}")


def test_offer_timeout_for_an_unknown_channel_is_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "[routing.offer_timeouts]\nfax = 10\n")

    assert (issue.source, issue.key) == (str(tmp_path / CONFIG_NAME), "routing.offer_timeouts.fax")
    assert issue.reason.startswith("unknown channel")


def test_offer_timeouts_must_be_a_table(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "[routing]\noffer_timeouts = 10\n")

    assert issue == issue_in_file(tmp_path, "routing.offer_timeouts", "must be a table of channel = number")


def test_max_missed_offers_of_zero_is_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "[routing]\nmax_missed_offers = 0\n")

    assert issue == issue_in_file(tmp_path, "routing.max_missed_offers", "must be at least 1")


def test_max_missed_offers_of_zero_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL, {"IC_ROUTING_MAX_MISSED_OFFERS": "0"})

    assert issue == ConfigIssue(
        "environment IC_ROUTING_MAX_MISSED_OFFERS", "routing.max_missed_offers", "must be at least 1"
    )


def test_negative_returning_customer_hours_is_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "[routing]\nreturning_customer_hours = -1\n")

    assert issue == issue_in_file(
        tmp_path, "routing.returning_customer_hours", "must be a finite number of hours, 0 or more"
    )


# --- channels ------------------------------------------------------------------------------


def test_sms_queue_naming_a_missing_queue_is_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + '[channels.sms]\nqueue = "sales"\n')

    assert (issue.key, issue.reason) == ("channels.sms.queue", "no queue named 'sales'")


def test_default_sms_queue_must_exist(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, '[twilio]\nauth_token = "t"\n[queues.sales]\nchannels = ["sms"]\n')

    assert (issue.key, issue.reason) == ("channels.sms.queue", "no queue named 'support'")


def test_sms_queue_must_accept_sms(tmp_path: Path) -> None:
    text = MINIMAL + '[queues.mail]\nchannels = ["email"]\n[channels.sms]\nqueue = "mail"\n'

    issue = only_issue(tmp_path, text)

    assert (issue.key, issue.reason) == ("channels.sms.queue", "queue 'mail' does not accept sms")


# --- twilio --------------------------------------------------------------------------------


def test_missing_twilio_auth_token_is_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, '[queues.support]\nchannels = ["sms"]\n')

    assert issue.key == "twilio.auth_token"
    assert "TWILIO_AUTH_TOKEN" in issue.reason


def test_empty_ic_auth_token_overrides_the_file_and_is_rejected(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL, {"IC_TWILIO_AUTH_TOKEN": ""})

    assert issue.key == "twilio.auth_token"


def test_twilio_api_base_url_must_be_http(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL, {"IC_TWILIO_API_BASE_URL": "ftp://api.twilio.com"})

    assert issue.key == "twilio.api_base_url"


# --- email -----------------------------------------------------------------------------------


def test_email_settings_load_from_the_file_and_the_environment(tmp_path: Path) -> None:
    text = MINIMAL.replace('["sms"]', '["sms", "email"]') + (
        '[smtp]\ndomains = ["Example.com", "help@example.org"]\nrelay_host = "127.0.0.1"\n'
        'from_address = "support@example.com"\n[channels.email]\nqueue = "support"\n'
    )

    loaded = load(tmp_path, text, {"IC_SMTP_ACKNOWLEDGE": "true", "IC_SMTP_MAX_MESSAGE_BYTES": "2048"})

    assert loaded.smtp.domains == ("example.com", "help@example.org")
    assert (loaded.smtp.relay_host, loaded.smtp.relay_port, loaded.smtp.acknowledge) == ("127.0.0.1", 25, True)
    assert (loaded.smtp.max_message_bytes, loaded.channels.email_queue) == (2048, "support")
    assert load(tmp_path, text, {"IC_SMTP_DOMAINS": "a.test, b@c.test"}).smtp.domains == ("a.test", "b@c.test")


@pytest.mark.parametrize(
    ("extra", "environ", "key", "reason"),
    [
        ('[smtp]\ndomains = "example.com"\n', {}, "smtp.domains", "must be a list of strings, not 'example.com'"),
        (
            '[smtp]\ndomains = ["exa mple.com"]\n[queues.mail]\nchannels = ["email"]\n'
            '[channels.email]\nqueue = "mail"\n',
            {},
            "smtp.domains",
            "'exa mple.com' is neither a domain nor an email address",
        ),
        ("[smtp]\nmax_message_bytes = 0\n", {}, "smtp.max_message_bytes", "must be above 0"),
        (
            '[smtp]\nrelay_host = "relay.test"\n',
            {},
            "smtp.from_address",
            "required with smtp.relay_host: our mail is sent from it",
        ),
        (
            "[smtp]\nacknowledge = true\n",
            {},
            "smtp.acknowledge",
            "needs smtp.relay_host to send acknowledgements through",
        ),
        ("", {"IC_SMTP_ACKNOWLEDGE": "yes"}, "smtp.acknowledge", "must be true or false, not 'yes'"),
        ('[smtp]\ndomains = ["example.com"]\n', {}, "channels.email.queue", "queue 'support' does not accept email"),
    ],
)
def test_bad_email_settings_are_reported(
    tmp_path: Path, extra: str, environ: dict[str, str], key: str, reason: str
) -> None:
    issue = only_issue(tmp_path, MINIMAL + extra, environ)

    assert (issue.key, issue.reason) == (key, reason)


RELAY = '[smtp]\nrelay_host = "smtp.example.net"\nrelay_port = 587\nfrom_address = "support@example.com"\n'


def test_relay_credentials_come_from_the_environment_and_never_show(tmp_path: Path) -> None:
    environ = {"IC_SMTP_RELAY_USERNAME": "mailer", "IC_SMTP_RELAY_PASSWORD": "relay-secret", "IC_SMTP_RELAY_TLS": "tls"}

    loaded = load(tmp_path, MINIMAL + RELAY, environ)

    smtp = loaded.smtp
    assert (smtp.relay_username, smtp.relay_password, smtp.relay_tls) == ("mailer", "relay-secret", "tls")
    assert "relay-secret" not in repr(loaded)


def test_relay_tls_defaults_to_starttls_when_offered_and_a_local_relay_may_take_a_password_in_clear(
    tmp_path: Path,
) -> None:
    assert load(tmp_path, MINIMAL + RELAY).smtp.relay_tls == "auto"
    local = (
        RELAY.replace("smtp.example.net", "127.0.0.1")
        + 'relay_username = "u"\nrelay_password = "p"\nrelay_tls = "none"\n'
    )
    assert load(tmp_path, MINIMAL + local).smtp.relay_password == "p"


@pytest.mark.parametrize(
    ("extra", "key", "reason"),
    [
        ('relay_tls = "ssl"\n', "smtp.relay_tls", "must be one of auto, starttls, tls, none, not 'ssl'"),
        (
            'relay_username = "mailer"\nrelay_tls = "tls"\n',
            "smtp.relay_password",
            "smtp.relay_username and smtp.relay_password go together",
        ),
        (
            'relay_username = "mailer"\nrelay_password = "secret"\n',
            "smtp.relay_tls",
            "must be starttls or tls with a relay password, unless the relay is on this machine",
        ),
        ('relay_ca_file = "/nonexistent/ca.pem"\n', "smtp.relay_ca_file", "/nonexistent/ca.pem: file not found"),
    ],
)
def test_bad_relay_security_settings_are_reported(tmp_path: Path, extra: str, key: str, reason: str) -> None:
    issue = only_issue(tmp_path, MINIMAL + RELAY + extra)

    assert (issue.key, issue.reason) == (key, reason)
    assert "secret" not in str(issue)


def test_a_relay_ca_file_that_is_not_pem_is_reported(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")

    issue = only_issue(tmp_path, MINIMAL + RELAY + f'relay_ca_file = "{bogus}"\n')

    assert issue.key == "smtp.relay_ca_file" and "not a PEM certificate bundle" in issue.reason


# --- database and other URLs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///var/ic.db", "sqlite+aiosqlite:///var/ic.db"),
        ("sqlite:////abs/ic.db", "sqlite+aiosqlite:////abs/ic.db"),
        ("sqlite+aiosqlite:///var/ic.db", "sqlite+aiosqlite:///var/ic.db"),
        ("postgres://ic:pw@db:5432/ic", "postgresql+asyncpg://ic:pw@db:5432/ic"),
        ("postgresql://ic:pw@db/ic", "postgresql+asyncpg://ic:pw@db/ic"),
        ("postgresql+asyncpg://ic@db/ic", "postgresql+asyncpg://ic@db/ic"),
    ],
)
def test_database_url_is_normalized_to_the_async_driver(tmp_path: Path, given: str, expected: str) -> None:
    loaded = load(tmp_path, MINIMAL + f'[database]\nurl = "{given}"\n')

    assert loaded.database.url == expected


def test_database_url_from_the_environment_is_normalized(tmp_path: Path) -> None:
    loaded = load(tmp_path, MINIMAL, {"IC_DATABASE_URL": "postgres://ic@db/ic"})

    assert loaded.database.url == "postgresql+asyncpg://ic@db/ic"


@pytest.mark.parametrize("url", ["mysql://db/ic", "postgresql+psycopg2://db/ic", "ic.db", "", "sqlite:"])
def test_database_url_with_an_unsupported_scheme_is_rejected(tmp_path: Path, url: str) -> None:
    issue = only_issue(tmp_path, MINIMAL + f'[database]\nurl = "{url}"\n')

    assert (issue.key, issue.reason) == ("database.url", "must be a sqlite:// or postgresql:// URL")


@pytest.mark.parametrize(
    "url", ["redis://localhost:6379/0", "rediss://:secret@redis.example/1", "unix:///run/redis.sock"]
)
def test_a_redis_url_shares_routing_and_keeps_its_password_out_of_repr(tmp_path: Path, url: str) -> None:
    loaded = load(tmp_path, MINIMAL + f'[redis]\nurl = "{url}"\nprefix = "centre-a:"\n')

    assert (loaded.redis.url, loaded.redis.prefix) == (url, "centre-a:")
    assert "secret" not in repr(loaded)


def test_a_redis_url_from_the_environment_is_read(tmp_path: Path) -> None:
    assert load(tmp_path, MINIMAL, {"IC_REDIS_URL": "redis://db:6379/2"}).redis.url == "redis://db:6379/2"


@pytest.mark.parametrize("url", ["http://localhost:6379", "localhost:6379"])
def test_a_redis_url_of_another_scheme_is_refused(tmp_path: Path, url: str) -> None:
    issue = only_issue(tmp_path, MINIMAL + f'[redis]\nurl = "{url}"\n')

    reason = "must be empty (routing in this process) or a redis://, rediss:// or unix:// URL"
    assert issue == issue_in_file(tmp_path, "redis.url", reason)


@pytest.mark.parametrize("prefix", ["", "has space:", "x" * 65])
def test_a_redis_prefix_must_be_printable_and_short(tmp_path: Path, prefix: str) -> None:
    issue = only_issue(tmp_path, MINIMAL + f'[redis]\nprefix = "{prefix}"\n')

    assert issue == issue_in_file(tmp_path, "redis.prefix", "must be 1 to 64 printable characters, no spaces")


def test_an_empty_redis_url_routes_in_process_without_a_problem(tmp_path: Path) -> None:
    assert load(tmp_path, MINIMAL + '[redis]\nurl = ""\n', {"IC_REDIS_URL": ""}).redis.url == ""


def test_public_base_url_must_be_http(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + '[http]\npublic_base_url = "ic.example.test"\n')

    assert issue.key == "http.public_base_url"


@pytest.mark.parametrize(("section", "port"), [("http", -1), ("http", 65536), ("smtp", 70000)])
def test_port_out_of_range_is_rejected(tmp_path: Path, section: str, port: int) -> None:
    issue = only_issue(tmp_path, MINIMAL + f"[{section}]\nport = {port}\n")

    assert issue.key == f"{section}.port"
    assert "not a port number" in issue.reason


def test_token_ttl_must_be_positive(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, MINIMAL + "[auth]\ntoken_ttl_seconds = 0\n")

    assert issue.key == "auth.token_ttl_seconds"


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("offer_timeout_seconds = 0", "0.0"),
        ("tick_seconds = -0.5", "-0.5"),
        ("transfer_window_seconds = 0", "0.0"),
    ],
)
def test_routing_intervals_must_be_positive(tmp_path: Path, line: str, shown: str) -> None:
    issue = only_issue(tmp_path, MINIMAL + f"[routing]\n{line}\n")

    key = f"routing.{line.split()[0]}"
    assert issue == issue_in_file(tmp_path, key, f"must be a finite number above 0, not {shown}")
