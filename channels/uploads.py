"""Files sent in ``multipart/form-data`` (an agent's email reply, a chat visitor's upload):
the form read part by part with running bounds, so a request far past them is refused
without being held in memory, and each file named and typed as it may be kept and shown."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.hdrs import CONTENT_TYPE
from aiohttp.http_exceptions import HttpProcessingError

from interaction_center.domain.errors import InvalidInput
from interaction_center.domain.model import Attachment

_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")
_PATH = re.compile(r"[/\\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MAX_NAME = 200


async def form_parts(request: web.Request) -> AsyncIterator[BodyPartReader]:
    """The form's parts in order; a body that is not such a form, or a malformed part, is
    ``input.bad_multipart``."""
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError, KeyError, HttpProcessingError) as exc:
        raise InvalidInput(f"not a readable multipart/form-data body: {exc}", code="input.bad_multipart") from exc
    while True:
        try:
            part = await reader.next()
        except (ValueError, AssertionError, HttpProcessingError) as exc:
            raise InvalidInput(f"a part of the form is malformed: {exc}", code="input.bad_multipart") from exc
        if part is None:
            return
        if not isinstance(part, BodyPartReader):
            raise InvalidInput("a form within the form is not taken", code="input.bad_multipart")
        yield part


async def read_part(part: BodyPartReader, limit: int) -> bytes | None:
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


async def text_part(part: BodyPartReader, limit: int, *, too_long: str) -> str:
    """A field's text (UTF-8, at most ``limit`` bytes, else ``too_long``'s refusal)."""
    raw = await read_part(part, limit)
    if raw is None:
        raise InvalidInput(f"the {part.name} field is too long", code=too_long)
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the {part.name} field must be UTF-8 text", code="input.bad_field") from exc


def uploaded(part: BodyPartReader, data: bytes) -> Attachment:
    """The file as it is kept: named by the last part of its path, with no control
    characters, not too long (browsers and aiohttp's client escape a few characters of it,
    %22 for a quote), and typed by a well-formed media type, or as bytes."""
    last = _PATH.split(unquote(part.filename or ""))[-1]
    name = _CONTROL.sub("_", last).strip(" .")[:_MAX_NAME] or "attachment"
    media = (part.headers.get(CONTENT_TYPE) or "").split(";", 1)[0].strip().lower()
    return Attachment(name, media if _MEDIA_TYPE.fullmatch(media) else "application/octet-stream", data)
