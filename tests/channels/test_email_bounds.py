"""Mail the service cannot or should not read in full is refused with a considered SMTP
reply naming the reason (never a bare 500), and what a mail client shows as text is the
body, not an attachment. That mail is read off the event loop: test_email_parser.py."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.email.limits import MAX_PARTS
from tests.channels import test_email
from tests.channels.mails import HEAD, many_parts
from tests.channels.test_email import deliver, plain, rows
from tests.hostile import FUZZ, odd_charsets
from tests.support import Client

relay, email_settings, mail_client = test_email.relay, test_email.email_settings, test_email.mail_client


@pytest.mark.parametrize(
    ("header", "reply"),
    [
        (b"Message-ID: <" + b"x" * 2000 + b"@customer.test>", b"Message-ID"),
        (b"References: " + b" ".join(b"<%d@customer.test>" % n for n in range(200)), b"References"),
        (b"Subject: =?utf-8?q?" + b"=C3=A9" * 1000 + b"?=", b"Subject"),
    ],
)
async def test_an_overlong_header_line_is_refused_554_naming_it(
    mail_client: Client, header: bytes, reply: bytes
) -> None:
    mail = HEAD.replace(b"Subject: Hi\r\n", b"") + header + b"\r\n\r\nHello\r\n"

    code, message = await deliver(mail_client, mail)

    assert (code, message.split(b" ")[0]) == (554, b"5.6.0")
    assert reply in message and b"998" in message
    assert await rows(mail_client) == ([], [])
    assert (await deliver(mail_client, plain()))[0] == 250


async def test_a_header_section_of_folded_encoded_words_past_the_bound_is_refused_552(mail_client: Client) -> None:
    words = b"\r\n ".join(b"=?utf-8?b?" + base64.b64encode("é".encode() * 30) + b"?=" for _ in range(2000))
    code, message = await deliver(mail_client, HEAD + b"Subject: " + words + b"\r\n\r\nHello\r\n")
    assert (code, message.split(b" ")[0]) == (552, b"5.3.4")
    assert b"Header section" in message


async def test_a_mail_of_twenty_thousand_parts_is_refused_552_unread(mail_client: Client) -> None:
    code, message = await deliver(mail_client, many_parts(20_000))
    assert (code, message) == (552, f"5.3.4 More than {MAX_PARTS} MIME parts".encode())
    assert await rows(mail_client) == ([], [])


async def test_a_long_body_line_is_taken_and_one_past_64_kib_is_refused_554(mail_client: Client) -> None:
    """RFC 5321's 1,000 is held to in the headers we read; a longer body line is text to keep,
    up to what the server reads as one line."""
    raw = HEAD + b"Message-ID: <long@customer.test>\r\n\r\n" + b"word " * 2000 + b"\r\n"
    assert (await deliver(mail_client, raw))[0] == 250
    _, [message] = await rows(mail_client)
    assert message.body.strip() == ("word " * 2000).strip()

    raw = HEAD + b"Message-ID: <longer@customer.test>\r\n\r\n" + b"x" * 70_000 + b"\r\n"
    assert await deliver(mail_client, raw) == (554, b"5.6.0 Line longer than 65536 bytes")
    assert (await deliver(mail_client, plain()))[0] == 250


async def test_text_a_mail_client_shows_inline_is_body_and_only_marked_parts_are_attachments(
    mail_client: Client,
) -> None:
    mail = plain("First the text,")
    mail.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", filename="photo.png", disposition="inline")
    after = EmailMessage()
    after.set_content("then more text after the photo.")
    mail.attach(after)
    mail.add_attachment("a,b\n1,2\n", subtype="plain", filename="data.txt")
    mail.add_attachment("<p>saved page</p>", subtype="html", filename="page.html")

    assert (await deliver(mail_client, mail))[0] == 250

    _, [message] = await rows(mail_client)
    assert message.body == "First the text,\n\nthen more text after the photo."
    assert [a["filename"] for a in message.attributes["attachments"]] == ["photo.png", "data.txt", "page.html"]
    assert "html" not in message.attributes


async def test_alternatives_are_one_text_and_no_attachment(mail_client: Client) -> None:
    mail = plain("Plain words.")
    mail.add_alternative("<p>Rich words.</p>", subtype="html")

    assert (await deliver(mail_client, mail))[0] == 250

    _, [message] = await rows(mail_client)
    assert message.body.strip() == "Plain words."
    assert message.attributes["html"].strip() == "<p>Rich words.</p>"
    assert message.attributes["attachments"] == []


_header_values = st.one_of(
    st.integers(min_value=900, max_value=3000).map(lambda n: b"<" + b"x" * n + b"@customer.test>"),
    st.builds(
        lambda charset, text: b"=?" + charset.encode("ascii", "replace") + b"?q?" + text + b"?=",
        odd_charsets,
        st.binary(max_size=200).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    ),
    st.binary(max_size=300).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
)


@FUZZ
@given(
    headers=st.lists(
        st.tuples(st.sampled_from([b"Message-ID", b"References", b"In-Reply-To", b"Subject", b"From"]), _header_values),
        max_size=4,
    ),
    parts=st.integers(min_value=0, max_value=40),
    body=st.binary(max_size=500),
)
async def test_any_hostile_mail_gets_a_considered_reply_and_the_server_keeps_serving(
    mail_client: Client, headers: list[tuple[bytes, bytes]], parts: int, body: bytes
) -> None:
    head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    if parts:
        raw = many_parts(parts).replace(b"Subject: Hi\r\n", b"Subject: Hi\r\n" + head, 1)
    else:
        raw = HEAD + head + b"\r\n" + body.replace(b"\n.", b"\n..")

    code, reply = await deliver(mail_client, raw)

    assert code == 250 or (code in (552, 554) and reply[:2] == b"5."), (code, reply)
    assert (await deliver(mail_client, plain()))[0] == 250
