"""``interaction-center simulate sms``: post a webhook signed exactly as Twilio signs it,
so the service can be tried without a Twilio account."""

from __future__ import annotations

import uuid

import aiohttp
from twilio.request_validator import RequestValidator

from interaction_center.settings import Settings


def signed_sms_form(settings: Settings, url: str, sender: str, text: str) -> tuple[dict[str, str], str]:
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": settings.twilio.account_sid or "AC" + "0" * 32,
        "From": sender,
        "To": settings.twilio.phone_number,
        "Body": text,
        "NumSegments": "1",
        "NumMedia": "0",
    }
    return form, RequestValidator(settings.twilio.auth_token).compute_signature(url, form)


async def simulate_sms(settings: Settings, sender: str, text: str) -> tuple[int, str]:
    url = settings.public_base_url + "/twilio/sms"
    form, signature = signed_sms_form(settings, url, sender, text)
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=form, headers={"X-Twilio-Signature": signature}) as response,
    ):
        return response.status, await response.text()
