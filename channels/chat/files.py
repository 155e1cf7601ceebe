"""A chat visitor sends a file: ``POST /chat/files``, signed by their session's token
(``Authorization: Bearer``, as the chat page holds it; never a cookie, so another site's
page cannot send one for them), ``multipart/form-data`` with a ``client_id`` (as a chat
message has, so a retried upload is taken once) and one ``file``. It becomes the visitor's
next message, carrying the file, which their agent opens from the transcript; the answer
is the message's acknowledgement, as the socket gives one for a text."""

from __future__ import annotations

import asyncio

from aiohttp import web

from channels.chat.service import MAX_FILE_BYTES, ChatService
from channels.chat.socket import MAX_CLIENT_ID_CHARS, RateLimits
from channels.uploads import form_parts, read_part, text_part, uploaded
from interaction_center.domain.errors import InvalidInput, TooManyRequests, Unauthorized
from interaction_center.domain.json_text import dumps
from interaction_center.domain.model import Attachment
from interaction_center.domain.stamps import utcnow
from interaction_center.domain.untrusted import bearer
from interaction_center.domain.wire import ack_frame

PATH = "/chat/files"
# A few files in a row, then one every ten seconds: people send a photo or two, not a stream.
FILES_BURST = 5
FILES_PER_SECOND = 0.1


class ChatFiles:
    def __init__(self, desk: ChatService) -> None:
        self._desk = desk
        self._limits = RateLimits(FILES_BURST, FILES_PER_SECOND)

    def register(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.upload)

    async def upload(self, request: web.Request) -> web.Response:
        token = bearer(request.headers.get("Authorization", ""))
        if token is None:
            raise Unauthorized("send the chat's token as Authorization: Bearer", code="chat.bad_token")
        visitor = await self._desk.visitor(token)
        if not self._limits.allow(visitor.session_id):
            wait = 1 / FILES_PER_SECOND
            raise TooManyRequests("too many files at once", retry_after_seconds=wait, code="chat.too_many_files")
        client_id, file = await _form(request)
        # Shielded: a visitor closing the tab mid-write must not cut the commit in half.
        received = await asyncio.shield(self._desk.receive(visitor, client_id, "", (file,)))
        if received.created:
            self._desk.tell_place(visitor.session_id)
        ack = ack_frame(client_id, received.message_id, received.interaction_id, utcnow())
        return web.json_response(ack, status=201, dumps=dumps)


async def _form(request: web.Request) -> tuple[str, Attachment]:
    client_id: str | None = None
    file: Attachment | None = None
    async for part in form_parts(request):
        if part.name == "client_id" and client_id is None:
            client_id = await text_part(part, MAX_CLIENT_ID_CHARS, too_long="chat.too_large")
        elif part.name == "file" and file is None:
            data = await read_part(part, MAX_FILE_BYTES)
            if data is None:
                raise InvalidInput(f"a file may be {MAX_FILE_BYTES // 2**20} MiB at most", code="chat.file_too_large")
            file = uploaded(part, data)
        else:
            raise InvalidInput(
                f"unexpected field {part.name!r}: send a 'client_id' and one 'file'", code="input.bad_field"
            )
    if client_id is None or not client_id.strip():
        raise InvalidInput("a file needs a 'client_id' as a message has", code="chat.bad_frame")
    if file is None or not file.data:
        raise InvalidInput("send one non-empty 'file'", code="chat.no_file")
    return client_id, file
