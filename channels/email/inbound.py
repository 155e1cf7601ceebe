"""Email in: an aiosmtpd server on the service's own event loop. It takes mail only for
our domains and addresses, within the size limit, and answers 250 only once the contact
is committed; no input ever stops it. Mail is bounded (``channels.email.limits``) and read
in a process of its own, one at a time, so a heavy mail never holds up the loop."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import weakref
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
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
# What the parser process runs on a mail: importable by name, as it is sent there pickled.
Reader = Callable[[bytes, str | None, Sequence[str]], InboundContact]

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
    """What runs in the parser's process: the mail held to its bounds, then read. What it
    raises (limits' InvalidInput with its code) comes back pickled, attributes and all."""
    limits.check(raw)
    return contact_from_mail(raw, mail_from, recipients)


def _parser_started() -> None:
    """In the parser's process, first. The service stops it when it stops (Ctrl-C in a
    terminal reaches the whole process group, and would kill it under a mail); and should
    the service die without stopping it, it goes too rather than wait for work forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(1)


def _started(job: Future[int]) -> None:
    if not job.cancelled() and job.exception() is not None:
        log.error("the mail parser's process did not start: %r", job.exception())


class _Parser:
    """Mail read in a process of its own, one mail at a time. Reading mail is pure Python:
    on a thread, it held the interpreter (the GIL) from the event loop, every step of which
    then waited up to the switch interval, and /healthz took up to ~100 ms while the
    largest mail was read (bench.mail_stall). Spawned, not forked: the service has threads,
    and the child inherits no sockets, database connections or logging handlers. It
    imports what it runs and the main module (under the ``interaction-center`` script, the
    command line's, about 0.3 s; its main code is guarded)."""

    def __init__(self, read: Reader) -> None:
        self._read = read
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """The process starts now, not with the first mail (spawning it takes ~0.2 s)."""
        self._pool = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=_parser_started
        )
        # Started by a first job; one that fails says so now, not at the first mail.
        self._pool.submit(int).add_done_callback(_started)

    async def read(self, raw: bytes, mail_from: str | None, recipients: Sequence[str]) -> InboundContact:
        pool = self._pool
        assert pool is not None, "read before start"
        try:
            return await asyncio.wrap_future(pool.submit(self._read, raw, mail_from, recipients))
        except BrokenProcessPool:
            # The process died (killed, out of memory) under this mail or one before it: the
            # mail is answered 451 and retried by its sender; the next is read by a new one.
            if pool is self._pool:
                pool.shutdown(wait=False)
                self.start()
            raise

    def close(self) -> None:
        """A mail being read is finished and the process ends; any waiting are dropped
        unanswered, as their sessions are closed: their senders retry."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


class MailHandler:
    """aiosmtpd's handler hooks, called by name for each SMTP command."""

    def __init__(self, receive: Receiver, domains: tuple[str, ...], max_bytes: int, read: Reader = read_mail) -> None:
        self._receive = receive
        self._domains = frozenset(domains)
        self._max_bytes = max_bytes
        # One process, one mail at a time: a mail being read takes a core, and more would
        # take the service's.
        self.parser = _Parser(read)

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
            contact = await self.parser.read(raw, envelope.mail_from, list(envelope.rcpt_tos))
            await self._receive(contact)
        except Exception as exc:
            if not isinstance(exc, InteractionCenterError) or exc.status >= 500:
                log.exception("smtp %s: mail from %r not taken", session.peer, envelope.mail_from)
            return smtp_status(exc)
        return f"250 2.0.0 OK {contact.external_id}"

    async def handle_exception(self, error: Exception) -> str:
        log.exception("smtp: session error", exc_info=error)
        return smtp_status(error)


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

    def __init__(self, settings: SmtpSettings, receive: Receiver, read: Reader = read_mail) -> None:
        self._settings = settings
        self._handler = MailHandler(receive, settings.domains, settings.max_message_bytes, read)
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
        self._handler.parser.start()
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
        self._handler.parser.close()
