"""SMS out through Twilio's REST API with the ``twilio`` library's async client."""

from __future__ import annotations

import logging

from aiohttp import ClientError
from twilio.base.exceptions import TwilioException, TwilioRestException

from channels.twilio.client import TwilioClient
from channels.twilio.settings import TwilioSettings
from interaction_center.domain.errors import ChannelError
from interaction_center.domain.model import OutboundMessage, SentMessage

log = logging.getLogger(__name__)


class TwilioSmsSender:
    def __init__(self, settings: TwilioSettings, status_callback: str, timeout: float = 15.0) -> None:
        self._status_callback = status_callback
        self._client = TwilioClient(settings, timeout)

    async def send(self, message: OutboundMessage) -> SentMessage:
        try:
            # One message however long: Twilio splits it into segments and joins them again.
            created = await self._client.connected().messages.create_async(
                to=message.to_address,
                from_=message.from_address,
                body=message.body,
                status_callback=self._status_callback,
            )
        except TwilioRestException as exc:
            raise ChannelError(f"Twilio refused the message: {exc.msg} ({exc.code})", code="sms.refused") from exc
        except (TwilioException, ClientError, TimeoutError) as exc:
            raise ChannelError(f"Twilio could not be reached: {exc}", code="sms.unreachable") from exc
        return SentMessage(external_id=str(created.sid), status=str(created.status))

    async def close(self) -> None:
        await self._client.close()
