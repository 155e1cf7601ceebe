"""Files sent in ``multipart/form-data`` (an agent's email reply, a chat visitor's upload):
the form read part by part with running bounds, so a request far past them is refused
without being held in memory, its text fields storable, and each file named and typed as
it may be kept and shown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.hdrs import CONTENT_TYPE
from aiohttp.http_exceptions import HttpProcessingError

from interaction_center.domain.errors import InvalidInput
from interaction_center.domain.model import Attachment, file_name, media_type
from interaction_center.domain.untrusted import require_storable


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
    """A field's text (UTF-8 that can be stored, at most ``limit`` bytes, else
    ``too_long``'s refusal)."""
    raw = await read_part(part, limit)
    if raw is None:
        raise InvalidInput(f"the {part.name} field is too long", code=too_long)
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the {part.name} field must be UTF-8 text", code="input.bad_field") from exc
    require_storable([(part.name or "", text)])
    return text


def uploaded(part: BodyPartReader, data: bytes) -> Attachment:
    """The file as it is kept (``file_name``, ``media_type``): browsers and aiohttp's client
    escape a few characters of a name (%22 for a quote)."""
    name = file_name(unquote(part.filename or "")) or "attachment"
    return Attachment(name, media_type(part.headers.get(CONTENT_TYPE) or ""), data)
