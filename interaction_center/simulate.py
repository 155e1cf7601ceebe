"""``interaction-center simulate sms``: post a webhook signed exactly as Twilio signs it,
so the service can be tried without a Twilio account; ``simulate email``: send a mail to
the service's own SMTP server, as a customer's mail server would."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiohttp
import aiosmtplib
from twilio.request_validator import RequestValidator

from interaction_center.domain.errors import InvalidInput
from interaction_center.settings.model import Settings


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


def our_address(settings: Settings) -> str:
    """Where a simulated customer writes: the first address we take mail for, or the
    support mailbox of the first domain."""
    if not settings.smtp.domains:
        raise InvalidInput("email is off here: smtp.domains lists no domain or address", code="simulate.no_email")
    first = settings.smtp.domains[0]
    return first if "@" in first else f"support@{first}"


async def simulate_email(settings: Settings, sender: str, subject: str, text: str, to: str | None) -> str:
    """The server's answer to the mail once it took it (a 250); a refusal is raised as
    ``aiosmtplib.SMTPResponseException``, a server that does not answer as another
    ``aiosmtplib.SMTPException``."""
    if settings.smtp.port == 0:
        raise InvalidInput("smtp.port is 0 (any free port): set the port the service listens on", code="simulate.port")
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to or our_address(settings)
    mail["Subject"] = subject
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(domain="simulate.invalid")
    mail.set_content(text)
    _, answer = await aiosmtplib.send(mail, hostname=settings.smtp.host, port=settings.smtp.port, timeout=30)
    return answer
