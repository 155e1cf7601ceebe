"""The phone on the channel contract: Twilio Programmable Voice webhooks in (the IVR,
waiting, voicemail, call events), Twilio's REST API out (conferences, agents' legs,
callbacks). A call takes its agent alone; there are no replies to send on it."""

from __future__ import annotations

from aiohttp import web

from channels.contract import NO_KEYWORDS, Capacity, Keywords
from channels.twilio.settings import TwilioSettings
from channels.twilio.signature import TwilioSignatureCheck
from channels.voice.rest import TwilioVoice
from channels.voice.service import VoiceService
from channels.voice.webhook import VoiceWebhook
from interaction_center.domain.model import Channel, OutboundSender


class VoiceChannel:
    channel = Channel.VOICE
    capacity = Capacity(slots=1, exclusive=True)
    keywords: Keywords = NO_KEYWORDS

    def __init__(
        self, settings: TwilioSettings, service: VoiceService, rest: TwilioVoice | None, public_base_url: str
    ) -> None:
        signature = TwilioSignatureCheck(settings.auth_token, public_base_url)
        self._webhook = VoiceWebhook(signature, service, settings.default_region)
        self._rest = rest

    @property
    def sender(self) -> OutboundSender | None:
        """A call is talked, not written to: replies on it are refused."""
        return None

    def register(self, app: web.Application) -> None:
        self._webhook.register(app)

    async def start(self) -> None:
        """Webhooks arrive through the web app's routes: nothing of its own to start."""

    async def stop(self) -> None:
        if self._rest is not None:
            await self._rest.close()
