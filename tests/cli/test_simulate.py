"""The ``interaction-center simulate`` command: email, SMS and chat sent to the ports the
configuration names (or ``--url``), and the reasons it gives when it cannot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from interaction_center.cli import main
from interaction_center.settings.model import HttpSettings, Settings
from interaction_center.simulate import http_base
from tests.cli.commands import (
    good_config,
)
from tests.services import free_port
from tests.support import AppFactory, Client, login, offered, set_status

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
