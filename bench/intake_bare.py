"""The bare components the benchmarks compare the service with, each run in its own
process (like the service) so that client and server never share one event loop:

    python -m bench.intake_bare sms PORT    # aiohttp form handler answering empty TwiML
    python -m bench.intake_bare smtp PORT   # aiosmtpd sink answering 250 to every mail
    python -m bench.intake_bare chat PORT   # aiohttp WebSocket echo server
    python -m bench.intake_bare offer PORT  # form handler pushing one frame to a socket on /ws
    python -m bench.intake_bare voice PORT  # signed voice webhooks answered with an IVR's TwiML

Each serves on 127.0.0.1:PORT until it is terminated."""

from __future__ import annotations

import asyncio
import hmac
import signal
import sys
import uuid

from aiohttp import WSMsgType, web
from aiosmtpd.smtp import SMTP, Envelope, Session
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from bench.service_config import PUBLIC, TOKEN

# What the service answers a webhook with: str(twilio.twiml.messaging_response.MessagingResponse()).
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


async def _sms(request: web.Request) -> web.Response:
    form = await request.post()
    if not form.get("From") or not form.get("To") or not form.get("MessageSid"):
        return web.json_response({"error": {"code": "webhook.missing_field"}}, status=400)
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


# The sockets open on /ws, which the offer handler pushes to (bench.offer_latency opens one).
_AGENT_SOCKETS: list[web.WebSocketResponse] = []


async def _offer(request: web.Request) -> web.Response:
    form = await request.post()
    await _AGENT_SOCKETS[0].send_json({"type": "offer", "preview": {"from": form["From"]}})
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


async def _agent_socket(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse()
    # Listed before the handshake ends, so that the client's first webhook finds it.
    _AGENT_SOCKETS.append(socket)
    await socket.prepare(request)
    async for _ in socket:
        pass
    _AGENT_SOCKETS.remove(socket)
    return socket


async def _echo(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse(heartbeat=30.0, max_msg_size=256 * 1024)
    await socket.prepare(request)
    async for frame in socket:
        if frame.type == WSMsgType.TEXT:
            await socket.send_str(frame.data)
    return socket


_VALIDATOR = RequestValidator(TOKEN)
_VOICE = PUBLIC + "/twilio/voice"


def _gather(response: VoiceResponse, say: str, step: int, digits: int) -> None:
    """As the service's IVR answers a menu or a collect (channels.voice.twiml.step)."""
    gather = response.gather(
        input="dtmf",
        action=f"{_VOICE}/step/{step}",
        method="POST",
        timeout=5,
        num_digits=digits,
        finish_on_key="#",
        action_on_empty_result=False,
    )
    gather.say(say)
    response.redirect(f"{_VOICE}/step/{step}", method="POST")


async def _voice(request: web.Request) -> web.Response:
    """The answers the service gives a caller walking bench.voice's flow, each VoiceResponse
    built per request, after the same signature check (one HMAC over the public URL and
    the form); stateless: the step and the digits say which answer."""
    form = await request.post()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    signature = request.headers.get("X-Twilio-Signature", "")
    expected = _VALIDATOR.compute_signature(PUBLIC + request.rel_url.path_qs, fields)
    if not signature or not hmac.compare_digest(expected.encode(), signature.encode()):
        return web.json_response({"error": {"code": "twilio.bad_signature"}}, status=403)
    if not fields.get("CallSid", "").isalnum():
        return web.json_response({"error": {"code": "webhook.missing_field"}}, status=400)
    response = VoiceResponse()
    step = request.match_info.get("number")
    if step is None:  # a new call: the welcome, then the menu
        response.say("Welcome to Example.")
        _gather(response, "For sales press 1, for support press 2.", 1, 1)
    elif step == "1" and fields.get("Digits") == "2":
        _gather(response, "Please key in your eight digit account number.", 2, 8)
    else:  # sales, or the account keyed in: the caller's own Twilio queue
        response.enqueue(
            str(uuid.uuid4()),
            wait_url=f"{_VOICE}/wait",
            wait_url_method="POST",
            action=f"{_VOICE}/queue-result",
            method="POST",
        )
    return web.Response(text=str(response), content_type="text/xml")


class _Sink:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 2.0.0 OK"


async def _serve(kind: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    if kind == "smtp":
        sink = _Sink()
        server = await loop.create_server(
            lambda: SMTP(sink, hostname="example.com", ident="bare", loop=loop), "127.0.0.1", port
        )
        await stop.wait()
        server.close()
        return
    app = web.Application()
    if kind == "sms":
        app.router.add_post("/twilio/sms", _sms)
    elif kind == "voice":
        app.router.add_post("/twilio/voice", _voice)
        app.router.add_post("/twilio/voice/step/{number}", _voice)
    elif kind == "offer":
        app.router.add_post("/twilio/sms", _offer)
        app.router.add_get("/ws", _agent_socket)
    else:
        app.router.add_get("/chat/ws", _echo)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("sms", "smtp", "chat", "offer", "voice"):
        raise SystemExit("usage: python -m bench.intake_bare sms|smtp|chat|offer|voice PORT")
    asyncio.run(_serve(sys.argv[1], int(sys.argv[2])))
