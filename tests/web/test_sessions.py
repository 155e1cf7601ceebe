"""The pages' session cookie: set by a page's login with its attributes, good for reads
and the live socket, refused on a changing request or a socket another site could have
made, cleared and revoked by logout; bearer tokens work as before."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from http.cookies import Morsel, SimpleCookie

import pytest
from aiohttp import WSMsgType, WSServerHandshakeError

from interaction_center.settings.model import Settings
from interaction_center.web.auth import SESSION_COOKIE
from interaction_center.web.keys import SERVICES
from tests.support import ADMIN, PASSWORDS, PUBLIC_BASE, AppFactory, Client, login, next_frame

PAGE = {"X-Requested-With": "interaction-center"}


async def _sign_in(client: Client, username: str = "alice", **headers: str) -> Morsel[str]:
    response = await client.post(
        "/api/v1/auth/session",
        json={"username": username, "password": PASSWORDS[username]},
        headers={**PAGE, **headers},
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["agent"]["username"] == username
    assert "token" not in body  # the page's scripts never hold it
    cookies: SimpleCookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie"):
        cookies.load(header)
    return cookies[SESSION_COOKIE]


def _by_cookie(session: Morsel[str], **headers: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={session.value}", **headers}


async def test_a_pages_login_sets_an_httponly_strict_cookie_expiring_with_its_token(client: Client) -> None:
    session = await _sign_in(client)
    assert session["httponly"] is True
    assert session["samesite"] == "Strict"
    assert session["path"] == "/"
    assert PUBLIC_BASE.startswith("https://") and session["secure"] is True
    ttl = client.app[SERVICES].settings.auth.token_ttl_seconds
    assert ttl - 5 <= int(session["max-age"]) <= ttl


async def test_the_cookie_is_not_secure_when_the_service_is_reached_by_http(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory()
    client = await app_factory(
        dataclasses.replace(settings, http=dataclasses.replace(settings.http, public_base_url="http://ic.example.test"))
    )
    session = await _sign_in(client)
    assert not session["secure"]
    assert session["httponly"] is True


async def test_the_cookie_signs_in_reads_and_says_who_is_signed_in(client: Client) -> None:
    assert await (await client.get("/api/v1/auth/session")).json() == {"agent": None}
    session = await _sign_in(client)
    me = await client.get("/api/v1/agents/me", headers=_by_cookie(session))
    assert me.status == 200
    assert (await me.json())["username"] == "alice"
    who = await (await client.get("/api/v1/auth/session", headers=_by_cookie(session))).json()
    assert who["agent"]["username"] == "alice"


async def test_a_changing_request_by_cookie_needs_our_header_or_our_origin(client: Client) -> None:
    session = await _sign_in(client)
    available = {"status": "available"}
    for cross_site in ({}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        headers = _by_cookie(session, **cross_site)
        refused = await client.put("/api/v1/agents/me/status", json=available, headers=headers)
        assert refused.status == 403, cross_site
        assert (await refused.json())["error"]["code"] == "auth.cross_site"
    me = await (await client.get("/api/v1/agents/me", headers=_by_cookie(session))).json()
    assert me["status"] == "offline"  # nothing changed

    for own in (PAGE, {"Origin": PUBLIC_BASE}, {"Origin": str(client.make_url("/").origin())}):
        allowed = await client.put("/api/v1/agents/me/status", json=available, headers=_by_cookie(session, **own))
        assert allowed.status == 200, (own, await allowed.text())


async def test_a_pages_login_from_another_site_is_refused(client: Client) -> None:
    response = await client.post(
        "/api/v1/auth/session",
        json={"username": "alice", "password": PASSWORDS["alice"]},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status == 403
    assert "Set-Cookie" not in response.headers


async def test_bearer_tokens_need_no_header_and_win_over_a_cookie(client: Client) -> None:
    alice = await login(client, "alice")
    response = await client.put("/api/v1/agents/me/status", json={"status": "available"}, headers=alice)
    assert response.status == 200
    bob = await _sign_in(client, "bob")
    me = await client.get("/api/v1/agents/me", headers={**alice, **_by_cookie(bob)})
    assert (await me.json())["username"] == "alice"


async def test_logout_by_cookie_clears_the_cookie_and_revokes_its_token(client: Client) -> None:
    session = await _sign_in(client)
    response = await client.post("/api/v1/auth/logout", headers=_by_cookie(session, **PAGE))
    assert response.status == 200
    cleared: SimpleCookie = SimpleCookie(response.headers["Set-Cookie"])
    assert cleared[SESSION_COOKIE].value == ""
    assert cleared[SESSION_COOKIE]["max-age"] == "0"
    # A copy of the old cookie is good for nothing now.
    assert (await client.get("/api/v1/agents/me", headers=_by_cookie(session))).status == 401
    assert await (await client.get("/api/v1/auth/session", headers=_by_cookie(session))).json() == {"agent": None}


async def test_a_pages_logins_are_in_the_audit_log_refused_or_not(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    client = await app_factory(settings_factory(top=ADMIN))
    wrong = {"username": "bob", "password": "wrong-password"}
    assert (await client.post("/api/v1/auth/session", json=wrong, headers=PAGE)).status == 401
    await _sign_in(client, "bob")
    ada = await login(client, "ada")
    log = await (await client.get("/api/v1/audit", headers=ada)).json()
    pages = [(e["action"], e["status"], e["detail"]) for e in log["entries"] if e["action"].endswith("/session")]
    assert pages == [
        ("POST /api/v1/auth/session", 200, {"username": "bob"}),
        ("POST /api/v1/auth/session", 401, {"username": "bob"}),
    ]


async def test_a_password_changed_by_cookie_keeps_that_session(client: Client) -> None:
    session = await _sign_in(client)
    change = {"current_password": PASSWORDS["alice"], "new_password": "quiet-lantern-harbour-1987"}
    response = await client.put("/api/v1/agents/me/password", json=change, headers=_by_cookie(session, **PAGE))
    assert response.status == 200, await response.text()
    assert (await client.get("/api/v1/agents/me", headers=_by_cookie(session))).status == 200


async def test_the_live_socket_takes_the_cookie_from_our_pages_only(client: Client) -> None:
    session = await _sign_in(client)
    own = str(client.make_url("/").origin())
    socket = await client.ws_connect("/api/v1/ws", headers=_by_cookie(session, Origin=own))
    assert (await next_frame(socket, "hello"))["agent"]["username"] == "alice"
    # Logging out by cookie closes what the cookie opened.
    assert (await client.post("/api/v1/auth/logout", headers=_by_cookie(session, **PAGE))).status == 200
    assert (await socket.receive(timeout=5)).type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)

    session = await _sign_in(client)
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/api/v1/ws", headers=_by_cookie(session, Origin="https://evil.example"))
    assert refused.value.status == 403
