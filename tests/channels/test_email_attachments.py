"""An agent's email reply with files (``multipart/form-data``): the customer's mail carries
them, the record names them (id, name, type, size) and keeps them, to be saved again from
the transcript; files on another channel, too many or too much, and malformed forms are
refused, sending nothing."""

from __future__ import annotations

import io

import aiohttp
from hypothesis import given
from hypothesis import strategies as st

from interaction_center.domain.model import MAX_ATTACHED_BYTES, MAX_ATTACHMENTS
from tests.channels import test_email
from tests.channels.test_email import Relay, deliver, plain
from tests.hostile import FUZZ
from tests.support import Client, accept_first, interaction, login, post_sms, set_status, sms_form

relay, email_settings, mail_client = test_email.relay, test_email.email_settings, test_email.mail_client

PDF = b"%PDF-1.4 the invoice\x00\xff"


def _form(
    body: str | None = "Here is the corrected invoice.", files: tuple[tuple[str, bytes, str], ...] = ()
) -> aiohttp.FormData:
    form = aiohttp.FormData(default_to_multipart=True)
    if body is not None:
        form.add_field("body", body)
    for name, data, media in files:
        # A stream: aiohttp's form refuses bytes this big as a value.
        form.add_field("attachment", io.BytesIO(data), filename=name, content_type=media)
    return form


async def _taken(client: Client) -> tuple[dict[str, str], str]:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    assert (await deliver(client, plain()))[0] == 250
    return alice, (await accept_first(client, alice))["id"]


async def _refused(response: aiohttp.ClientResponse) -> tuple[int, str]:
    return response.status, (await response.json())["error"]["code"]


async def test_an_email_reply_carries_its_attachments_and_the_record_names_them(
    mail_client: Client, relay: Relay
) -> None:
    alice, interaction_id = await _taken(mail_client)
    files = (("invoice-42.pdf", PDF, "application/pdf"), ("../../etc/notes.txt", "Grüße".encode(), "text/plain"))

    response = await mail_client.post(
        f"/api/v1/interactions/{interaction_id}/messages", data=_form(files=files), headers=alice
    )

    assert response.status == 201, await response.text()
    sent = await response.json()
    named = sent["attributes"]["attachments"]
    assert [{k: v for k, v in n.items() if k != "id"} for n in named] == [
        {"filename": "invoice-42.pdf", "content_type": "application/pdf", "size": len(PDF)},
        {"filename": "notes.txt", "content_type": "text/plain", "size": len("Grüße".encode())},
    ]
    kept = [await (await mail_client.get(f"/api/v1/attachments/{n['id']}", headers=alice)).read() for n in named]
    assert kept == [PDF, "Grüße".encode()]
    mail = await relay.next_mail(1)
    assert mail.get_body(("plain",)).get_content().strip() == "Here is the corrected invoice."  # type: ignore[union-attr]
    # The bytes exactly as uploaded (a file's charset is not the service's to guess).
    attached = [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in mail.iter_attachments()
    ]
    assert attached == [("invoice-42.pdf", "application/pdf", PDF), ("notes.txt", "text/plain", "Grüße".encode())]
    record = await interaction(mail_client, alice, interaction_id)
    assert record["messages"][-1]["attributes"]["attachments"] == sent["attributes"]["attachments"]


async def test_attachments_on_another_channel_too_many_or_too_much_are_refused_and_nothing_is_sent(
    mail_client: Client, relay: Relay
) -> None:
    alice, interaction_id = await _taken(mail_client)
    url = f"/api/v1/interactions/{interaction_id}/messages"
    many = tuple((f"f{n}.txt", b"x", "text/plain") for n in range(MAX_ATTACHMENTS + 1))
    big = (("big.bin", b"\0" * (MAX_ATTACHED_BYTES + 1), "application/octet-stream"),)
    for form, code in (
        (_form(files=many), "message.too_many_attachments"),
        (_form(files=big), "message.attachments_too_large"),
        (_form(body=None, files=many[:1]), "message.empty"),
        (_form(body="   "), "message.empty"),
    ):
        assert await _refused(await mail_client.post(url, data=form, headers=alice)) == (400, code)
    await post_sms(mail_client, sms_form(sender="+15551230007"))
    sms_id = (await accept_first(mail_client, alice))["id"]
    by_sms = await mail_client.post(
        f"/api/v1/interactions/{sms_id}/messages", data=_form(files=many[:1]), headers=alice
    )
    assert await _refused(by_sms) == (400, "message.attachments_email_only")
    assert relay.mails == []
    assert len((await interaction(mail_client, alice, interaction_id))["messages"]) == 1


async def test_a_part_header_that_is_not_a_header_is_a_clear_error(mail_client: Client) -> None:
    # Found by schemathesis: aiohttp's own error for it is no ValueError.
    alice = await login(mail_client, "alice")
    form = b'--b\r\nContent-Disposition: form-data; name="\x05\xc3\x88!"\r\n\r\ntrue\r\n--b--\r\n'
    response = await mail_client.post(
        "/api/v1/interactions/none/messages",
        data=form,
        headers={**alice, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert (response.status, (await response.json())["error"]["code"]) == (400, "input.bad_multipart")


@FUZZ
@given(raw=st.binary(max_size=400), boundary=st.sampled_from(["b", "", "x" * 80, "a b"]))
async def test_any_bytes_as_a_form_get_a_clear_error(mail_client: Client, raw: bytes, boundary: str) -> None:
    # The form is read before the interaction is looked up: a form that parses gets 404.
    alice = await login(mail_client, "alice")
    response = await mail_client.post(
        "/api/v1/interactions/none/messages",
        data=raw,
        headers={**alice, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert 400 <= response.status < 500, await response.text()
    assert "error" in await response.json()
