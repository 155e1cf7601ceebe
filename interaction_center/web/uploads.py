"""A reply with files: ``multipart/form-data`` with one ``body`` field and ``attachment``
files (``channels.uploads`` reads them within bounds); the app's JSON bound does not apply
to it."""

from __future__ import annotations

from aiohttp import web

from channels.uploads import form_parts, read_part, text_part, uploaded
from interaction_center.domain.errors import InvalidInput
from interaction_center.domain.model import MAX_ATTACHED_BYTES, MAX_ATTACHMENTS, Attachment

# The longest reply's text (an email's 20,000 characters) as UTF-8, with room to spare;
# the channel's own limit is checked by the service.
_MAX_BODY_BYTES = 128 * 1024


async def reply_form(request: web.Request) -> tuple[str, tuple[Attachment, ...]]:
    """The reply's text and its files."""
    body: str | None = None
    files: list[Attachment] = []
    attached = 0
    async for part in form_parts(request):
        if part.name == "body" and body is None:
            body = await text_part(part, _MAX_BODY_BYTES, too_long="message.too_long")
        elif part.name == "attachment":
            if len(files) == MAX_ATTACHMENTS:
                raise InvalidInput(f"at most {MAX_ATTACHMENTS} attachments", code="message.too_many_attachments")
            data = await read_part(part, MAX_ATTACHED_BYTES - attached)
            if data is None:
                raise InvalidInput(
                    f"attachments may hold at most {MAX_ATTACHED_BYTES // 2**20} MiB in all",
                    code="message.attachments_too_large",
                )
            attached += len(data)
            files.append(uploaded(part, data))
        else:
            raise InvalidInput(
                f"unexpected field {part.name!r}: send one 'body' and 'attachment' files", code="input.bad_field"
            )
    if body is None:
        raise InvalidInput("a reply needs a 'body' field", code="message.empty")
    return body, tuple(files)
