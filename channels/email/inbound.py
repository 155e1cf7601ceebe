"""Email in: an aiosmtpd server on the service's own event loop. It takes mail only for
our domains and addresses, within the size limit, and answers 250 only once the contact
is committed; no input ever stops it. Mail is read on a thread of its own, one at a time
and bounded (``channels.email.limits``), so a heavy mail never holds up the loop."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email import limits
from channels.email.address import accepts
from channels.email.parse import contact_from_mail
from channels.email.settings import SmtpSettings
from interaction_center.domain.errors import InteractionCenterError, InvalidInput
from interaction_center.domain.model import InboundContact

log = logging.getLogger(__name__)

Receiver = Callable[[InboundContact], Awaitable[Any]]

TEMPORARY_FAILURE = "451 4.3.0 Temporary failure, please try again later"
# What aiosmtpd answers, after the data, to a line longer than its limit.
_BARE_LINE_TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"


def smtp_status(error: Exception) -> str:
    """The one mapping of our errors to SMTP replies: input we cannot use is refused for
    good; anything else (storage down, a bug) is temporary, so the sender retries."""
    if isinstance(error, InvalidInput):
        reason = " ".join(error.message.split())[:200]
        return f"552 5.3.4 {reason}" if error.code in limits.TOO_BIG else f"554 5.6.0 {reason}"
    return TEMPORARY_FAILURE


def read_mail(raw: bytes, mail_from: str | None, recipients: Sequence[str]) -> InboundContact:
    """What runs on the parser's thread: the mail held to its bounds, then read."""
    limits.check(raw)
    return contact_from_mail(raw, mail_from, recipients)


class MailHandler:
    """aiosmtpd's handler hooks, called by name for each SMTP command."""

    def __init__(self, receive: Receiver, domains: tuple[str, ...], max_bytes: int) -> None:
        self._receive = receive
        self._domains = frozenset(domains)
        self._max_bytes = max_bytes
        # One mail at a time: parsing is pure Python, and several threads at it would take
        # the interpreter from the event loop in turn. Its thread starts with the first mail.
        self._parser = ThreadPoolExecutor(1, thread_name_prefix="mail-parser")

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not accepts(address, self._domains):
            log.info("smtp %s: recipient %r refused", session.peer, address)
            return "550 5.1.1 Recipient not accepted here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if len(raw) > self._max_bytes:
            return f"552 5.3.4 Message larger than {self._max_bytes} bytes"
        try:
            loop = asyncio.get_running_loop()
            contact = await loop.run_in_executor(
                self._parser, read_mail, raw, envelope.mail_from, list(envelope.rcpt_tos)
            )
            await self._receive(contact)
        except Exception as exc:
            if not isinstance(exc, InteractionCenterError) or exc.status >= 500:
                log.exception("smtp %s: mail from %r not taken", session.peer, envelope.mail_from)
            return smtp_status(exc)
        return f"250 2.0.0 OK {contact.external_id}"

    async def handle_exception(self, error: Exception) -> str:
        log.exception("smtp: session error", exc_info=error)
        return smtp_status(error)

    def close(self) -> None:
        """A mail being read finishes on its thread; any waiting are dropped unanswered,
        as their sessions are closed: their senders retry."""
        self._parser.shutdown(wait=False, cancel_futures=True)


class _Session(SMTP):
    """aiosmtpd with longer lines, and a considered answer to one too long."""

    # aiosmtpd's own limit is 1001. Lines up to this reach limits.check, which refuses an
    # over-long header line by its name, and longer body lines are taken. Not the size
    # limit: aiosmtpd buffers twice this much and reads its lines without the loop turning
    # in between, and a 10 MB buffer held /healthz for ~140 ms (bench.mail_stall).
    line_length_limit = 64 * 1024

    async def push(self, status: AnyStr) -> None:
        if status == _BARE_LINE_TOO_LONG:
            status = f"554 5.6.0 Line longer than {self.line_length_limit} bytes"  # type: ignore[assignment]
        await super().push(status)


class SmtpServer:
    """Started and stopped with the service; ``port`` is the one bound (``smtp.port`` 0
    picks a free one)."""

    def __init__(self, settings: SmtpSettings, receive: Receiver) -> None:
        self._settings = settings
        self._handler = MailHandler(receive, settings.domains, settings.max_message_bytes)
        self._server: asyncio.Server | None = None
        self._sessions: weakref.WeakSet[_Session] = weakref.WeakSet()
        self.port = settings.port

    def _session(self) -> SMTP:
        smtp = _Session(
            self._handler,
            # Announced as SIZE, so clients can give up before sending; aiosmtpd answers 552.
            data_size_limit=self._settings.max_message_bytes,
            enable_SMTPUTF8=True,
            # Named, not looked up: socket.getfqdn() can stall on a box without DNS.
            hostname=self._settings.domains[0] if self._settings.domains else "localhost",
            ident="Interaction Center",
            loop=asyncio.get_running_loop(),
        )
        self._sessions.add(smtp)
        return smtp

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._session, self._settings.host, self._settings.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("smtp listening on %s:%s for %s", self._settings.host, self.port, ", ".join(self._settings.domains))

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        # Open sessions end too: a mail not yet answered 250 is retried by its sender.
        for smtp in list(self._sessions):
            if smtp.transport is not None:
                smtp.transport.close()
        await self._server.wait_closed()
        self._server = None
        self._handler.close()
