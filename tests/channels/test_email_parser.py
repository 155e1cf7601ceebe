"""Mail is read in a process of its own: /healthz answers while a mail is read, what the
reading raises or returns crosses the process boundary whole, and a parser that dies costs
its mail a 451 (its sender retries) and the next mail nothing.

The parser's process imports this module to run the readers below (they are sent there
by name), so it imports little."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import smtplib
import time
from collections.abc import AsyncIterator, Sequence
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from channels.email import inbound
from channels.email.settings import SmtpSettings
from interaction_center.domain.errors import InvalidInput
from interaction_center.domain.model import Attachment, InboundContact
from tests.channels.mails import HEAD, many_parts

if TYPE_CHECKING:
    from tests.support import Client


def held_read(gate: str, raw: bytes, mail_from: str | None, recipients: Sequence[str]) -> InboundContact:
    """The parser's reader, held mid-way: it writes its process id to ``gate``/reading,
    then reads the mail once ``gate``/go exists."""
    folder = Path(gate)
    (folder / "reading.tmp").write_text(str(os.getpid()))
    (folder / "reading.tmp").rename(folder / "reading")
    deadline = time.monotonic() + 30
    while not (folder / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return inbound.read_mail(raw, mail_from, recipients)


def _send(port: int, data: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("jane@customer.test")
        smtp.rcpt("support@example.com")
        return smtp.data(data)


class Held:
    """An SMTP server of ours on the test's loop, its reader held, what it takes kept."""

    def __init__(self, gate: Path) -> None:
        self.gate = gate
        self.received: list[InboundContact] = []
        self.server = inbound.SmtpServer(
            SmtpSettings(port=0, domains=("example.com",)), self._receive, read=partial(held_read, str(gate))
        )

    async def _receive(self, contact: InboundContact) -> None:
        self.received.append(contact)

    def send(self, data: bytes) -> asyncio.Task[tuple[int, bytes]]:
        return asyncio.create_task(asyncio.to_thread(_send, self.server.port, data))

    async def reading(self) -> int:
        """The id of the process reading the mail, once it is."""
        async with asyncio.timeout(30):
            while not (self.gate / "reading").exists():
                await asyncio.sleep(0.01)
        pid = int((self.gate / "reading").read_text())
        (self.gate / "reading").unlink()
        return pid

    def go(self) -> None:
        (self.gate / "go").touch()


@pytest.fixture
async def held(tmp_path: Path) -> AsyncIterator[Held]:
    server = Held(tmp_path)
    await server.server.start()
    yield server
    server.go()
    await server.server.close()


async def test_healthz_answers_while_a_mail_is_read_in_a_process_of_its_own(client: Client, held: Held) -> None:
    """Structural, not timed: the mail's reading is held open in its process until /healthz
    has answered."""
    delivery = held.send(many_parts(999))
    assert await held.reading() != os.getpid()

    health = await client.get("/healthz")
    assert health.status == 200 and not delivery.done()
    held.go()

    assert (await delivery)[0] == 250
    [contact] = held.received
    assert contact.body.startswith("part 0\n\npart 1\n\n")


async def test_a_parser_killed_under_a_mail_answers_it_451_and_a_new_one_reads_the_next(held: Held) -> None:
    delivery = held.send(many_parts(3))
    killed = await held.reading()
    os.kill(killed, signal.SIGKILL)

    assert await delivery == (451, b"4.3.0 Temporary failure, please try again later")
    assert held.received == []

    held.go()
    delivery = held.send(many_parts(3))
    assert await held.reading() not in (killed, os.getpid())
    assert (await delivery)[0] == 250
    assert [contact.external_id for contact in held.received] == ["<parts@customer.test>"]


@pytest.mark.parametrize(
    "mail",
    [
        HEAD + b"Message-ID: <" + b"x" * 2000 + b"@customer.test>\r\n\r\nHello\r\n",
        HEAD + b"X-Long: " + b"\r\n ".join([b"x" * 900] * 100) + b"\r\n\r\nHello\r\n",
        many_parts(2000),
    ],
    ids=["header line", "header section", "parts"],
)
def test_what_the_limits_refuse_comes_back_from_the_process_with_its_code_and_reason(mail: bytes) -> None:
    with pytest.raises(InvalidInput) as raised:
        inbound.read_mail(mail, "jane@customer.test", ["support@example.com"])
    error = raised.value

    back = pickle.loads(pickle.dumps(error))

    assert type(back) is type(error)
    assert (back.code, back.message, back.status, str(back)) == (error.code, error.message, error.status, str(error))
    assert inbound.smtp_status(back) == inbound.smtp_status(error)
    assert inbound.smtp_status(back).startswith(("552 5.3.4", "554 5.6.0"))


def test_a_contact_comes_back_from_the_process_whole_attachments_and_all() -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Jane <jane@customer.test>", "support@example.com", "Photo"
    mail["Message-ID"] = "<photo@customer.test>"
    mail.set_content("See attached.")
    mail.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", filename="photo.png")
    contact = inbound.read_mail(mail.as_bytes(), "jane@customer.test", ["support@example.com"])

    back = pickle.loads(pickle.dumps(contact))

    assert back == contact
    assert back.files == (Attachment("photo.png", "image/png", b"\x89PNG fake"),)
