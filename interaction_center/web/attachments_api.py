"""``GET /api/v1/attachments/{id}``: a file a message carried (an email's, either way; a
chat visitor's upload), for whoever may read its interaction, the way its message's
``attributes.attachments`` names it.

A customer's file is never shown as part of the service's pages: it always comes as a
download (``Content-Disposition: attachment``), in the type it was sent with when that is
a well-formed type, not sniffed for another, and under a policy that lets it run nothing,
should a browser open it anyway."""

from __future__ import annotations

import re
from urllib.parse import quote

from aiohttp import web

from interaction_center.desk.accounts import Account
from interaction_center.domain.model import media_type
from interaction_center.web.auth import EVERYONE, allow
from interaction_center.web.contract import FileContent, declare
from interaction_center.web.keys import SERVICES

routes = web.RouteTableDef()

# What a browser that cannot read filename* (RFC 6266) saves it as.
_NOT_PLAIN = re.compile(r'[^\x20-\x7e]|["\\]')


@routes.get("/api/v1/attachments/{attachment_id}")
@declare(FileContent, errors=(404,))
@allow(*EVERYONE)
async def attachment(request: web.Request, agent: Account) -> web.Response:
    found = await request.app[SERVICES].work.attachment(agent, request.match_info["attachment_id"])
    headers = {
        "Content-Type": media_type(found.content_type),
        "Content-Disposition": _disposition(found.filename or "attachment"),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        # A customer's file stays on the agent's machine no longer than they keep it.
        "Cache-Control": "private, no-store",
    }
    return web.Response(body=found.data, headers=headers)


def _disposition(name: str) -> str:
    """A download named ``name``: in UTF-8 for browsers (filename*), and plain for others."""
    return f"attachment; filename=\"{_NOT_PLAIN.sub('_', name)}\"; filename*=UTF-8''{quote(name, safe='')}"
