"""DEMO ONLY: an SMTP server on the relay's address (``smtp.relay_host:relay_port``) that
takes every message the service sends and keeps it in the outbox: the demo's email replies
and acknowledgements go through a real SMTP conversation and reach nobody."""

from __future__ import annotations

import asyncio
import logging

from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.sandbox.outbox import Outbox

log = logging.getLogger(__name__)


class _Keep:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content or "")
        sender = str(envelope.mail_from or "")
        for recipient in envelope.rcpt_tos:
            await self._outbox.add("email", recipient, sender, text)
        log.info("DEMO SANDBOX: mail to %s kept in the outbox, not sent", ", ".join(envelope.rcpt_tos))
        return "250 kept by the demo sandbox"


class MailSink:
    def __init__(self, outbox: Outbox, host: str, port: int) -> None:
        self._handler = _Keep(outbox)
        self._host, self._port = host, port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self._handler, hostname="demo-sandbox.invalid", loop=loop), self._host, self._port
        )
        log.warning("DEMO SANDBOX: mail to the relay %s:%s is kept, not sent", self._host, self._port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
