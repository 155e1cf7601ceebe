"""A chat visitor sends a file (``POST /chat/files``): it becomes their next message, carrying
the file, which the agent who takes the chat hears of live and saves from the transcript,
and which the visitor's history names after a reload; a retried upload is kept once. A
missing or forged token, a missing or empty file, a second file, a file too large, a form
that is not one, and a flood are refused with their codes, and change nothing."""

from __future__ import annotations

import io
import json
import time
import uuid

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.chat.files import FILES_BURST, FILES_PER_SECOND
from channels.chat.service import MAX_FILE_BYTES
from channels.chat.socket import RateLimits
from tests.channels.test_chat import accept, resume, say, start
from tests.hostile import FUZZ, raw_request
from tests.support import Client, interaction, login, next_frame, set_status

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def _form(client_id: str | None, *files: tuple[str, bytes, str]) -> aiohttp.FormData:
    form = aiohttp.FormData(default_to_multipart=True)
    if client_id is not None:
        form.add_field("client_id", client_id)
    for name, data, media_type in files:
        form.add_field("file", io.BytesIO(data), filename=name, content_type=media_type)
    return form


async def _upload(client: Client, token: str, form: aiohttp.FormData) -> tuple[int, dict[str, object]]:
    response = await client.post("/chat/files", data=form, headers={"Authorization": f"Bearer {token}"})
    return response.status, await response.json()


async def test_a_file_is_the_visitors_next_message_and_the_agent_saves_it(chat_client: Client) -> None:
    socket, started = await start(chat_client, name="Jane")
    first = await say(socket, "Here is the broken part")
    alice = await login(chat_client, "alice")
    await set_status(chat_client, alice, "available")
    await accept(chat_client, alice, first["interaction_id"])
    agent_socket = await chat_client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(agent_socket, "hello")

    client_id = uuid.uuid4().hex
    status, ack = await _upload(chat_client, started["token"], _form(client_id, ("part 7.png", PHOTO, "image/png")))
    assert status == 201, ack
    assert (ack["type"], ack["client_id"], ack["interaction_id"]) == ("ack", client_id, first["interaction_id"])
    # The same upload again (a lost answer, retried): one message.
    again = await _upload(chat_client, started["token"], _form(client_id, ("part 7.png", PHOTO, "image/png")))
    assert again[1]["message_id"] == ack["message_id"]

    pushed = await next_frame(agent_socket, "message")
    [named] = pushed["message"]["attributes"]["attachments"]
    assert {k: named[k] for k in ("filename", "content_type", "size")} == {
        "filename": "part 7.png",
        "content_type": "image/png",
        "size": len(PHOTO),
    }
    saved = await chat_client.get(f"/api/v1/attachments/{named['id']}", headers=alice)
    assert (saved.status, await saved.read()) == (200, PHOTO)
    record = await interaction(chat_client, alice, first["interaction_id"])
    assert [m["body"] for m in record["messages"]] == ["Here is the broken part", ""]

    _, resumed = await resume(chat_client, started["token"])
    assert [line["files"] for line in resumed["messages"]] == [[], [{"filename": "part 7.png", "size": len(PHOTO)}]]
    await agent_socket.close()


async def test_bad_uploads_are_refused_with_their_codes_and_keep_nothing(chat_client: Client) -> None:
    _, started = await start(chat_client)
    token = started["token"]
    file = ("a.txt", b"words", "text/plain")
    refusals = [
        (await chat_client.post("/chat/files", data=_form("x", file)), 401, "chat.bad_token"),
        (
            await chat_client.post("/chat/files", data=_form("x", file), headers={"Authorization": "Bearer forged"}),
            401,
            "chat.bad_token",
        ),
    ]
    for response, status, code in refusals:
        assert (response.status, (await response.json())["error"]["code"]) == (status, code)
    for form, code in (
        (_form("x"), "chat.no_file"),
        (_form("x", ("empty.txt", b"", "text/plain")), "chat.no_file"),
        (_form(None, file), "chat.bad_frame"),
        (_form("x", file, file), "input.bad_field"),
        (_form("x", ("big.bin", b"\0" * (MAX_FILE_BYTES + 1), "application/octet-stream")), "chat.file_too_large"),
    ):
        status, body = await _upload(chat_client, token, form)
        assert (status, body["error"]["code"]) == (400, code)  # type: ignore[index]
    # From another session: each upload, refused or not, counts against a session's pace.
    _, other = await start(chat_client)
    headers = {"Authorization": f"Bearer {other['token']}", "Content-Type": "text/plain"}
    not_a_form = await chat_client.post("/chat/files", data=b"file=x", headers=headers)
    assert (not_a_form.status, (await not_a_form.json())["error"]["code"]) == (400, "input.bad_multipart")
    _, resumed = await resume(chat_client, token)
    assert resumed["messages"] == []


