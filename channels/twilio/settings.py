"""Twilio's configuration section, ``[twilio]``, shared by the channels that use Twilio."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str = ""
    auth_token: str = field(default="", repr=False)
    phone_number: str = ""
    api_base_url: str = "https://api.twilio.com"
    # Agents' browsers take calls with the Twilio Voice SDK: their access tokens are signed
    # with an API key (SID and secret) and name the TwiML App their outgoing calls use.
    api_key_sid: str = ""
    api_key_secret: str = field(default="", repr=False)
    twiml_app_sid: str = ""
    # Region assumed for numbers written without a country code.
    default_region: str = "US"
