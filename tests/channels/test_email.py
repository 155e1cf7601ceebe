"""Email both ways over real SMTP on loopback: ``smtplib`` delivers to the service's aiosmtpd
server, and a second aiosmtpd server stands in for the outbound relay."""

from __future__ import annotations

import asyncio
import os
import smtplib
from collections.abc import AsyncIterator, Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from channels.email.adapter import EmailChannel
from interaction_center import cli
from interaction_center.domain.model import Channel
from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from storage.models import CustomerIdentity, Interaction, Message
from tests.support import AppFactory, Client, accept_first, interaction, login, offered, set_status

CUSTOMER = "Jane.Doe@Customer.test"


class Relay:
    """The outbound relay: an SMTP sink that keeps every mail it is given."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.arrived = asyncio.Event()
        self.port = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        mail = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        self.arrived.set()
        return "250 OK"

    async def next_mail(self, count: int) -> EmailMessage:
        """The ``count``-th mail (1-based), waiting for it to arrive."""
        async with asyncio.timeout(5):
            while len(self.mails) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.mails[count - 1]


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    sink = Relay()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="relay.test", loop=loop), "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    yield sink
    server.close()
    await server.wait_closed()


@pytest.fixture
def email_settings(settings_factory: Callable[..., Settings], relay: Relay) -> Callable[..., Settings]:
    def make(extra: str = "") -> Settings:
        return settings_factory(
            support_channels='["sms", "email"]',
            smtp=f"""domains = ["example.com", "help@example.org"]
relay_host = "127.0.0.1"
relay_port = {relay.port}
from_address = "support@example.com"
{extra}""",
        )

    return make


@pytest.fixture
async def mail_client(app_factory: AppFactory, email_settings: Callable[..., Settings]) -> Client:
    return await app_factory(email_settings())


def smtp_port(client: Client) -> int:
    adapter = client.app[SERVICES].channels[Channel.EMAIL]
    assert isinstance(adapter, EmailChannel) and adapter.server is not None
    return int(adapter.server.port)


def _deliver(port: int, sender: str, recipients: list[str], data: bytes, options: list[str]) -> tuple[int, bytes]:
    """The reply to the first command refused, else to DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.ehlo("client.test")
        code, reply = smtp.mail(sender, options)
        if code != 250:
            return code, reply
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            if code != 250:
                return code, reply
        return smtp.data(data)


async def deliver(
    client: Client,
    mail: EmailMessage | bytes,
    *,
    sender: str = CUSTOMER,
    to: str = "support@example.com",
    options: list[str] | None = None,
) -> tuple[int, bytes]:
    data = mail if isinstance(mail, bytes) else mail.as_bytes(policy=policy.SMTP)
    # smtplib blocks, and the server runs on this loop: the client gets a thread.
    return await asyncio.to_thread(_deliver, smtp_port(client), sender, [to], data, options or [])


def plain(body: str = "Hello, my invoice is wrong.", subject: str = "Invoice 42", **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"Jane Doe <{CUSTOMER}>"
    mail["To"] = "support@example.com"
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain="customer.test")
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail


async def rows(client: Client) -> tuple[list[Interaction], list[Message]]:
    async with client.app[SERVICES].sessions() as session:
        interactions = list(await session.scalars(select(Interaction).order_by(Interaction.created_at)))
        messages = list(await session.scalars(select(Message).order_by(Message.created_at)))
    return interactions, messages


async def test_a_multipart_latin1_mail_with_an_attachment_becomes_one_readable_interaction(mail_client: Client) -> None:
    mail = plain("Grüße aus Köln: die Rechnung ist falsch.")
    mail.replace_header("Content-Type", "text/plain")
    mail.set_content("Grüße aus Köln: die Rechnung ist falsch.", charset="iso-8859-1", cte="quoted-printable")
    mail.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="rechnung.pdf")
    assert b"iso-8859-1" in mail.as_bytes()

    code, _ = await deliver(mail_client, mail)

    assert code == 250
    [stored], [message] = await rows(mail_client)
    assert (stored.channel, stored.state, stored.queue) == ("email", "queued", "support")
    assert message.body.strip() == "Grüße aus Köln: die Rechnung ist falsch."
    assert (message.external_id, message.from_address) == (mail["Message-ID"], CUSTOMER.lower())
    assert message.attributes["subject"] == "Invoice 42"
    [named] = message.attributes["attachments"]
    assert named == {
        "id": named["id"],
        "filename": "rechnung.pdf",
        "content_type": "application/pdf",
        "size": len(b"%PDF-1.4 fake"),
    }


