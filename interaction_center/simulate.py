"""``interaction-center simulate``: contacts as a customer's side would send them, to the
service the configuration describes, so it can be tried without a Twilio account or a
browser. ``sms`` posts a webhook signed exactly as Twilio signs it; ``email`` sends a mail
to the service's own SMTP server, as a customer's mail server would; ``chat`` opens the
web-chat socket, as the widget does, and sends one message."""

from __future__ import annotations

import json
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiohttp
import aiosmtplib
from twilio.request_validator import RequestValidator

from interaction_center.domain.errors import InvalidInput
from interaction_center.settings.model import Settings

# The one message a simulated chat sends; the service acknowledges it under this id.
CHAT_CLIENT_ID = "simulate-1"
# How long to wait for each answer of the service before giving up.
ANSWER_SECONDS = 30.0


_CLOSED = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)


class NoAnswer(aiohttp.ClientError):
    """The service took the connection but closed it, or went quiet, without answering."""


def http_base(settings: Settings, url: str | None) -> str:
    """Where the running service takes HTTP: ``--url``, else ``http.host:http.port``. Not
    ``public_base_url``, which is where Twilio reaches it (a tunnel or a proxy, perhaps
    not reachable from here at all)."""
    if url is not None:
        if not url.startswith(("http://", "https://")):
            raise InvalidInput(f"--url {url!r}: must start with http:// or https://", code="simulate.url")
        return url.rstrip("/")
    if settings.http.port == 0:
        raise InvalidInput(
            "http.port is 0 (any free port): set the port the service listens on, or give --url",
            code="simulate.port",
        )
    return settings.local_base_url


def signed_sms_form(settings: Settings, url: str, sender: str, text: str) -> tuple[dict[str, str], str]:
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": settings.twilio.account_sid or "AC" + "0" * 32,
        "From": sender,
        "To": settings.twilio.phone_number,
        "Body": text,
        "NumSegments": "1",
        "NumMedia": "0",
    }
    return form, RequestValidator(settings.twilio.auth_token).compute_signature(url, form)


async def simulate_sms(settings: Settings, base: str, sender: str, text: str) -> tuple[int, str]:
    """Posted to ``base``, signed over the public URL: the service checks the signature
    over the URL Twilio calls, whichever address the webhook really came in on."""
    path = "/twilio/sms"
    form, signature = signed_sms_form(settings, settings.public_base_url + path, sender, text)
    async with (
        aiohttp.ClientSession() as session,
        session.post(base + path, data=form, headers={"X-Twilio-Signature": signature}) as response,
    ):
        return response.status, await response.text()


def our_address(settings: Settings) -> str:
    """Where a simulated customer writes: the first address we take mail for, or the
    support mailbox of the first domain."""
    if not settings.smtp.domains:
        raise InvalidInput("email is off here: smtp.domains lists no domain or address", code="simulate.no_email")
    first = settings.smtp.domains[0]
    return first if "@" in first else f"support@{first}"


async def simulate_email(settings: Settings, sender: str, subject: str, text: str, to: str | None) -> str:
    """The server's answer to the mail once it took it (a 250); a refusal is raised as
    ``aiosmtplib.SMTPResponseException``, a server that does not answer as another
    ``aiosmtplib.SMTPException``."""
    if settings.smtp.port == 0:
        raise InvalidInput("smtp.port is 0 (any free port): set the port the service listens on", code="simulate.port")
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to or our_address(settings)
    mail["Subject"] = subject
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(domain="simulate.invalid")
    mail.set_content(text)
    _, answer = await aiosmtplib.send(mail, hostname=settings.smtp.host, port=settings.smtp.port, timeout=30)
    return answer


async def simulate_chat(base: str, name: str, email: str | None, text: str) -> dict[str, Any]:
    """The service's answer to one chat message: its ``ack`` once committed, or the
    ``error`` frame that refused the start or the message. A service that does not answer
    raises ``aiohttp.ClientError``."""
    start = {"type": "start", "name": name} | ({"email": email} if email is not None else {})
    async with aiohttp.ClientSession() as session, session.ws_connect(base + "/chat/ws") as socket:
        await socket.send_json(start)
        started = await _answer(socket, "started")
        if started["type"] == "error":
            return started
        await socket.send_json({"type": "message", "client_id": CHAT_CLIENT_ID, "body": text})
        return await _answer(socket, "ack")


async def _answer(socket: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next frame of this kind, or an error frame; others (the place in the queue) are
    not answers to what was sent."""
    while True:
        try:
            message = await socket.receive(timeout=ANSWER_SECONDS)
        except TimeoutError as exc:
            raise NoAnswer(f"no {kind!r} frame within {ANSWER_SECONDS:.0f} seconds") from exc
        if message.type in _CLOSED:
            raise NoAnswer(f"the chat socket closed before a {kind!r} frame")
        try:
            frame = json.loads(message.data) if message.type == aiohttp.WSMsgType.TEXT else None
        except ValueError:
            continue  # not a frame of the chat protocol, so no answer either
        if isinstance(frame, dict) and frame.get("type") in (kind, "error"):
            return frame
