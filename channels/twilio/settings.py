"""Twilio's configuration section, ``[twilio]``, shared by the channels that use Twilio."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str = ""
    auth_token: str = field(default="", repr=False)
    phone_number: str = ""
    api_base_url: str = "https://api.twilio.com"
    # Region assumed for numbers written without a country code.
    default_region: str = "US"
