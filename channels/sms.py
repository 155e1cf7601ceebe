"""SMS in: Twilio Messaging webhooks (``POST /twilio/sms``) normalized into contacts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from multidict import MultiDict
from twilio.twiml.messaging_response import MessagingResponse

from channels.twilio_signature import TwilioSignatureCheck
from interaction_center.errors import InvalidInput
from interaction_center.identity import normalize_phone
from interaction_center.model import Channel, IdentityKind, InboundContact

log = logging.getLogger(__name__)

Receiver = Callable[[InboundContact], Awaitable[Any]]
# Twilio message SIDs: "SM" or "MM" and 32 hex digits; a bounded length keeps junk out.
_MAX_SID = 64


def contact_from_form(form: MultiDict[str], default_region: str) -> InboundContact:
    missing = [name for name in ("From", "To", "MessageSid") if not form.get(name, "").strip()]
    if missing:
        raise InvalidInput(f"missing form field(s): {', '.join(missing)}", code="webhook.missing_field")
    sid = form["MessageSid"].strip()
    if len(sid) > _MAX_SID or not sid.isalnum():
        raise InvalidInput("MessageSid is not a message SID", code="webhook.bad_field")
    customer = normalize_phone(form["From"], default_region)
    ours = normalize_phone(form["To"], default_region)
    return InboundContact(
        channel=Channel.SMS,
        external_id=sid,
        identity_kind=IdentityKind.PHONE,
        from_address=customer,
        to_address=ours,
        body=form.get("Body", ""),
        # One open conversation per customer number and our number.
        thread_key=f"sms:{ours}:{customer}",
        attributes={"num_segments": form.get("NumSegments"), "account_sid": form.get("AccountSid")},
    )


class SmsWebhook:
    def __init__(self, signature: TwilioSignatureCheck, receive: Receiver, default_region: str) -> None:
        self._signature = signature
        self._receive = receive
        self._region = default_region

    def register(self, app: web.Application) -> None:
        app.router.add_post("/twilio/sms", self.inbound)

    async def inbound(self, request: web.Request) -> web.Response:
        form = await self._signature.verified_form(request)
        contact = contact_from_form(form, self._region)
        await self._receive(contact)
        # Answered only now that the contact is committed; an empty TwiML reply sends nothing back.
        return web.Response(text=str(MessagingResponse()), content_type="text/xml")
