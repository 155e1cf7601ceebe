"""The ``interaction-center`` command: ``config check``, ``serve`` on a bad configuration,
``db upgrade`` and ``agents add``, in process through ``main`` and as a real process."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher

from interaction_center.cli import main
from interaction_center.settings.model import HttpSettings, Settings
from interaction_center.simulate import http_base
from tests.services import free_port
from tests.support import AppFactory, Client, login, offered, set_status

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "interaction-center.toml"
CONSOLE_SCRIPT = Path(sys.executable).with_name("interaction-center")
SCHEMA_TABLES = {"customers", "interactions", "messages", "interaction_events", "agents"}

# Three problems, one per section, so each error line can be checked.
BAD_CONFIG = """
[http]
port = "eighty"

[queues.support]
channels = ["sms"]

[[agents]]
username = "alice"
queues = ["nowhere"]
"""


def good_config(tmp_path: Path, database: Path | None = None) -> Path:
    database = database or tmp_path / "ic.db"
    path = tmp_path / "interaction-center.toml"
    path.write_text(
        f"""
skills = ["billing"]

[database]
url = "sqlite:///{database}"

[twilio]
auth_token = "test-token"

[queues.support]
channels = ["sms", "email"]

[queues.sales]
channels = ["sms"]

[[agents]]
username = "alice"
queues = ["support"]
"""
    )
    return path


def bad_config(tmp_path: Path) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(BAD_CONFIG)
    return path


def clean_environ() -> dict[str, str]:
    """The test process's environment without anything that would configure the service."""
    return {name: value for name, value in os.environ.items() if not name.startswith(("IC_", "TWILIO_"))}


def run(
    tmp_path: Path, *args: str, stdin: str | None = None, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command as a process, in a clean environment plus ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "interaction_center", *args],
        cwd=tmp_path,
        env=clean_environ() | (env or {}),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def agent_rows(database: Path) -> list[tuple[str, str, str, str, str, str, str]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT username, display_name, role, queues, skills, capacity, password_hash FROM agents ORDER BY username"
        ).fetchall()