async def test_a_new_customer_is_called_as_their_mail_names_them(mail_client: Client) -> None:
    code, _ = await deliver(mail_client, plain())
    assert code == 250
    [stored], _ = await rows(mail_client)
    sam = await login(mail_client, "sam")
    customer = await (await mail_client.get(f"/api/v1/customers/{stored.customer_id}", headers=sam)).json()
    assert customer["display_name"] == "Jane Doe"


async def test_the_agents_reply_is_threaded_and_the_customers_answer_comes_back(
    mail_client: Client, relay: Relay
) -> None:
    alice = await login(mail_client, "alice")
    await set_status(mail_client, alice, "available")
    first = plain(References="<older@customer.test>")
    assert (await deliver(mail_client, first))[0] == 250
    taken = await accept_first(mail_client, alice)

    url = f"/api/v1/interactions/{taken['id']}/messages"
    response = await mail_client.post(url, json={"body": "We are on it."}, headers=alice)

    assert response.status == 201, await response.text()
    sent = await response.json()
    reply = await relay.next_mail(1)
    assert reply["Subject"] == "Re: Invoice 42"
    assert reply["In-Reply-To"] == first["Message-ID"]
    assert reply["References"].split() == ["<older@customer.test>", first["Message-ID"]]
    assert reply["Message-ID"] == sent["external_id"]
    assert (reply["From"], reply["To"]) == ("support@example.com", CUSTOMER.lower())
    assert reply.get_content().strip() == "We are on it."
    assert relay.envelopes[0].rcpt_tos == [CUSTOMER.lower()]

    answer = plain("Thanks, it is the March invoice.", subject="Re: Invoice 42", In_Reply_To=reply["Message-ID"])
    assert (await deliver(mail_client, answer))[0] == 250

    record = await interaction(mail_client, alice, taken["id"])
    assert [m["body"].strip() for m in record["messages"]] == [
        "Hello, my invoice is wrong.",
        "We are on it.",
        "Thanks, it is the March invoice.",
    ]


async def test_an_email_reply_may_be_longer_than_an_sms_up_to_the_email_limit(
    mail_client: Client, relay: Relay
) -> None:
    alice = await login(mail_client, "alice")
    await set_status(mail_client, alice, "available")
    await deliver(mail_client, plain())
    taken = await accept_first(mail_client, alice)
    url = f"/api/v1/interactions/{taken['id']}/messages"
    long_reply = "We checked every line of the invoice. " * 130  # about 5,000 characters: no SMS takes it

    response = await mail_client.post(url, json={"body": long_reply}, headers=alice)
    assert response.status == 201, await response.text()
    assert (await relay.next_mail(1)).get_content().strip() == long_reply.strip()

    response = await mail_client.post(url, json={"body": "x" * 20_001}, headers=alice)
    error = (await response.json())["error"]
    assert (response.status, error["code"]) == (400, "message.too_long")
    assert "email" in error["message"] and "20000" in error["message"]
    record = await interaction(mail_client, alice, taken["id"])
    assert [len(m["body"]) for m in record["messages"] if m["direction"] == "outbound"] == [len(long_reply)]
    assert len(relay.mails) == 1


