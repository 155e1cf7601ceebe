"""SMS in: Twilio Messaging webhooks normalized into contacts (``POST /twilio/sms``), and
delivery reports for what we sent (``POST /twilio/sms/status``)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from multidict import MultiDict
from twilio.twiml.messaging_response import MessagingResponse

from channels.contract import Intake, Keywords
from channels.twilio import fields
from channels.twilio.signature import TwilioSignatureCheck
from interaction_center.domain.errors import InvalidInput
from interaction_center.domain.identity import normalize_phone
from interaction_center.domain.model import Channel, IdentityKind, InboundContact

log = logging.getLogger(__name__)

# Twilio sends at most 10 media items with one MMS.
_MAX_MEDIA = 10
# Twilio's default opt-out keywords, which carriers also honour.
KEYWORDS = Keywords(
    stop=frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}),
    start=frozenset({"START", "YES", "UNSTOP", "OPTIN"}),
    help=frozenset({"HELP", "INFO"}),
)
_STATUSES = frozenset(
    {"accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read", "canceled"}
)


def _media(form: MultiDict[str]) -> list[dict[str, str]]:
    raw = form.get("NumMedia", "0").strip() or "0"
    if not raw.isdecimal() or int(raw) > _MAX_MEDIA:
        raise InvalidInput(f"NumMedia must be a number from 0 to {_MAX_MEDIA}", code="webhook.bad_field")
    media = []
    for index in range(int(raw)):
        url = form.get(f"MediaUrl{index}", "")
        if not url.startswith(("https://", "http://")):
            raise InvalidInput(f"MediaUrl{index} is missing or not a URL", code="webhook.bad_field")
        media.append({"url": url, "content_type": form.get(f"MediaContentType{index}", "")})
    return media


def thread_key(ours: str, customer: str) -> str:
    """One open conversation per customer number and our number, whoever wrote first."""
    return f"sms:{ours}:{customer}"


def contact_from_form(form: MultiDict[str], default_region: str) -> InboundContact:
    missing = [name for name in ("From", "To", "MessageSid") if not form.get(name, "").strip()]
    if missing:
        raise InvalidInput(f"missing form field(s): {', '.join(missing)}", code="webhook.missing_field")
    sid = fields.sid(form, "MessageSid")
    customer = normalize_phone(form["From"], default_region)
    ours = normalize_phone(form["To"], default_region)
    body = form.get("Body", "")
    keyword = KEYWORDS.of(body)
    attributes: dict[str, Any] = {"num_segments": form.get("NumSegments"), "account_sid": form.get("AccountSid")}
    media = _media(form)
    if media:
        attributes["media"] = media
    if keyword is not None:
        attributes["keyword"] = keyword
    return InboundContact(
        channel=Channel.SMS,
        external_id=sid,
        identity_kind=IdentityKind.PHONE,
        from_address=customer,
        to_address=ours,
        body=body,
        thread_key=thread_key(ours, customer),
        attributes=attributes,
        opt_out=KEYWORDS.opt_out(keyword),
        keyword=keyword,
    )


class SmsWebhook:
    def __init__(
        self,
        signature: TwilioSignatureCheck,
        intake: Intake,
        default_region: str,
    ) -> None:
        self._signature = signature
        self._intake = intake
        self._region = default_region
        # An empty TwiML reply sends nothing back; it never changes, so it is made once.
        self._empty_reply = str(MessagingResponse())

    def register(self, app: web.Application) -> None:
        app.router.add_post("/twilio/sms", self.inbound)
        app.router.add_post("/twilio/sms/status", self.status)

    async def inbound(self, request: web.Request) -> web.Response:
        form = await self._signature.verified_form(request)
        contact = contact_from_form(form, self._region)
        await self._intake.receive(contact)
        # Answered only now that the contact is committed.
        return web.Response(text=self._empty_reply, content_type="text/xml")

    async def status(self, request: web.Request) -> web.Response:
        form = await self._signature.verified_form(request)
        sid = fields.sid(form, "MessageSid")
        status = form.get("MessageStatus", "").strip().lower()
        if status not in _STATUSES:
            raise InvalidInput(f"MessageStatus {status!r} is not a Twilio message status", code="webhook.bad_field")
        await self._intake.delivery(Channel.SMS, sid, status, form.get("ErrorCode") or None)
        return web.Response(status=204)
