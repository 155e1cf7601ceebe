"""The widget's files: the loader a site embeds with one script tag
(``GET /chat/widget.js``), and the chat page it frames (``GET /chat/``, with its module and
style sheet), which also works opened on its own.

The page carries a strict Content-Security-Policy: scripts and styles only from these
files, never inline, so a visitor's or agent's text shown by mistake as markup could run
nothing; and only the sites in ``channels.chat.allowed_origins`` (and our own) may frame it."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"
# Served by name, each with its type named here (nosniff makes a browser refuse a module
# typed as anything else), and nothing else from the folder.
FILES = {
    "widget.js": "text/javascript",
    "chat.js": "text/javascript",
    "chat.css": "text/css",
}


def content_security_policy(allowed_origins: Collection[str]) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            " ".join(["frame-ancestors 'self'", *allowed_origins]),
        ]
    )


class ChatPage:
    def __init__(self, allowed_origins: Collection[str]) -> None:
        self._headers = {
            "Content-Security-Policy": content_security_policy(allowed_origins),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            # Our files change with a release under the same name: revalidated on each use.
            "Cache-Control": "no-cache",
        }

    def register(self, app: web.Application) -> None:
        app.router.add_get("/chat/", self.page)
        app.router.add_get("/chat", self.to_page)
        for name in FILES:
            app.router.add_get(f"/chat/{name}", self.file)

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(
            STATIC / "chat.html", headers={**self._headers, "Content-Type": "text/html; charset=utf-8"}
        )

    async def to_page(self, request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect("/chat/")

    async def file(self, request: web.Request) -> web.FileResponse:
        name = request.path.removeprefix("/chat/")
        return web.FileResponse(
            STATIC / name, headers={**self._headers, "Content-Type": f"{FILES[name]}; charset=utf-8"}
        )