async def test_simulate_email_sends_a_mail_the_running_service_takes(
    mail_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in os.environ:
        if name.startswith(("IC_", "TWILIO_")):
            monkeypatch.delenv(name)
    # The command reads the service's configuration; the service took a free port.
    served = (tmp_path / "interaction-center.toml").read_text()
    config = tmp_path / "simulate.toml"
    config.write_text(served.replace("[smtp]\nport = 0\n", f"[smtp]\nport = {smtp_port(mail_client)}\n", 1))

    def simulate(*args: str) -> int:
        return cli.main(["--config", str(config), "simulate", "email", *args])

    code = await asyncio.to_thread(simulate, "--from", "jane@customer.test", "--subject", "Order 7", "Not arrived")
    assert (code, capsys.readouterr().out[:8]) == (0, "SMTP 250")
    async with mail_client.app[SERVICES].sessions() as session:
        [message] = await session.scalars(select(Message))
    assert (message.from_address, message.to_address) == ("jane@customer.test", "support@example.com")
    assert (message.attributes["subject"], message.body.strip()) == ("Order 7", "Not arrived")

    code = await asyncio.to_thread(
        simulate, "--from", "jane@customer.test", "--to", "x@elsewhere.test", "--subject", "S", "T"
    )
    assert (code, capsys.readouterr().err[:8]) == (1, "SMTP 550")


async def test_the_reply_token_threads_a_mail_without_headers(mail_client: Client, relay: Relay) -> None:
    alice = await login(mail_client, "alice")
    await set_status(mail_client, alice, "available")
    await deliver(mail_client, plain())
    taken = await accept_first(mail_client, alice)
    await mail_client.post(f"/api/v1/interactions/{taken['id']}/messages", json={"body": "Hi"}, headers=alice)
    reply_to = (await relay.next_mail(1))["Reply-To"]
    assert reply_to.startswith("support+") and reply_to.endswith("@example.com")

    code, _ = await deliver(mail_client, plain("Forgot to say", subject="something else"), to=reply_to)

    assert code == 250
    interactions, messages = await rows(mail_client)
    assert len(interactions) == 1 and len(messages) == 3


async def test_a_new_subject_from_the_same_sender_opens_a_new_interaction(mail_client: Client) -> None:
    await deliver(mail_client, plain(subject="Invoice 42"))
    await deliver(mail_client, plain(subject="Change my address"))

    interactions, _ = await rows(mail_client)
    assert [i.state for i in interactions] == ["queued", "queued"]
    assert interactions[0].customer_id == interactions[1].customer_id


async def test_the_same_message_id_twice_is_one_message(mail_client: Client) -> None:
    mail = plain()
    assert (await deliver(mail_client, mail))[0] == 250
    assert (await deliver(mail_client, mail))[0] == 250
    no_id = plain()
    del no_id["Message-ID"]
    assert (await deliver(mail_client, no_id))[0] == 250
    assert (await deliver(mail_client, no_id))[0] == 250

    interactions, messages = await rows(mail_client)
    assert (len(interactions), len(messages)) == (2, 2)
    assert messages[1].attributes["defects"] == ["no Message-ID"]


@pytest.mark.parametrize("recipient", ["someone@gmail.com", "x@example.org", "help@example.org.evil.test", "<>"])
async def test_mail_for_anyone_but_us_is_refused_with_550(mail_client: Client, recipient: str) -> None:
    code, reply = await deliver(mail_client, plain(), to=recipient)

    assert code == 550, reply
    assert reply.startswith(b"5.1.1")
    assert await rows(mail_client) == ([], [])


async def test_listed_addresses_and_their_tags_are_accepted(mail_client: Client) -> None:
    for recipient in ("help@example.org", "Help+billing@Example.org", "anyone@EXAMPLE.com"):
        assert (await deliver(mail_client, plain(), to=recipient))[0] == 250


async def test_an_over_size_mail_is_refused_with_552(
    app_factory: AppFactory, email_settings: Callable[..., Settings]
) -> None:
    client = await app_factory(email_settings("max_message_bytes = 4000"))

    too_big = await deliver(client, plain("x" * 70 + ("\n" + "y" * 70) * 80))
    announced = await deliver(client, plain(), options=["SIZE=5000"])

    assert too_big[0] == 552 and announced[0] == 552
    assert await rows(client) == ([], [])
    assert (await deliver(client, plain()))[0] == 250


async def test_a_malformed_mail_is_stored_flagged_and_the_server_keeps_answering(mail_client: Client) -> None:
    broken = (
        b"From: Jane <jane@customer.test>\r\nSubject: =?utf-8?q?broken?=\r\nMessage-ID: <b1@customer.test>\r\n"
        b'Content-Type: multipart/mixed; boundary="never-closed"\r\n\r\n'
        b"--never-closed\r\nContent-Type: text/plain; charset=klingon\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"SGVsbG8gd29ybGQ!!!\r\n"
    )

    assert (await deliver(mail_client, broken, sender="jane@customer.test"))[0] == 250
    assert (await deliver(mail_client, plain()))[0] == 250

    _, messages = await rows(mail_client)
    assert messages[0].external_id == "<b1@customer.test>"
    assert messages[0].body.startswith("Hello world")
    assert "CloseBoundaryNotFoundDefect" in messages[0].attributes["defects"]


async def test_html_only_mail_becomes_readable_text(mail_client: Client) -> None:
    mail = plain()
    html = (
        "<html><head><style>p {color: red}</style></head><body><p>Hello&nbsp;team,</p>"
        '<p>see <a href="https://customer.test/bill">my bill</a></p><ul><li>one</li><li>two</li></ul>'
        "<script>alert(1)</script></body></html>"
    )
    mail.set_content(html, subtype="html")

    await deliver(mail_client, mail)

    _, [message] = await rows(mail_client)
    assert message.body == "Hello\xa0team,\n\nsee my bill (https://customer.test/bill)\n\n- one\n\n- two"
    assert message.attributes["html"].strip() == html


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X_Autoreply": "yes"},
    ],
)
async def test_auto_replies_start_nothing_and_get_no_acknowledgement(
    app_factory: AppFactory,
    email_settings: Callable[..., Settings],
    relay: Relay,
    headers: dict[str, str],
) -> None:
    client = await app_factory(email_settings("acknowledge = true"))
    sam = await login(client, "sam")
    alice = await login(client, "alice")
    await set_status(client, alice, "available")

    assert (await deliver(client, plain("I am out of office", **headers)))[0] == 250
    assert (await deliver(client, plain("bounce"), sender=""))[0] == 250

    interactions, messages = await rows(client)
    assert [i.state for i in interactions] == ["cancelled", "cancelled"]
    assert all(m.attributes["automated"] for m in messages)
    assert await offered(client, alice) == []
    record = await interaction(client, sam, interactions[0].id)
    assert [e["type"] for e in record["events"]] == ["created", "filed", "message_received"]
    await asyncio.sleep(0.2)
    assert relay.mails == []


