"""Email on the channel contract: an SMTP server in (when ``smtp.domains`` names what we
take mail for), an SMTP relay out (when ``smtp.relay_host`` is set)."""

from __future__ import annotations

import logging

from aiohttp import web

from channels.contract import NO_KEYWORDS, Capacity, Intake, Keywords
from channels.email.inbound import SmtpServer
from channels.email.outbound import SmtpEmailSender
from channels.email.settings import SmtpSettings
from interaction_center.domain.model import Channel, OutboundSender

log = logging.getLogger(__name__)


class EmailChannel:
    channel = Channel.EMAIL
    capacity = Capacity(slots=5)
    keywords: Keywords = NO_KEYWORDS

    def __init__(self, settings: SmtpSettings, intake: Intake) -> None:
        self.server = SmtpServer(settings, intake.receive) if settings.domains else None
        self._sender: SmtpEmailSender | None = None
        if settings.relay_host:
            self._sender = SmtpEmailSender(settings)
        elif settings.domains:
            log.warning("smtp.relay_host is not set: inbound email works, replies by email are refused")

    @property
    def sender(self) -> OutboundSender | None:
        return self._sender

    def register(self, app: web.Application) -> None:
        """Mail does not come over HTTP."""

    async def start(self) -> None:
        if self.server is not None:
            await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()
        if self._sender is not None:
            await self._sender.close()
