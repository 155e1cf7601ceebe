"""SMS out through Twilio's REST API with the ``twilio`` library's async client."""

from __future__ import annotations

import logging

from aiohttp import ClientError
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from channels.twilio.settings import TwilioSettings
from interaction_center.domain.errors import ChannelError
from interaction_center.domain.model import OutboundMessage, SentMessage

log = logging.getLogger(__name__)


class TwilioSmsSender:
    def __init__(self, settings: TwilioSettings, status_callback: str, timeout: float = 15.0) -> None:
        self._settings = settings
        self._status_callback = status_callback
        self._timeout = timeout
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    def _connected(self) -> Client:
        # Built on first use: its aiohttp session must be born inside the running loop.
        if self._client is None:
            self._http = AsyncTwilioHttpClient(timeout=self._timeout)
            self._client = Client(self._settings.account_sid, self._settings.auth_token, http_client=self._http)
            # Configurable so tests can reach a local stub; production keeps Twilio's URL.
            self._client.api.base_url = self._settings.api_base_url
        return self._client

    async def send(self, message: OutboundMessage) -> SentMessage:
        try:
            # One message however long: Twilio splits it into segments and joins them again.
            created = await self._connected().messages.create_async(
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
        if self._http is not None:
            await self._http.close()