async def test_an_auto_reply_to_an_open_thread_lands_on_it(mail_client: Client, relay: Relay) -> None:
    first = plain()
    await deliver(mail_client, first)

    await deliver(mail_client, plain("Out of office", Auto_Submitted="auto-replied", In_Reply_To=first["Message-ID"]))

    [stored], messages = await rows(mail_client)
    assert stored.state == "queued" and len(messages) == 2


async def test_a_new_contact_is_acknowledged_with_its_reference(
    app_factory: AppFactory, email_settings: Callable[..., Settings], relay: Relay
) -> None:
    client = await app_factory(email_settings("acknowledge = true"))
    mail = plain()

    await deliver(client, mail)

    ack = await relay.next_mail(1)
    assert ack["In-Reply-To"] == mail["Message-ID"] and ack["Auto-Submitted"] == "auto-replied"
    async with asyncio.timeout(5):  # the relay has it a moment before its Message-ID is on record
        while (await rows(client))[1][-1].external_id != ack["Message-ID"]:
            await asyncio.sleep(0.02)
    [stored], _ = await rows(client)
    assert stored.thread_key.removeprefix("email:") in ack.get_content()
    answer = plain("thanks", In_Reply_To=ack["Message-ID"])
    await deliver(client, answer)
    interactions, messages = await rows(client)
    assert len(interactions) == 1 and [m.direction for m in messages] == ["inbound", "outbound", "inbound"]


async def test_an_email_identity_is_not_merged_with_a_phone_identity(mail_client: Client) -> None:
    await deliver(mail_client, plain(), sender="+15551230001@customer.test")

    async with mail_client.app[SERVICES].sessions() as session:
        identities = list(await session.scalars(select(CustomerIdentity)))
    assert [(i.kind, i.value) for i in identities] == [("email", CUSTOMER.lower())]


async def test_the_smtp_server_stops_with_the_service(
    app_factory: AppFactory, email_settings: Callable[..., Settings]
) -> None:
    client = await app_factory(email_settings())
    port = smtp_port(client)

    await client.close()

    with pytest.raises(OSError):
        await asyncio.to_thread(smtplib.SMTP, "127.0.0.1", port, timeout=2)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.binary(max_size=3000))
async def test_any_bytes_as_data_get_an_smtp_answer_and_the_server_keeps_serving(
    mail_client: Client, data: bytes
) -> None:
    code, _ = await deliver(mail_client, data)

    assert 200 <= code < 600 and code // 100 in (2, 4, 5)
    assert (await deliver(mail_client, plain()))[0] == 250


async def test_an_agent_starts_an_email_conversation_that_the_customers_answer_continues(
    mail_client: Client, relay: Relay
) -> None:
    alice = await login(mail_client, "alice")
    started = await mail_client.post(
        "/api/v1/interactions",
        json={"channel": "email", "to": CUSTOMER.upper(), "subject": "Your refund", "body": "It is on its way."},
        headers=alice,
    )
    assert started.status == 201, await started.text()
    body = await started.json()
    sent = await relay.next_mail(1)
    # A conversation we start keeps its subject: it answers nothing.
    assert (sent["Subject"], sent["To"], sent["In-Reply-To"]) == ("Your refund", CUSTOMER.lower(), None)
    reply_to = str(sent["Reply-To"])
    assert reply_to.startswith("support+")

    answer = plain("Thanks, received.", subject="Re: Your refund", In_Reply_To=str(sent["Message-ID"]))
    assert (await deliver(mail_client, answer, to=reply_to))[0] == 250
    record = await interaction(mail_client, alice, body["id"])
    assert [m["direction"] for m in record["messages"]] == ["outbound", "inbound"]
    assert await offered(mail_client, alice) == []
    missing = await mail_client.post(
        "/api/v1/interactions", json={"channel": "email", "to": CUSTOMER, "body": "Hi"}, headers=alice
    )
    assert (missing.status, (await missing.json())["error"]["code"]) == (400, "input.bad_field")
