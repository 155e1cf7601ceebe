"""What the command-line tests share: configuration files good and bad, running the
command as a process, and reading what it stored."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "interaction-center.toml"
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
