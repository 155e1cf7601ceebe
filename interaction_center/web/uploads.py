"""A reply with files: ``multipart/form-data`` with one ``body`` field and ``attachment``
files. Read part by part with running bounds, so a request far past them is refused
without being held in memory; the app's JSON bound does not apply to it."""

from __future__ import annotations

import re
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.hdrs import CONTENT_TYPE
from aiohttp.http_exceptions import HttpProcessingError

from interaction_center.domain.errors import InvalidInput
from interaction_center.domain.model import MAX_ATTACHED_BYTES, MAX_ATTACHMENTS, Attachment

# The longest reply's text (an email's 20,000 characters) as UTF-8, with room to spare;
# the channel's own limit is checked by the service.
_MAX_BODY_BYTES = 128 * 1024
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")
_PATH = re.compile(r"[/\\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MAX_NAME = 200


async def reply_form(request: web.Request) -> tuple[str, tuple[Attachment, ...]]:
    """The reply's text and its files."""
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError, KeyError, HttpProcessingError) as exc:
        raise InvalidInput(f"not a readable multipart/form-data body: {exc}", code="input.bad_multipart") from exc
    body: str | None = None
    files: list[Attachment] = []
    attached = 0
    while True:
        try:
            part = await reader.next()
        except (ValueError, AssertionError, HttpProcessingError) as exc:
            raise InvalidInput(f"a part of the form is malformed: {exc}", code="input.bad_multipart") from exc
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise InvalidInput("a form within the form is not taken", code="input.bad_multipart")
        if part.name == "body" and body is None:
            raw = await _read(part, _MAX_BODY_BYTES)
            if raw is None:
                raise InvalidInput("the body field is far longer than any reply", code="message.too_long")
            try:
                body = raw.decode()
            except UnicodeDecodeError as exc:
                raise InvalidInput("the body field must be UTF-8 text", code="input.bad_field") from exc
        elif part.name == "attachment":
            if len(files) == MAX_ATTACHMENTS:
                raise InvalidInput(f"at most {MAX_ATTACHMENTS} attachments", code="message.too_many_attachments")
            data = await _read(part, MAX_ATTACHED_BYTES - attached)
            if data is None:
                raise InvalidInput(
                    f"attachments may hold at most {MAX_ATTACHED_BYTES // 2**20} MiB in all",
                    code="message.attachments_too_large",
                )
            attached += len(data)
            files.append(Attachment(_filename(part.filename), _media_type(part.headers.get(CONTENT_TYPE)), data))
        else:
            raise InvalidInput(
                f"unexpected field {part.name!r}: send one 'body' and 'attachment' files", code="input.bad_field"
            )
    if body is None:
        raise InvalidInput("a reply needs a 'body' field", code="message.empty")
    return body, tuple(files)


async def _read(part: BodyPartReader, limit: int) -> bytes | None:
    """The part's bytes; None past ``limit`` (read no further)."""
    data = bytearray()
    try:
        while chunk := await part.read_chunk():
            data += chunk
            if len(data) > limit:
                return None
    except (ValueError, HttpProcessingError) as exc:
        raise InvalidInput(f"a part of the form is malformed: {exc}", code="input.bad_multipart") from exc
    return bytes(data)


def _filename(given: str | None) -> str:
    """The name the customer sees: the last part of a path, no control characters, not too
    long. Browsers and aiohttp's client escape a few characters of it (%22 for a quote)."""
    last = _PATH.split(unquote(given or ""))[-1]
    name = _CONTROL.sub("_", last).strip(" .")[:_MAX_NAME]
    return name or "attachment"


def _media_type(given: str | None) -> str:
    media = (given or "").split(";", 1)[0].strip().lower()
    return media if _MEDIA_TYPE.fullmatch(media) else "application/octet-stream"
