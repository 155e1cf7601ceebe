"""The ``interaction-center`` command: ``config check`` in process and as a process, and
``serve`` refusing a configuration it cannot honour."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from interaction_center.cli import main
from tests.cli.commands import (
    CONSOLE_SCRIPT,
    SHIPPED,
    bad_config,
    clean_environ,
    good_config,
    run,
)

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
    assert "OK (2 queues, 4 agents)" in capsys.readouterr().out


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


def test_serve_refuses_a_redis_url_of_another_scheme(tmp_path: Path) -> None:
    path = good_config(tmp_path)
    path.write_text(path.read_text() + '[redis]\nurl = "http://127.0.0.1:6379/0"\n')

    result = run(tmp_path, "--config", str(path), "serve", timeout=30)

    assert result.returncode == 2
    assert "Interaction Center on" not in result.stdout
    reason = "must be empty (routing in this process) or a redis://, rediss:// or unix:// URL"
    assert f"error: {path}: redis.url: {reason}" in result.stderr


def test_config_check_takes_ic_redis_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IC_REDIS_URL", "redis://127.0.0.1:6379/0")

    code = main(["--config", str(good_config(tmp_path)), "config", "check"])

    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize("port", ["http", "0", "65536", "²"])
def test_serve_refuses_a_port_that_is_not_one(tmp_path: Path, port: str) -> None:
    result = run(tmp_path, "--config", str(good_config(tmp_path)), "serve", "--smtp-port", port, timeout=30)

    assert result.returncode == 2
    assert f"{port!r} is not a port number (1-65535)" in result.stderr
    assert "Interaction Center on" not in result.stdout
