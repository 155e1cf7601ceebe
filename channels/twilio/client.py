"""The ``twilio`` library's client on its async HTTP client, as the channels that call
Twilio's REST API share it."""

from __future__ import annotations

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from channels.twilio.settings import TwilioSettings


class TwilioClient:
    def __init__(self, settings: TwilioSettings, timeout: float) -> None:
        self._settings = settings
        self._timeout = timeout
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    def connected(self) -> Client:
        # Built on first use: its aiohttp session must be born inside the running loop.
        if self._client is None:
            self._http = AsyncTwilioHttpClient(timeout=self._timeout)
            self._client = Client(self._settings.account_sid, self._settings.auth_token, http_client=self._http)
            # Configurable so tests can reach a local stub; production keeps Twilio's URL.
            self._client.api.base_url = self._settings.api_base_url
        return self._client

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