async def test_a_flood_of_files_is_throttled(chat_client: Client) -> None:
    _, started = await start(chat_client)
    statuses = [
        (await _upload(chat_client, started["token"], _form(f"c{n}", ("a.txt", b"words", "text/plain"))))[0]
        for n in range(FILES_BURST + 1)
    ]
    assert statuses == [201] * FILES_BURST + [429]


@FUZZ
@given(raw=st.binary(max_size=2000), boundary=st.sampled_from(["b", "", "x" * 80]))
async def test_any_bytes_as_a_form_get_an_answer_not_a_crash(chat_client: Client, raw: bytes, boundary: str) -> None:
    _, started = await start(chat_client)
    headers = {
        "Authorization": f"Bearer {started['token']}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    response = await chat_client.post("/chat/files", data=raw, headers=headers)
    assert response.status in (201, 400), await response.text()


async def test_a_name_or_type_no_column_could_hold_is_kept_as_one_it_can(chat_client: Client) -> None:
    """Bytes that are not UTF-8 in a name (aiohttp reads them as surrogates), control and
    direction characters, a type far past the column's 255: all stored, on either database."""
    _, started = await start(chat_client)
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="client_id"\r\n\r\nc1\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="'
    ).encode()
    name = b"\xff invoice\xe2\x80\xaefdp.exe"
    media = b"image/" + b"x" * 4000
    body = head + name + b'"\r\nContent-Type: ' + media + f"\r\n\r\nbytes\r\n--{boundary}--\r\n".encode()
    headers = [
        (b"Authorization", f"Bearer {started['token']}".encode()),
        (b"Content-Type", f"multipart/form-data; boundary={boundary}".encode()),
    ]
    status, answer = await raw_request(chat_client, "POST", "/chat/files", headers, body)
    assert status == 201, answer
    sam = await login(chat_client, "sam")
    record = await interaction(chat_client, sam, json.loads(answer)["interaction_id"])
    [named] = record["messages"][0]["attributes"]["attachments"]
    assert (named["filename"], named["content_type"]) == ("\ufffd invoice_fdp.exe", "application/octet-stream")


async def test_a_token_or_client_id_that_could_not_be_kept_is_refused(chat_client: Client) -> None:
    _, started = await start(chat_client)
    file = ("a.txt", b"words", "text/plain")
    status, body = await _upload(chat_client, started["token"], _form("c\x00", file))
    assert (status, body["error"]["code"]) == (400, "input.unstorable")  # type: ignore[index]
    form_type = b"multipart/form-data; boundary=b"
    refused, answer = await raw_request(
        chat_client, "POST", "/chat/files", [(b"Authorization", b"Bearer \xff"), (b"Content-Type", form_type)], b""
    )
    assert (refused, json.loads(answer)["error"]["code"]) == (401, "chat.bad_token")
    _, resumed = await resume(chat_client, started["token"])
    assert resumed["messages"] == []


def test_the_upload_limits_keep_only_sessions_whose_bucket_is_not_full_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions come and go by the thousand: a bucket refilled is forgotten, or the map of
    them would grow for as long as the service runs."""
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    limits = RateLimits(FILES_BURST, FILES_PER_SECOND)
    for session in range(100):
        assert limits.allow(f"s{session}")
    assert len(limits) == 100
    for _ in range(FILES_BURST):
        assert limits.allow("busy")
    assert not limits.allow("busy")

    clock[0] += 1 / FILES_PER_SECOND  # the one-file sessions' buckets are full again, busy's not
    assert limits.allow("new")
    assert len(limits) == 2
    assert limits.allow("busy")  # one file's worth came back
    assert not limits.allow("busy")
