"""Email out over SMTP to the configured relay, with ``aiosmtplib``: replies threaded to the
customer's last message (In-Reply-To, References), a Message-ID of ours that their answer
names, and a Reply-To carrying the conversation's token."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from channels.email.address import tokened
from channels.email.settings import SmtpSettings
from interaction_center.domain.errors import ChannelError
from interaction_center.domain.model import OutboundMessage, SentMessage

# Relays drop long References lines; the newest ids are the ones threading needs.
_MAX_REFERENCES = 20


def reply_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    if not subject:
        return "Re: your message"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def compose(message: OutboundMessage, message_id: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Message-ID"] = message_id
    mail["Date"] = formatdate(usegmt=True)
    mail["From"] = message.from_address
    mail["To"] = message.to_address
    mail["Reply-To"] = tokened(message.from_address, message.thread_key)
    # A conversation we start keeps the subject the agent gave it; everything else answers.
    starting = not message.in_reply_to and not message.automated and message.subject.strip()
    mail["Subject"] = " ".join(message.subject.split()) if starting else reply_subject(message.subject)
    if message.in_reply_to:
        mail["In-Reply-To"] = message.in_reply_to
    references = [*message.references, *([message.in_reply_to] if message.in_reply_to else [])]
    if references:
        mail["References"] = " ".join(dict.fromkeys(references[-_MAX_REFERENCES:]))
    if message.automated:
        # RFC 3834: tells other auto-responders not to answer this one.
        mail["Auto-Submitted"] = "auto-replied"
    mail.set_content(message.body)
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return mail


# smtp.relay_tls -> aiosmtplib's start_tls (None: if the relay offers it).
_START_TLS: dict[str, bool | None] = {"auto": None, "starttls": True, "tls": False, "none": False}


class SmtpEmailSender:
    def __init__(self, settings: SmtpSettings, timeout: float = 30.0) -> None:
        self._settings = settings
        self._timeout = timeout
        # Verifies the relay's certificate and host name; built once, not per message.
        self._tls = ssl.create_default_context(cafile=settings.relay_ca_file or None)

    async def send(self, message: OutboundMessage) -> SentMessage:
        smtp = self._settings
        message_id = make_msgid(domain=message.from_address.rpartition("@")[2] or None)
        try:
            mail = compose(message, message_id)
        except (ValueError, TypeError) as exc:  # a header the email package will not write
            raise ChannelError(f"the reply cannot be written as email: {exc}", code="email.invalid") from exc
        try:
            # One connection per message: replies are few, and a relay restart costs nothing.
            await aiosmtplib.send(
                mail,
                sender=message.from_address,
                recipients=[message.to_address],
                hostname=smtp.relay_host,
                port=smtp.relay_port,
                username=smtp.relay_username or None,
                password=smtp.relay_password or None,
                use_tls=smtp.relay_tls == "tls",
                start_tls=_START_TLS[smtp.relay_tls],
                tls_context=self._tls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            # The relay's answer only: the credentials are never part of a message.
            raise ChannelError(
                f"the relay refused our credentials: {exc.code} {exc.message}", code="email.auth_failed"
            ) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(f"the relay refused the recipient: {exc}", code="email.refused") from exc
        except aiosmtplib.SMTPResponseException as exc:
            code = "email.refused" if exc.code >= 500 else "email.unreachable"
            raise ChannelError(f"the relay answered {exc.code} {exc.message}", code=code) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"the relay could not be reached: {exc}", code="email.unreachable") from exc
        return SentMessage(external_id=message_id, status="sent")

    async def close(self) -> None:
        """Nothing held between messages."""
