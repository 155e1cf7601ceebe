"""Access tokens for agents' browsers: a Twilio Voice SDK token (``VoiceGrant``) whose
identity is the Client identity calls are dialled to (``client:<identity>``)."""

from __future__ import annotations

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from channels.twilio.settings import TwilioSettings

# An agent's shift is longer: the desktop asks for a new token before this runs out.
TOKEN_SECONDS = 3600


def can_issue(settings: TwilioSettings) -> bool:
    return bool(settings.account_sid and settings.api_key_sid and settings.api_key_secret and settings.twiml_app_sid)


def voice_token(settings: TwilioSettings, identity: str) -> str:
    token = AccessToken(
        settings.account_sid, settings.api_key_sid, settings.api_key_secret, identity=identity, ttl=TOKEN_SECONDS
    )
    token.add_grant(VoiceGrant(outgoing_application_sid=settings.twiml_app_sid, incoming_allow=True))
    jwt: str = token.to_jwt()
    return jwt