def routing_profile(database: Path, username: str) -> tuple[list[dict[str, Any]], dict[str, int], dict[str, int]]:
    """An agent row's queues, skills and capacity, decoded from their JSON columns."""
    [(queues, skills, capacity)] = [row[3:6] for row in agent_rows(database) if row[0] == username]
    return json.loads(queues), json.loads(skills), json.loads(capacity)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``main`` reads os.environ and the working directory: give it neither of the real ones."""
    for name in os.environ:
        if name.startswith(("IC_", "TWILIO_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


# --- config check, in process --------------------------------------------------------------


def test_config_check_on_a_good_file_exits_0_and_prints_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = good_config(tmp_path)

    code = main(["--config", str(path), "config", "check"])

    out, err = capsys.readouterr()
    assert code == 0
    assert out == f"{path}: OK (2 queues, 1 agents)\n"
    assert err == ""


def test_config_check_accepts_the_shipped_file(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(SHIPPED), "config", "check"])

    assert code == 0
    assert "OK (2 queues, 3 agents)" in capsys.readouterr().out


def test_config_check_on_a_bad_file_exits_2_and_lists_every_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bad_config(tmp_path)

    code = main(["--config", str(path), "config", "check"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"error: {path}: http.port: must be a whole number, not 'eighty'",
        f"error: {path}: agents[0].queues[0]: no queue named 'nowhere'",
        f"error: {path}: twilio.auth_token: required: inbound webhooks are verified with it (or set TWILIO_AUTH_TOKEN)",
        "3 configuration error(s); nothing was started",
    ]


def test_config_check_names_the_environment_variable_at_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IC_HTTP_PORT", "abc")

    code = main(["--config", str(good_config(tmp_path)), "config", "check"])

    assert code == 2
    assert "error: environment IC_HTTP_PORT: http.port: must be a whole number, not 'abc'" in capsys.readouterr().err


def test_config_check_on_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(tmp_path / "absent.toml"), "config", "check"])

    assert code == 2
    assert f"error: {tmp_path / 'absent.toml'}: -: file not found" in capsys.readouterr().err


def test_config_check_reads_ic_config_when_no_option_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = good_config(tmp_path)
    monkeypatch.setenv("IC_CONFIG", str(path))

    code = main(["config", "check"])

    assert code == 0
    assert capsys.readouterr().out.startswith(f"{path}: OK")


def test_config_check_reads_the_default_file_in_the_working_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "config").mkdir()
    good_config(tmp_path).rename(tmp_path / "config" / "interaction-center.toml")

    code = main(["config", "check"])

    assert code == 0
    assert capsys.readouterr().out.startswith("config/interaction-center.toml: OK")


def test_config_check_without_any_file_reports_what_the_defaults_lack(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["config", "check"])

    err = capsys.readouterr().err
    assert code == 2
    assert "error: <defaults>: twilio.auth_token:" in err
    assert "error: <defaults>: queues: at least one queue is required" in err


def test_config_check_takes_config_after_the_command_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = good_config(tmp_path)

    code = main(["config", "check", "--config", str(path)])

    assert (code, capsys.readouterr().out) == (0, f"{path}: OK (2 queues, 1 agents)\n")


# Every command, with the arguments it needs: each reads the configuration.
EVERY_COMMAND = [
    ["serve"],
    ["config", "check"],
    ["db", "upgrade"],
    ["agents", "add", "erin"],
    ["simulate", "sms", "--from", "+15551230001", "Hello"],
    ["simulate", "email", "--from", "jane@customer.test", "--subject", "Hi", "Hello"],
    ["simulate", "chat", "--name", "Jane", "Hello"],
]


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=" ".join)
def test_every_command_reads_the_config_given_after_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    path = bad_config(tmp_path)

    code = main([*command, "--config", str(path)])

    assert code == 2
    assert f"error: {path}: http.port: must be a whole number, not 'eighty'" in capsys.readouterr().err


def test_config_after_the_command_wins_over_config_before_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = good_config(tmp_path)

    code = main(["--config", str(bad_config(tmp_path)), "config", "check", "--config", str(path)])

    assert (code, capsys.readouterr().out) == (0, f"{path}: OK (2 queues, 1 agents)\n")


def test_config_check_lists_an_unknown_ic_variable_with_the_close_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IC_HTTP_PROT", "9000")

    code = main(["--config", str(good_config(tmp_path)), "config", "check"])

    assert code == 2
    assert capsys.readouterr().err.startswith(
        "error: environment: IC_HTTP_PROT: unknown variable; did you mean IC_HTTP_PORT?"
    )


def test_config_check_accepts_the_ic_variables_that_are_not_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IC_CONFIG", str(good_config(tmp_path)))
    monkeypatch.setenv("IC_REQUIRE_SERVICES", "1")

    code = main(["config", "check"])

    assert (code, capsys.readouterr().err) == (0, "")


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["frobnicate"])

    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# --- config check and serve, as a process --------------------------------------------------


def test_config_check_process_exits_0_and_prints_ok(tmp_path: Path) -> None:
    path = good_config(tmp_path)

    result = run(tmp_path, "--config", str(path), "config", "check")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{path}: OK (2 queues, 1 agents)"


def test_console_script_config_check_on_a_bad_file_exits_2_with_errors_on_stderr(tmp_path: Path) -> None:
    path = bad_config(tmp_path)

    result = subprocess.run(
        [str(CONSOLE_SCRIPT), "--config", str(path), "config", "check"],
        cwd=tmp_path,
        env=clean_environ(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert f"error: {path}: http.port: must be a whole number, not 'eighty'" in result.stderr
    assert f"error: {path}: agents[0].queues[0]: no queue named 'nowhere'" in result.stderr
    assert f"error: {path}: twilio.auth_token: required" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_a_bad_config_exits_2_without_starting(tmp_path: Path) -> None:
    result = run(tmp_path, "--config", str(bad_config(tmp_path)), "serve", timeout=30)

    assert result.returncode == 2
    assert "Interaction Center on" not in result.stdout
    assert "3 configuration error(s); nothing was started" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_process_takes_config_after_the_command(tmp_path: Path) -> None:
    result = run(tmp_path, "serve", "--config", str(bad_config(tmp_path)), timeout=30)

    assert result.returncode == 2
    assert "3 configuration error(s); nothing was started" in result.stderr


def test_serve_refuses_an_unknown_ic_variable(tmp_path: Path) -> None:
    result = run(tmp_path, "--config", str(good_config(tmp_path)), "serve", env={"IC_HTTP_PROT": "9000"}, timeout=30)

    assert result.returncode == 2
    assert "Interaction Center on" not in result.stdout
    assert "error: environment: IC_HTTP_PROT: unknown variable; did you mean IC_HTTP_PORT?" in result.stderr


def test_serve_refuses_a_redis_url_that_nothing_would_use(tmp_path: Path) -> None:
    path = good_config(tmp_path)
    path.write_text(path.read_text() + '[redis]\nurl = "redis://127.0.0.1:6379/0"\n')

    result = run(tmp_path, "--config", str(path), "serve", timeout=30)

    assert result.returncode == 2
    assert "Interaction Center on" not in result.stdout
    assert f"error: {path}: redis.url: the Redis routing backend is not built yet" in result.stderr


def test_config_check_refuses_ic_redis_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IC_REDIS_URL", "redis://127.0.0.1:6379/0")

    code = main(["--config", str(good_config(tmp_path)), "config", "check"])

    assert code == 2
    assert "error: environment IC_REDIS_URL: redis.url: the Redis routing backend is not built yet" in (
        capsys.readouterr().err
    )


# --- db upgrade ----------------------------------------------------------------------------


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    database = tmp_path / "data" / "ic.db"

    result = run(tmp_path, "--config", str(good_config(tmp_path, database)), "db", "upgrade")

    assert result.returncode == 0, result.stderr
    assert "database schema is up to date" in result.stdout
    assert tables(database) >= SCHEMA_TABLES | {"alembic_version"}


def test_db_upgrade_twice_is_harmless(tmp_path: Path) -> None:
    path = good_config(tmp_path)
    run(tmp_path, "--config", str(path), "db", "upgrade")

    result = run(tmp_path, "--config", str(path), "db", "upgrade")

    assert result.returncode == 0, result.stderr
    assert tables(tmp_path / "ic.db") >= SCHEMA_TABLES


def test_db_upgrade_uses_ic_database_url_over_the_file(tmp_path: Path) -> None:
    other = tmp_path / "from-env.db"

    result = run(
        tmp_path, "--config", str(good_config(tmp_path)), "db", "upgrade", env={"IC_DATABASE_URL": f"sqlite:///{other}"}
    )

    assert result.returncode == 0, result.stderr
    assert tables(other) >= SCHEMA_TABLES
    assert not (tmp_path / "ic.db").exists()


# --- agents add ----------------------------------------------------------------------------


@pytest.fixture
def upgraded(tmp_path: Path) -> Path:
    """A configuration whose database has the schema."""
    path = good_config(tmp_path)
    result = run(tmp_path, "--config", str(path), "db", "upgrade")
    assert result.returncode == 0, result.stderr
    return path


def test_agents_add_reads_the_password_from_stdin(tmp_path: Path, upgraded: Path) -> None:
    result = run(
        tmp_path,
        *("--config", str(upgraded), "agents", "add", "carol", "--name", "Carol Case", "--role", "supervisor"),
        *("--queue", "support", "--queue", "sales", "--skill", "billing=7"),
        stdin="correct horse battery staple\n",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "agent 'carol' added"
    [(username, display_name, role, *_, password_hash)] = agent_rows(tmp_path / "ic.db")
    assert (username, display_name, role) == ("carol", "Carol Case", "supervisor")
    assert routing_profile(tmp_path / "ic.db", "carol") == (
        [
            {"queue": "support", "priority": 1, "delay_seconds": 0},
            {"queue": "sales", "priority": 2, "delay_seconds": 0},
        ],
        {"billing": 7},
        {},
    )
    assert PasswordHasher().verify(password_hash, "correct horse battery staple")


def test_agents_add_defaults_display_name_and_role(tmp_path: Path, upgraded: Path) -> None:
    result = run(tmp_path, "--config", str(upgraded), "agents", "add", "dave", stdin="pw\n")

    assert result.returncode == 0, result.stderr
    [(username, display_name, role, *_)] = agent_rows(tmp_path / "ic.db")
    assert (username, display_name, role) == ("dave", "dave", "agent")


def test_agents_add_the_same_username_twice_fails_clearly(tmp_path: Path, upgraded: Path) -> None:
    first = run(tmp_path, "--config", str(upgraded), "agents", "add", "carol", stdin="first\n")
    assert first.returncode == 0, first.stderr

    second = run(tmp_path, "--config", str(upgraded), "agents", "add", "carol", stdin="second\n")

    assert second.returncode != 0
    assert second.stderr.strip() == "error: an agent named 'carol' exists"
    [(*_, password_hash)] = agent_rows(tmp_path / "ic.db")
    assert PasswordHasher().verify(password_hash, "first")


def test_agents_add_rejects_an_unknown_queue(tmp_path: Path, upgraded: Path) -> None:
    result = run(tmp_path, "--config", str(upgraded), "agents", "add", "erin", "--queue", "nowhere", stdin="pw\n")

    assert result.returncode == 2
    assert result.stderr.strip() == "error: --queue[0]: no queue named 'nowhere'"
    assert agent_rows(tmp_path / "ic.db") == []


def test_agents_add_rejects_an_empty_password(tmp_path: Path, upgraded: Path) -> None:
    result = run(tmp_path, "--config", str(upgraded), "agents", "add", "frank", stdin="\n")

    assert result.returncode == 1
    assert result.stderr.strip() == "error: an agent needs a username and a password"
    assert agent_rows(tmp_path / "ic.db") == []


def test_agents_add_with_a_bad_config_exits_2_before_reading_a_password(tmp_path: Path) -> None:
    result = run(tmp_path, "--config", str(bad_config(tmp_path)), "agents", "add", "gina", stdin="pw\n")

    assert result.returncode == 2
    assert "nothing was started" in result.stderr


def test_agents_add_before_db_upgrade_says_to_run_it(tmp_path: Path) -> None:
    result = run(tmp_path, "--config", str(good_config(tmp_path)), "agents", "add", "hank", stdin="pw\n")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "db upgrade" in result.stderr


def test_config_check_on_a_file_that_is_not_utf8_reports_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[http]\nhost = "café"\n'.encode("latin-1"))

    result = run(tmp_path, "--config", str(path), "config", "check")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"error: {path}: -:" in result.stderr


# --- agents add: the routing profile -------------------------------------------------------


def test_agents_add_stores_queues_in_priority_order_skills_and_capacity(tmp_path: Path, upgraded: Path) -> None:
    result = run(
        tmp_path,
        *("--config", str(upgraded), "agents", "add", "ivy"),
        *("--queue", "sales", "--queue", "support", "--skill", "billing=10"),
        *("--capacity", "sms=5", "--capacity", "chat=2"),
        stdin="pw\n",
    )

    assert result.returncode == 0, result.stderr
    assert routing_profile(tmp_path / "ic.db", "ivy") == (
        [
            {"queue": "sales", "priority": 1, "delay_seconds": 0},
            {"queue": "support", "priority": 2, "delay_seconds": 0},
        ],
        {"billing": 10},
        {"sms": 5, "chat": 2},
    )


def test_agents_add_without_routing_options_stores_an_empty_profile(tmp_path: Path, upgraded: Path) -> None:
    result = run(tmp_path, "--config", str(upgraded), "agents", "add", "jo", stdin="pw\n")

    assert result.returncode == 0, result.stderr
    assert routing_profile(tmp_path / "ic.db", "jo") == ([], {}, {})


def test_agents_add_rejects_a_skill_without_a_level_as_a_process(tmp_path: Path, upgraded: Path) -> None:
    result = run(tmp_path, "--config", str(upgraded), "agents", "add", "kim", "--skill", "billing", stdin="pw\n")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert "billing" in result.stderr
    assert agent_rows(tmp_path / "ic.db") == []


class _NoPassword:
    """stdin for in-process ``agents add`` that must fail before asking for a password."""

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        raise AssertionError("the password was read although the arguments are bad")


@pytest.fixture
def rejecting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A good configuration whose database does not exist: a rejected ``agents add`` must not create it."""
    monkeypatch.setattr(sys, "stdin", _NoPassword())
    return good_config(tmp_path)


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--skill", "nosuch=3"], "error: --skill.nosuch: not declared in the top-level skills list"),
        (["--skill", "billing=0"], "error: --skill.billing: a skill level is a whole number from 1 to 10, not 0"),
        (["--skill", "billing=11"], "error: --skill.billing: a skill level is a whole number from 1 to 10, not 11"),
        (["--capacity", "fax=2"], "error: --capacity.fax: unknown channel (known: sms, email, chat, voice)"),
        (["--queue", "support", "--queue", "nowhere"], "error: --queue[1]: no queue named 'nowhere'"),
    ],
)
def test_agents_add_rejects_a_bad_routing_value_with_its_key(
    tmp_path: Path, rejecting: Path, capsys: pytest.CaptureFixture[str], options: list[str], line: str
) -> None:
    code = main(["--config", str(rejecting), "agents", "add", "erin", *options])

    out, err = capsys.readouterr()
    assert code == 2
    assert (out, err.splitlines()) == ("", [line])
    assert not (tmp_path / "ic.db").exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--skill", "billing"),
        ("--skill", "billing="),
        ("--skill", "billing=high"),
        ("--skill", "billing=7.5"),
        ("--skill", "=3"),
        ("--capacity", "sms"),
        ("--capacity", "sms=-1"),
    ],
)
def test_agents_add_rejects_a_malformed_name_number_pair(
    tmp_path: Path, rejecting: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    code = main(["--config", str(rejecting), "agents", "add", "erin", option, value])

    [line] = capsys.readouterr().err.splitlines()
    assert code == 2
    assert line.startswith("error: ")
    assert value in line
    assert not (tmp_path / "ic.db").exists()


def test_agents_add_reports_every_bad_routing_value_at_once(
    tmp_path: Path, rejecting: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ["--queue", "nowhere", "--skill", "nosuch=3", "--capacity", "fax=1", "--skill", "billing"]

    code = main(["--config", str(rejecting), "agents", "add", "erin", *options])

    lines = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len(lines) == 4
    assert "error: --queue[0]: no queue named 'nowhere'" in lines
    assert "error: --skill.nosuch: not declared in the top-level skills list" in lines
    assert "error: --capacity.fax: unknown channel (known: sms, email, chat, voice)" in lines


@pytest.mark.parametrize(("option", "value"), [("--skill", "billing=³"), ("--capacity", "sms=²")])
def test_agents_add_rejects_a_level_written_with_non_decimal_digits(
    tmp_path: Path, rejecting: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    code = main(["--config", str(rejecting), "agents", "add", "erin", option, value])

    assert code == 2
    assert capsys.readouterr().err.startswith("error: ")


# --- simulate email, in process --------------------------------------------------------------


@pytest.mark.parametrize(
    ("smtp", "reason"),
    [
        ("", "email is off here: smtp.domains lists no domain or address"),
        ('[smtp]\ndomains = ["example.com"]\nport = 0\n', "smtp.port is 0 (any free port)"),
    ],
)
def test_simulate_email_says_why_it_cannot_send(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], smtp: str, reason: str
) -> None:
    path = good_config(tmp_path)
    path.write_text(path.read_text() + smtp)

    code = main(["--config", str(path), "simulate", "email", "--from", "a@b.test", "--subject", "S", "T"])

    assert code == 1
    assert reason in capsys.readouterr().err


def test_simulate_email_without_a_server_listening_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = good_config(tmp_path)
    port = free_port()  # nobody listens on it
    path.write_text(path.read_text() + f'[smtp]\ndomains = ["example.com"]\nport = {port}\n')

    code = main(["--config", str(path), "simulate", "email", "--from", "a@b.test", "--subject", "S", "T"])

    assert code == 1
    assert f"the service's SMTP server at 127.0.0.1:{port} did not answer" in capsys.readouterr().err


# --- simulate sms and chat, against the served app -------------------------------------------

SMS = ["sms", "--from", "+15551230001", "Hello, my bill is wrong"]
CHAT = ["chat", "--name", "Jane", "--email", "jane@customer.test", "Hello from the chat"]


# tests.support.write_settings's overrides for a support queue that takes web chat too.
WITH_CHAT = {"support_channels": '["sms", "chat"]', "channels": '[channels.chat]\nqueue = "support"'}


@pytest.fixture
async def served(app_factory: AppFactory, settings_factory: Callable[..., Settings]) -> Client:
    """The app with SMS and web chat, on a free port."""
    return await app_factory(settings_factory(**WITH_CHAT))


@pytest.fixture
def served_config(served: Client, settings_factory: Callable[..., Settings], tmp_path: Path) -> Callable[[int], Path]:
    """The served app's configuration naming ``port`` as http.port: the file the command reads."""

    def naming(port: int) -> Path:
        settings_factory(port=port, **WITH_CHAT)
        return tmp_path / "interaction-center.toml"

    return naming


async def simulate(config: Path, *args: str) -> int:
    # The command runs its own event loop, and the app serves on this one.
    return await asyncio.to_thread(main, ["--config", str(config), "simulate", *args])


async def test_simulate_sms_posts_to_the_configured_port_signed_over_the_public_url(
    served: Client, served_config: Callable[[int], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # The configuration's public_base_url (tests.support.PUBLIC_BASE) is not reachable from
    # here: the webhook must go to http.host:http.port and be signed over the public URL.
    # TestClient.port is None only until the server starts; app_factory has started it.
    code = await simulate(served_config(served.port), *SMS)  # type: ignore[arg-type]

    assert (code, capsys.readouterr().out) == (0, 'HTTP 200: <?xml version="1.0" encoding="UTF-8"?><Response />\n')
    alice = await login(served, "alice")
    await set_status(served, alice, "available")
    [offer] = await offered(served, alice)
    assert (offer["channel"], [m["body"] for m in offer["messages"]]) == ("sms", ["Hello, my bill is wrong"])


async def test_simulate_chat_starts_a_chat_on_the_configured_port_and_prints_the_ack(
    served: Client, served_config: Callable[[int], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # TestClient.port is None only until the server starts; app_factory has started it.
    code = await simulate(served_config(served.port), *CHAT)  # type: ignore[arg-type]

    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    ack = json.loads(out)
    assert (ack["type"], ack["client_id"], set(ack)) == (
        "ack",
        "simulate-1",
        {"type", "client_id", "message_id", "interaction_id", "at"},
    )
    alice = await login(served, "alice")
    await set_status(served, alice, "available")
    [offer] = await offered(served, alice)
    assert (offer["id"], offer["channel"]) == (ack["interaction_id"], "chat")
    assert [(m["id"], m["body"]) for m in offer["messages"]] == [(ack["message_id"], "Hello from the chat")]


@pytest.mark.parametrize("command", [SMS, CHAT], ids=lambda command: command[0])
async def test_simulate_url_overrides_the_configured_port(
    served: Client, served_config: Callable[[int], Path], capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    config = served_config(free_port())  # nobody listens there

    code = await simulate(config, *command, "--url", f"http://127.0.0.1:{served.port}/")

    assert code == 0, capsys.readouterr().err
    alice = await login(served, "alice")
    await set_status(served, alice, "available")
    assert [offer["channel"] for offer in await offered(served, alice)] == [command[0]]


async def test_simulate_chat_prints_the_error_frame_when_web_chat_is_off(
    app_factory: AppFactory,
    settings_factory: Callable[..., Settings],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = await app_factory(settings_factory())
    settings_factory(port=client.port)

    code = await simulate(tmp_path / "interaction-center.toml", *CHAT)

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert json.loads(err) == {
        "type": "error",
        "code": "chat.not_configured",
        "message": "web chat is not enabled here",
    }


async def test_simulate_chat_prints_the_error_frame_that_refused_the_message(
    served: Client, served_config: Callable[[int], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # TestClient.port is None only until the server starts; app_factory has started it.
    code = await simulate(served_config(served.port), "chat", "--name", "Jane", "x" * 4001)  # type: ignore[arg-type]

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert json.loads(err)["code"] == "chat.too_large"


async def test_simulate_chat_says_so_when_the_socket_closes_without_an_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def hang_up(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.close()
        return socket

    app = web.Application()
    app.router.add_get("/chat/ws", hang_up)
    async with TestServer(app) as server:
        code = await simulate(good_config(tmp_path), *CHAT, "--url", str(server.make_url("")))

    assert code == 1
    assert "did not answer: the chat socket closed before a 'started' frame" in capsys.readouterr().err


@pytest.mark.parametrize("command", [SMS, CHAT], ids=lambda command: command[0])
def test_simulate_without_the_service_listening_names_the_address_it_tried(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    port = free_port()  # nobody listens on it
    path = good_config(tmp_path)
    path.write_text(path.read_text() + f"[http]\nport = {port}\n")

    code = main(["--config", str(path), "simulate", *command])

    assert code == 1
    assert f"at http://127.0.0.1:{port}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ([], "error: http.port is 0 (any free port): set the port the service listens on, or give --url"),
        (["--url", "127.0.0.1:8080"], "error: --url '127.0.0.1:8080': must start with http:// or https://"),
    ],
)
@pytest.mark.parametrize("command", [SMS, CHAT], ids=lambda command: command[0])
def test_simulate_says_why_it_has_no_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], options: list[str], reason: str
) -> None:
    path = good_config(tmp_path)
    path.write_text(path.read_text() + "[http]\nport = 0\n")

    code = main(["--config", str(path), "simulate", *command, *options])

    assert (code, capsys.readouterr().err) == (1, reason + "\n")


def test_an_ipv6_http_host_is_bracketed_in_the_address() -> None:
    assert http_base(Settings(http=HttpSettings(host="::1", port=8080)), None) == "http://[::1]:8080"
