"""``agents list|edit|deactivate|reactivate|passwd`` as a real process on the database,
each change recorded in the audit log as the command line's."""

from __future__ import annotations

import getpass
import json
import sqlite3
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from tests.cli.commands import routing_profile, run

STRONG = "correct horse battery staple"
OTHER_STRONG = "violet tractor humming softly"


def _agents(tmp_path: Path, config: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = run(tmp_path, "--config", str(config), "agents", *args, stdin=stdin)
    return result.returncode, result.stdout.strip(), result.stderr.strip()


def _row(tmp_path: Path, username: str) -> tuple[int, str, str]:
    with sqlite3.connect(tmp_path / "ic.db") as db:
        active, display_name, password_hash = db.execute(
            "SELECT active, display_name, password_hash FROM agents WHERE username = ?", (username,)
        ).fetchone()
    return int(active), str(display_name), str(password_hash)


def _audit(tmp_path: Path) -> list[tuple[str, str, dict[str, str], int]]:
    with sqlite3.connect(tmp_path / "ic.db") as db:
        rows = db.execute("SELECT actor_id, action, target, status FROM audit_log ORDER BY id").fetchall()
    return [(actor, action, json.loads(target), status) for actor, action, target, status in rows]


@pytest.fixture
def with_dave(tmp_path: Path, upgraded: Path) -> Path:
    code, _, stderr = _agents(tmp_path, upgraded, "add", "dave", "--queue", "support", stdin=f"{STRONG}\n")
    assert code == 0, stderr
    return upgraded


def test_list_shows_every_agent_with_role_state_and_queues(tmp_path: Path, with_dave: Path) -> None:
    code, out, _ = _agents(tmp_path, with_dave, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["username", "role", "status", "active", "queues"]
    assert lines[1].split() == ["dave", "agent", "offline", "yes", "support"]


def test_edit_replaces_the_lists_given_and_refuses_what_the_roster_would(tmp_path: Path, with_dave: Path) -> None:
    code, out, stderr = _agents(
        tmp_path, with_dave, "edit", "dave", "--name", "Dave D", "--queue", "sales", "--skill", "billing=5"
    )
    assert (code, out) == (0, "agent 'dave' changed"), stderr
    assert _row(tmp_path, "dave")[1] == "Dave D"
    assert routing_profile(tmp_path / "ic.db", "dave")[:2] == (
        [{"queue": "sales", "priority": 1, "delay_seconds": 0}],
        {"billing": 5},
    )

    code, _, stderr = _agents(tmp_path, with_dave, "edit", "dave", "--skill", "juggling=5")
    assert (code, stderr) == (1, "error: skills.juggling: not declared in the top-level skills list")
    code, _, stderr = _agents(tmp_path, with_dave, "edit", "dave")
    assert code == 2 and "name what to change" in stderr
    code, _, stderr = _agents(tmp_path, with_dave, "edit", "nobody", "--name", "N")
    assert (code, stderr) == (1, "error: no agent nobody")
    assert routing_profile(tmp_path / "ic.db", "dave")[1] == {"billing": 5}


def test_deactivate_and_reactivate(tmp_path: Path, with_dave: Path) -> None:
    code, out, _ = _agents(tmp_path, with_dave, "deactivate", "dave")
    assert code == 0 and "deactivated" in out
    assert _row(tmp_path, "dave")[0] == 0
    assert _agents(tmp_path, with_dave, "list")[1].splitlines()[1].split()[3] == "no"
    code, _, _ = _agents(tmp_path, with_dave, "reactivate", "dave")
    assert code == 0 and _row(tmp_path, "dave")[0] == 1


def test_passwd_holds_to_the_policy(tmp_path: Path, with_dave: Path) -> None:
    code, _, stderr = _agents(tmp_path, with_dave, "passwd", "dave", stdin="dave\n")
    assert code == 1 and stderr.startswith("error: a password needs at least 12 characters")
    assert PasswordHasher().verify(_row(tmp_path, "dave")[2], STRONG)
    code, _, stderr = _agents(tmp_path, with_dave, "passwd", "dave", stdin=f"{OTHER_STRONG}\n")
    assert code == 0, stderr
    assert PasswordHasher().verify(_row(tmp_path, "dave")[2], OTHER_STRONG)


def test_each_change_is_audited_as_the_command_lines(tmp_path: Path, with_dave: Path) -> None:
    _agents(tmp_path, with_dave, "deactivate", "dave")
    _agents(tmp_path, with_dave, "passwd", "dave", stdin="weak\n")
    _agents(tmp_path, with_dave, "list")
    me = f"cli:{getpass.getuser()}"
    assert _audit(tmp_path) == [
        (me, "agents add", {"username": "dave"}, 200),
        (me, "agents deactivate", {"username": "dave"}, 200),
        (me, "agents passwd", {"username": "dave"}, 400),
    ]
