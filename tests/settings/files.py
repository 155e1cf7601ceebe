"""What the configuration tests share: the shipped file, the smallest file that loads, and
writing, loading and reading the problems of a file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from interaction_center.settings.loader import ConfigInvalid, ConfigIssue, load_settings
from interaction_center.settings.model import Settings

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "interaction-center.toml"

# The smallest file that loads: everything else comes from the built-in defaults.
MINIMAL = """
[twilio]
auth_token = "file-token"

[queues.support]
channels = ["sms"]
"""

# MINIMAL plus the skills and a second queue the routing tests refer to.
ROUTED = 'skills = ["billing", "technical"]\n' + MINIMAL + '[queues.sales]\nchannels = ["sms", "chat"]\n'

CONFIG_NAME = "interaction-center.toml"


def write(tmp_path: Path, text: str, name: str = CONFIG_NAME) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, environ: Mapping[str, str] | None = None) -> Settings:
    return load_settings(write(tmp_path, text), environ={} if environ is None else environ)


def issues_of(tmp_path: Path, text: str, environ: Mapping[str, str] | None = None) -> list[ConfigIssue]:
    with pytest.raises(ConfigInvalid) as caught:
        load(tmp_path, text, environ)
    return caught.value.issues


def only_issue(tmp_path: Path, text: str, environ: Mapping[str, str] | None = None) -> ConfigIssue:
    issues = issues_of(tmp_path, text, environ)
    assert len(issues) == 1, issues
    return issues[0]


def issue_in_file(tmp_path: Path, key: str, reason: str) -> ConfigIssue:
    """The issue ``only_issue`` should find: reported against the file ``load`` wrote."""
    return ConfigIssue(str(tmp_path / CONFIG_NAME), key, reason)
