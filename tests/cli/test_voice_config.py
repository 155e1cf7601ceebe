"""``config check`` and ``serve`` on voice flows: a broken flow is named with its file,
flow, node and reason, and nothing starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from interaction_center.cli import main
from tests.cli.commands import SHIPPED, run


def shipped_copy(tmp_path: Path) -> Path:
    """The shipped configuration and its flows, in a directory of the test's own."""
    shutil.copytree(SHIPPED.parent, tmp_path / "config")
    return tmp_path / "config" / SHIPPED.name


def break_demo_flow(config: Path) -> Path:
    flow = config.parent / "flows" / "main.toml"
    text = flow.read_text()
    flow.write_text(
        text.replace('fallback = "menu_fallback"', 'fallback = "operator"').replace(
            'queue = "sales"', 'queue = "presales"'
        )
    )
    return flow


def test_config_check_names_the_flow_file_flow_node_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = shipped_copy(tmp_path)
    flow = break_demo_flow(config)

    code = main(["--config", str(config), "config", "check"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"error: {flow}: flows.main.nodes.main_menu.fallback: names no node 'operator'",
        f"error: {flow}: flows.main.nodes.sales.queue: no queue named 'presales'",
        "2 configuration error(s); nothing was started",
    ]


def test_config_check_accepts_the_shipped_flows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(shipped_copy(tmp_path)), "config", "check"])

    assert code == 0, capsys.readouterr().err


def test_serve_refuses_a_broken_flow(tmp_path: Path) -> None:
    config = shipped_copy(tmp_path)
    flow = break_demo_flow(config)

    result = run(tmp_path, "--config", str(config), "serve", timeout=30)

    assert result.returncode == 2
    assert "Interaction Center on" not in result.stdout
    assert f"error: {flow}: flows.main.nodes.main_menu.fallback: names no node 'operator'" in result.stderr
