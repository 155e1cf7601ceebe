"""The service's own pages: the agent desktop (``/agent/``) and the supervisor dashboard
(``/supervisor/``), plain ES modules under ``/assets/`` and the libraries vendored under
``/assets/vendor/`` (recorded in vendored.toml). No build step, nothing from elsewhere.

They sign in with the session cookie (``web.auth``) and call the API like any client.
Every answer under these paths carries a strict Content-Security-Policy: scripts and
styles only from files of ours, never inline, so markup slipped into a page (a customer's
text rendered by mistake) could run nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"/agent/": STATIC / "agent.html", "/supervisor/": STATIC / "supervisor.html"}
ASSETS = "/assets/"
VENDOR = "/assets/vendor/"
# What is served from assets, by suffix, named here rather than guessed from the system's
# MIME table (some map .js to text/plain, and nosniff makes a browser refuse a module so
# typed); anything else there (a vendored package's LICENSE) is not served.
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".wav": "audio/wav"}

_POLICY = [
    "default-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
]
# The browser phone's signalling: Twilio's Voice SDK opens a WebSocket to
# voice-js.roaming.twilio.com, then to the edge that answers (voice-js.<edge>.twilio.com),
# which a policy cannot name but by a wildcard. Allowed only where browser calls are.
TWILIO_SIGNALLING = "connect-src 'self' wss://*.twilio.com"
_OTHER_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
# A vendored file's directory names its version, so its URL never changes content: cached
# for good. Our own files change with each release under the same URL: revalidated on
# every use, which their ETag makes a 304 when nothing changed.
CACHE_FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def security_headers(browser_calls: bool) -> dict[str, str]:
    """What every answer under the pages' paths carries; ``browser_calls``: whether the
    desk may reach Twilio's signalling for the browser phone."""
    policy = [*_POLICY, TWILIO_SIGNALLING] if browser_calls else _POLICY
    return {"Content-Security-Policy": "; ".join(policy), **_OTHER_HEADERS}


def register(app: web.Application, browser_calls: bool) -> None:
    for path, file in PAGES.items():
        app.router.add_get(path, _page(file))
        app.router.add_get(path.rstrip("/"), _to(path))
    app.router.add_get(ASSETS + "{name:.+}", _asset)
    app.on_response_prepare.append(_secure(security_headers(browser_calls)))


def _page(file: Path) -> Handler:
    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(file, headers={"Content-Type": "text/html; charset=utf-8"})

    return page


async def _asset(request: web.Request) -> web.FileResponse:
    file = (STATIC / "assets" / request.match_info["name"]).resolve()
    try:
        found = file.is_relative_to(STATIC / "assets") and file.suffix in ASSET_TYPES and file.is_file()
    except OSError:
        # A name the file system refuses (one too long) names no asset.
        found = False
    if not found:
        raise web.HTTPNotFound()
    return web.FileResponse(file, headers={"Content-Type": f"{ASSET_TYPES[file.suffix]}; charset=utf-8"})


def _to(path: str) -> Handler:
    async def redirect(request: web.Request) -> web.Response:
        # An address typed without its slash still finds the page.
        raise web.HTTPPermanentRedirect(path)

    return redirect


def _secure(headers: dict[str, str]) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    async def secure(request: web.Request, response: web.StreamResponse) -> None:
        if request.path not in PAGES and not request.path.startswith(ASSETS):
            return
        response.headers.update(headers)
        found = response.status in (200, 304)
        response.headers["Cache-Control"] = CACHE_FOREVER if found and request.path.startswith(VENDOR) else REVALIDATE

    return secure
