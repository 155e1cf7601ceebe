"""``GET /api/v1/attachments/{id}``: the files messages carry are kept with them (an email's
attachments as the SMTP intake takes them in), named in the message's attributes with the
id they are kept under, and saved by whoever may read the interaction (its agent, a
supervisor; not another agent), always as a download, in a well-formed type or none,
under a policy that runs nothing."""

from __future__ import annotations

import dataclasses

from channels.email.parse import contact_from_mail
from interaction_center.domain.model import Attachment
from interaction_center.web.keys import SERVICES
from tests.channels import test_email
from tests.channels.test_email import deliver, plain
from tests.support import Client, accept_first, login, routed, set_status

relay, email_settings, mail_client = test_email.relay, test_email.email_settings, test_email.mail_client

PDF = b"%PDF-1.4 " + bytes(range(256)) * 4


async def _held_mail(client: Client) -> tuple[dict[str, str], dict[str, object]]:
    """alice takes the mail jane sent with a PDF attached: her headers and the interaction."""
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    mail = plain("The invoice attached is wrong.")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="Rechnung März.pdf")
    assert (await deliver(client, mail))[0] == 250
    return alice, await accept_first(client, alice)


async def test_an_emails_attachment_is_kept_and_saved_by_whoever_may_read_it(mail_client: Client) -> None:
    alice, held = await _held_mail(mail_client)
    messages = held["messages"]
    assert isinstance(messages, list)
    [named] = messages[0]["attributes"]["attachments"]
    assert named == {
        "id": named["id"],
        "filename": "Rechnung März.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
    }
    path = f"/api/v1/attachments/{named['id']}"
    saved = await mail_client.get(path, headers=alice)
    assert saved.status == 200
    assert await saved.read() == PDF
    assert saved.headers["Content-Type"] == "application/pdf"
    assert saved.headers["Content-Disposition"] == (
        "attachment; filename=\"Rechnung M_rz.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"
    )
    assert saved.headers["X-Content-Type-Options"] == "nosniff"
    assert saved.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert saved.headers["Cache-Control"] == "private, no-store"

    sam = await login(mail_client, "sam")
    assert (await mail_client.get(path, headers=sam)).status == 200
    refused = await mail_client.get(path, headers=await login(mail_client, "bob"))
    assert (refused.status, (await refused.json())["error"]["code"]) == (403, "auth.not_yours")
    assert (await mail_client.get(path)).status == 401
    unknown = await mail_client.get("/api/v1/attachments/no-such-file", headers=alice)
    assert (unknown.status, (await unknown.json())["error"]["code"]) == (404, "attachment.not_found")


async def test_a_file_of_an_odd_type_or_name_is_saved_as_bytes_and_runs_nothing(mail_client: Client) -> None:
    alice = await login(mail_client, "alice")
    await set_status(mail_client, alice, "available")
    services = mail_client.app[SERVICES]
    odd = (
        Attachment("page.html", "text/html", b"<script>alert(1)</script>"),
        Attachment('a\r\nSet-Cookie: x=1"; b.txt', "text/plain; charset=<b>", b"words"),
        Attachment("", "image/svg+xml", b"<svg onload='alert(1)'/>"),
        Attachment("x.bin", "no type at all", b"\0"),
    )
    parsed = contact_from_mail(plain("Three odd files").as_bytes(), "jane@customer.test", ["support@example.com"])
    parsed = dataclasses.replace(parsed, files=odd)
    await services.intake.receive(parsed, "support")
    await routed(mail_client)
    held = await accept_first(mail_client, alice)
    named = held["messages"][0]["attributes"]["attachments"]
    got = [await mail_client.get(f"/api/v1/attachments/{n['id']}", headers=alice) for n in named]
    types = ["text/html", "text/plain", "image/svg+xml", "application/octet-stream"]
    assert [r.headers["Content-Type"] for r in got] == types
    assert [r.headers["Content-Disposition"] for r in got] == [
        "attachment; filename=\"page.html\"; filename*=UTF-8''page.html",
        'attachment; filename="a__Set-Cookie: x=1_; b.txt"; '
        "filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x%3D1%22%3B%20b.txt",
        "attachment; filename=\"attachment\"; filename*=UTF-8''attachment",
        "attachment; filename=\"x.bin\"; filename*=UTF-8''x.bin",
    ]
    assert all(r.headers["Content-Security-Policy"] == "sandbox; default-src 'none'" for r in got)
    assert [await r.read() for r in got] == [file.data for file in odd]
    assert "Set-Cookie" not in got[1].headers
