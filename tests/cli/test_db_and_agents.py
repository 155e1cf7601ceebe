"""The ``interaction-center`` command: ``db upgrade`` and ``agents add`` with its routing
profile, as a real process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from interaction_center.cli import main
from tests.cli.commands import (
    SCHEMA_TABLES,
    agent_rows,
    bad_config,
    good_config,
    routing_profile,
    run,
    tables,
)

# A password the policy allows (the ones that must fail before one is read use "pw").
STRONG = "correct horse battery staple"

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


def test_agents_add_reads_the_password_from_stdin(tmp_path: Path, upgraded: Path) -> None:
    result = run(
        tmp_path,
        *("--config", str(upgraded), "agents", "add", "carol", "--name", "Carol Case", "--role", "supervisor"),
        *("--queue", "support", "--queue", "sales", "--skill", "billing=7"),
        stdin=f"{STRONG}\n",
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
    assert PasswordHasher().verify(password_hash, STRONG)


def test_agents_add_defaults_display_name_and_role(tmp_path: Path, upgraded: Path) -> None:
    result = run(tmp_path, "--config", str(upgraded), "agents", "add", "dave", stdin=f"{STRONG}\n")

    assert result.returncode == 0, result.stderr
    [(username, display_name, role, *_)] = agent_rows(tmp_path / "ic.db")
    assert (username, display_name, role) == ("dave", "dave", "agent")


def test_agents_add_the_same_username_twice_fails_clearly(tmp_path: Path, upgraded: Path) -> None:
    first = run(tmp_path, "--config", str(upgraded), "agents", "add", "carol", stdin=f"{STRONG}\n")
    assert first.returncode == 0, first.stderr

    second = run(tmp_path, "--config", str(upgraded), "agents", "add", "carol", stdin="another strong passphrase\n")

    assert second.returncode != 0
    assert second.stderr.strip() == "error: an agent named 'carol' exists"
    [(*_, password_hash)] = agent_rows(tmp_path / "ic.db")
    assert PasswordHasher().verify(password_hash, STRONG)


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


@pytest.mark.parametrize(("password", "why"), [("frank-pw", "at least 12 characters"), ("Password1234", "too easy")])
def test_agents_add_refuses_a_password_the_policy_refuses_and_adds_nobody(
    tmp_path: Path, upgraded: Path, password: str, why: str
) -> None:
    result = run(tmp_path, "--config", str(upgraded), "agents", "add", "frank", stdin=f"{password}\n")

    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and why in result.stderr
    assert password not in result.stderr
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
        stdin=f"{STRONG}\n",
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
    result = run(tmp_path, "--config", str(upgraded), "agents", "add", "jo", stdin=f"{STRONG}\n")

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
