"""``interaction-center simulate call``: whole calls against the served app with the phone
on (tests.voice.support's FLOW), driven as Twilio drives them, and the reasons it gives
when it cannot."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from channels.twilio.settings import TwilioSettings
from interaction_center.cli import main
from interaction_center.settings.model import HttpSettings, Settings
from interaction_center.simulate_call import DEMO_RECORDING, DEMO_TRANSCRIPTION, WAITING, SimulatedCall, scripted
from interaction_center.web.keys import SERVICES
from storage.models import Interaction, InteractionEvent, Message, VoiceCall
from tests.cli.commands import good_config
from tests.services import free_port
from tests.support import AUTH_TOKEN, OUR_NUMBER, AppFactory, Client
from tests.voice.support import voice_settings

CALLER = "+15551230001"
# Quick polls, and a caller who hangs up soon: nobody answers in these tests.
QUICK = ["--poll-seconds", "0.1", "--max-wait-seconds", "0.5"]


class Served(NamedTuple):
    client: Client
    settings: Settings
    config: Path  # the file the command reads: the served app's, naming the port it serves on

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.client.port}"


Serve = Callable[..., Awaitable[Served]]


@pytest.fixture
def serve(app_factory: AppFactory, settings_factory: Callable[..., Settings], tmp_path: Path) -> Serve:
    """The app with the phone on (``support``: more TOML for [queues.support])."""

    async def start(support: str = "") -> Served:
        client = await app_factory(voice_settings(tmp_path, settings_factory, support))
        # TestClient.port is None only until the server starts; app_factory has started it.
        settings = voice_settings(tmp_path, settings_factory, support, port=client.port)
        return Served(client, settings, tmp_path / "interaction-center.toml")

    return start


async def call(config: Path, *options: str) -> int:
    # The command runs on its own thread, and the app serves on this loop.
    return await asyncio.to_thread(main, ["--config", str(config), "simulate", "call", "--from", CALLER, *options])


async def the_call(client: Client) -> tuple[VoiceCall, Interaction, list[InteractionEvent]]:
    async with client.app[SERVICES].sessions() as session:
        [row] = await session.scalars(select(VoiceCall))
        interaction = await session.get(Interaction, row.interaction_id)
        assert interaction is not None
        events = await session.scalars(
            select(InteractionEvent)
            .where(InteractionEvent.interaction_id == interaction.id)
            .order_by(InteractionEvent.id)
        )
        return row, interaction, list(events)


async def test_pressing_through_the_menu_reaches_the_queue_and_hangs_up_after_the_longest_wait(
    serve: Serve, capsys: pytest.CaptureFixture[str]
) -> None:
    client, _, config = await serve()

    code = await call(config, "--press", "2,12345678", *QUICK)

    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"calling {OUR_NUMBER} from {CALLER} (CallSid CA")
    for heard in (
        "Welcome to Example.",
        "For sales press 1, for support press 2.",
        "  keys or words (Enter: silence)> 2",
        "Please key in your eight digit account number.",
        "  keys or words (Enter: silence)> 12345678",
        WAITING,
        "You are next in line.",
        "[nobody answered within 0.5 seconds]",
        "[you hang up]",
    ):
        assert heard in lines, out
    assert lines.index("Welcome to Example.") < lines.index(WAITING) < lines.index("You are next in line.")
    assert lines[-1] == "[call ended]"
    # Twilio's two webhooks for a caller who hangs up while waiting: the Enqueue's action
    # (QueueResult=hangup) and the status callback. The wait counted as abandoned.
    row, interaction, events = await the_call(client)
    assert (row.caller, row.phase, interaction.state) == (CALLER, "ended", "abandoned")
    kinds = [event.type for event in events]
    assert {"queued", "wait_announced", "abandoned", "call_ended"} <= set(kinds), kinds
    [abandoned] = [event for event in events if event.type == "abandoned"]
    assert abandoned.data["queue_result"] == "hangup"


async def test_three_wrong_keys_hear_the_goodbye_and_the_call_ends(
    serve: Serve, capsys: pytest.CaptureFixture[str]
) -> None:
    client, _, config = await serve()

    code = await call(config, "--press", "7,7,7")

    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines.count("Sorry, that is not a choice.") == 2
    assert lines[-2:] == ["Goodbye.", "[call ended]"]
    assert WAITING not in lines
    row, interaction, events = await the_call(client)
    assert (row.phase, interaction.state) == ("ended", "cancelled")
    kinds = [event.type for event in events]
    assert kinds.count("ivr_invalid") == 2 and "ivr_fallback" in kinds and kinds[-1] == "call_ended"


async def test_silence_is_asked_again_until_the_fallback(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    # No --press item left is silence: Twilio follows the <Redirect> after the <Gather>.
    client, _, config = await serve()

    code = await call(config, "--press", "")

    out = capsys.readouterr().out
    assert code == 0
    assert out.count("> (silence)") == 3 and out.endswith("Goodbye.\n[call ended]\n")
    _, _, events = await the_call(client)
    assert [event.type for event in events].count("ivr_timeout") >= 2


async def test_past_the_longest_wait_the_caller_leaves_the_queue_for_voicemail(serve: Serve) -> None:
    # The service's maximum wait answers the wait URL with <Leave/>: the Enqueue's action
    # (QueueResult=leave) leads to voicemail, recorded with the demo recording.
    served = await serve('[queues.support.voice]\nmax_wait_seconds = 1\nmax_wait_branch = "voicemail"\n')
    heard: list[str] = []
    answers = iter(["2", "12345678"])
    simulated = SimulatedCall(
        served.settings,
        served.base,
        CALLER,
        OUR_NUMBER,
        lambda prompt: next(answers),
        show=heard.append,
        poll_seconds=0.2,
        max_wait_seconds=30,
    )

    await asyncio.to_thread(simulated.run)

    assert heard.index(WAITING) < heard.index("[recording: say your message]")
    assert "Please leave a message after the tone, and press the pound key when you are done." in heard
    assert heard[-2:] == ["Thank you, your message has been recorded. Goodbye.", "[call ended]"]
    async with served.client.app[SERVICES].sessions() as session:
        [message] = await session.scalars(select(Message).where(Message.body == "Voicemail (0:10)"))
    voicemail = message.attributes["voicemail"]
    assert voicemail["recording_url"].startswith(DEMO_RECORDING) and voicemail["call_sid"] == simulated.call_sid
    assert message.attributes["transcription"] == DEMO_TRANSCRIPTION
    _, interaction, events = await the_call(served.client)
    assert interaction.state == "abandoned"
    [abandoned] = [event for event in events if event.type == "abandoned"]
    assert (abandoned.data["reason"], abandoned.data["queue_result"]) == ("voicemail", "leave")


async def test_words_at_a_prompt_that_takes_keys_go_unheard(serve: Serve) -> None:
    # FLOW's menu listens for keys only: "support" is not sent, as Twilio would not hear it.
    served = await serve()
    client = served.client
    heard: list[str] = []
    answers = iter(["support", "7", "7"])
    simulated = SimulatedCall(
        served.settings, served.base, CALLER, OUR_NUMBER, lambda prompt: next(answers), show=heard.append
    )

    await asyncio.to_thread(simulated.run)

    assert "[this prompt listens for keys only: the words go unheard]" in heard
    _, _, events = await the_call(client)
    assert [event.type for event in events].count("ivr_timeout") == 1


async def test_a_wrong_auth_token_is_a_refused_signature(serve: Serve, capsys: pytest.CaptureFixture[str]) -> None:
    _, _, config = await serve()
    config.write_text(config.read_text().replace(AUTH_TOKEN, "another-token"))

    code = await call(config, "--press", "2")

    assert code == 1
    assert capsys.readouterr().err == (
        "error: signature refused: does --config match the service's twilio.auth_token?\n"
    )


def test_a_closed_port_says_the_service_did_not_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nobody listens on it
    path = good_config(tmp_path)

    code = main(
        [
            "--config",
            str(path),
            "simulate",
            "call",
            "--from",
            CALLER,
            "--to",
            OUR_NUMBER,
            "--url",
            f"http://127.0.0.1:{port}",
        ]
    )

    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"error: the service at http://127.0.0.1:{port} did not answer: "), err


def test_without_a_number_to_call_it_asks_for_to(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(good_config(tmp_path)), "simulate", "call", "--from", CALLER, "--url", "http://x"])

    assert (code, capsys.readouterr().err) == (
        1,
        "error: twilio.phone_number is not set: give --to, the number to call\n",
    )


# --- against a stand-in that answers with set TwiML: what exactly is posted ------------------

PUBLIC = "https://ic.example.test"
STAND_IN = Settings(
    http=HttpSettings(public_base_url=PUBLIC),
    twilio=TwilioSettings(account_sid="AC" + "2" * 32, auth_token="stand-in-token", phone_number=OUR_NUMBER),
)
# What the stand-in answers on each path: a queue whose wait URL offers a callback, taken.
TWIML = {
    "/twilio/voice": f'<Response><Say>Hello.</Say><Enqueue action="{PUBLIC}/twilio/voice/queue-result"'
    f' waitUrl="{PUBLIC}/twilio/voice/wait">q1</Enqueue></Response>',
    "/twilio/voice/wait": f'<Response><Gather input="dtmf" numDigits="1" action="{PUBLIC}/twilio/voice/wait/key">'
    "<Say>You are next in line.</Say><Say>Press 1 to be called back.</Say></Gather>"
    "<Play>https://music.test/hold.mp3</Play></Response>",
    "/twilio/voice/wait/key": "<Response><Leave/></Response>",
    "/twilio/voice/queue-result": "<Response><Say>We will call you back.</Say><Hangup/></Response>",
}


async def test_the_wait_urls_callback_offer_is_answered_like_any_prompt_with_twilios_fields() -> None:
    posted: list[tuple[str, dict[str, str]]] = []
    validator = RequestValidator("stand-in-token")

    async def answer(request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        signed = validator.validate(PUBLIC + request.path, form, request.headers["X-Twilio-Signature"])
        assert signed, request.path
        posted.append((request.path, form))
        if request.path == "/twilio/voice/status":
            return web.Response(status=204)
        return web.Response(text=TWIML[request.path], content_type="text/xml")

    app = web.Application()
    app.router.add_post("/{path:.*}", answer)
    heard: list[str] = []
    async with TestServer(app) as server:
        # Silence at the first offer (the music plays on), the key at the second.
        simulated = SimulatedCall(
            STAND_IN,
            str(server.make_url("")),
            CALLER,
            OUR_NUMBER,
            scripted(["", "1"], show=heard.append),
            show=heard.append,
            poll_seconds=0.01,
        )
        await asyncio.to_thread(simulated.run)

    assert heard[1:] == [
        "Hello.",
        WAITING,
        "You are next in line.",
        "Press 1 to be called back.",
        "  keys or words (Enter: silence)> (silence)",
        "[plays https://music.test/hold.mp3]",
        "You are next in line.",
        "Press 1 to be called back.",
        "  keys or words (Enter: silence)> 1",
        "We will call you back.",
        "[call ended]",
    ]
    paths = [path for path, _ in posted]
    assert paths == [
        "/twilio/voice",
        "/twilio/voice/wait",
        "/twilio/voice/wait",
        "/twilio/voice/wait/key",
        "/twilio/voice/queue-result",
        "/twilio/voice/status",
    ]
    incoming, wait, _, key, result, status = (form for _, form in posted)
    assert re.fullmatch(r"CA[0-9a-f]{32}", incoming["CallSid"])
    assert {form["CallSid"] for _, form in posted} == {incoming["CallSid"]}
    assert incoming == {
        "CallSid": incoming["CallSid"],
        "AccountSid": "AC" + "2" * 32,
        "From": CALLER,
        "To": OUR_NUMBER,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }
    assert {"QueueSid", "QueuePosition", "QueueTime", "AvgQueueTime", "CurrentQueueSize"} <= set(wait)
    assert (key["Digits"], result["QueueResult"], result["QueueSid"]) == ("1", "leave", wait["QueueSid"])
    assert status["CallStatus"] == "completed" and status["CallDuration"].isdecimal()
