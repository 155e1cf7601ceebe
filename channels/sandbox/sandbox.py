"""DEMO ONLY: the sandbox as the service runs it: the outbox, the Twilio stand-in and the
mail sink, started and stopped with the service."""

from __future__ import annotations

import dataclasses
import logging

from aiohttp import web

from channels.email.settings import SmtpSettings
from channels.sandbox.mail_sink import MailSink
from channels.sandbox.outbox import Outbox
from channels.sandbox.twilio_api import DEMO_ACCOUNT_SID, PREFIX, TwilioStandIn
from channels.twilio.settings import TwilioSettings

log = logging.getLogger(__name__)


class Sandbox:
    def __init__(
        self, twilio: TwilioSettings, smtp: SmtpSettings, local_base: str, public_base: str, outbox: Outbox
    ) -> None:
        self.outbox = outbox
        self._local = local_base
        self._twilio = TwilioStandIn(self.outbox, twilio.auth_token, local_base, public_base)
        self._sink = MailSink(self.outbox, smtp.relay_host, smtp.relay_port) if smtp.relay_host else None

    def twilio(self, settings: TwilioSettings) -> TwilioSettings:
        """Twilio's settings with the REST API pointed at the stand-in."""
        return dataclasses.replace(settings, account_sid=DEMO_ACCOUNT_SID, api_base_url=self._local + PREFIX)

    def register(self, app: web.Application) -> None:
        self._twilio.register(app)
        self.outbox.register(app)

    async def start(self) -> None:
        log.warning("DEMO SANDBOX on: SMS and email replies are kept in %s/demo/outbox and reach nobody", self._local)
        if self._sink is not None:
            await self._sink.start()

    async def close(self) -> None:
        await self._twilio.close()
        if self._sink is not None:
            await self._sink.close()
        await self.outbox.close()
