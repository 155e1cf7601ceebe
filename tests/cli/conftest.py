"""Every command-line test runs without the real environment or working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.commands import (
    good_config,
    run,
)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``main`` reads os.environ and the working directory: give it neither of the real ones."""
    for name in os.environ:
        if name.startswith(("IC_", "TWILIO_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def upgraded(tmp_path: Path) -> Path:
    """A configuration whose database has the schema."""
    path = good_config(tmp_path)
    result = run(tmp_path, "--config", str(path), "db", "upgrade")
    assert result.returncode == 0, result.stderr
    return path
