"""SMS on the channel contract: Twilio Messaging webhooks in, Twilio's REST API out."""

from __future__ import annotations

import logging

from aiohttp import web

from channels.contract import Capacity, Intake, Keywords
from channels.sms.webhook import KEYWORDS, SmsWebhook
from channels.twilio.rest import TwilioSmsSender
from channels.twilio.settings import TwilioSettings
from channels.twilio.signature import TwilioSignatureCheck
from interaction_center.domain.model import Channel, OutboundSender

log = logging.getLogger(__name__)


class SmsChannel:
    channel = Channel.SMS
    capacity = Capacity(slots=5)
    keywords: Keywords = KEYWORDS

    def __init__(self, settings: TwilioSettings, intake: Intake, public_base_url: str) -> None:
        signature = TwilioSignatureCheck(settings.auth_token, public_base_url)
        self._webhook = SmsWebhook(signature, intake, settings.default_region)
        self._sender: TwilioSmsSender | None = None
        if settings.account_sid:
            self._sender = TwilioSmsSender(settings, public_base_url + "/twilio/sms/status")
        else:
            log.warning("twilio.account_sid is not set: inbound SMS works, replies by SMS are refused")

    @property
    def sender(self) -> OutboundSender | None:
        return self._sender

    def register(self, app: web.Application) -> None:
        self._webhook.register(app)

    async def start(self) -> None:
        """Webhooks arrive through the web app's routes: nothing of its own to start."""

    async def stop(self) -> None:
        if self._sender is not None:
            await self._sender.close()
