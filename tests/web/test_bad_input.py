"""The HTTP edge: whatever a request holds, the answer is a 4xx with a JSON error (never a
500), and nothing is stored. Named cases first, then hypothesis over every route."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from interaction_center.web.keys import SERVICES
from storage.models import Interaction, Message
from tests.hostile import FUZZ, bad_header_bytes, hostile_text, json_text, odd_charsets, raw_request
from tests.support import Client, login, post_sms, sms_form, twilio_signature

LOGIN = "/api/v1/auth/login"


async def error_code(response_status: int, body: bytes) -> str:
    assert 400 <= response_status < 500, (response_status, body[:300])
    return str(json.loads(body)["error"]["code"])


async def stored(client: Client) -> tuple[int, int]:
    async with client.app[SERVICES].sessions() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(Interaction)) or 0),
            int(await session.scalar(select(func.count()).select_from(Message)) or 0),
        )


async def test_json_nested_past_the_parsers_recursion_limit_is_400_bad_json(client: Client) -> None:
    for deep in ("[" * 100_000, '{"a":' * 40_000 + "1" + "}" * 40_000, "[" * 40 + "]" * 40):
        response = await client.post(LOGIN, data=deep, headers={"Content-Type": "application/json"})
        assert await error_code(response.status, await response.read()) == "input.bad_json"


async def test_a_lone_surrogate_or_nul_anywhere_in_json_is_400_unstorable(client: Client) -> None:
    for body in (
        '{"username": "al\\ud800ice", "password": "x"}',
        '{"username": "alice", "password": "\\udfff"}',
        '{"username": "alice", "password": "x", "\\ud83d": 1}',
        '{"username": "a\\u0000", "password": "x"}',
    ):
        response = await client.post(LOGIN, data=body, headers={"Content-Type": "application/json"})
        assert await error_code(response.status, await response.read()) == "input.unstorable", body


async def test_an_unknown_charset_is_415_and_a_body_not_in_its_charset_is_400(client: Client) -> None:
    body = json.dumps({"username": "alice", "password": "alice-pass"}).encode()
    for charset in ("x-unknown", "rot13", "\ufffd"):
        response = await client.post(LOGIN, data=body, headers={"Content-Type": f"application/json; charset={charset}"})
        assert (response.status, await error_code(response.status, await response.read())) == (
            415,
            "input.bad_charset",
        )
    response = await client.post(LOGIN, data=b'{"username": "\xff"}', headers={"Content-Type": "application/json"})
    assert await error_code(response.status, await response.read()) == "input.bad_encoding"
    latin1 = json.dumps({"username": "alice", "password": "alice-pass"}).encode("latin-1")
    response = await client.post(LOGIN, data=latin1, headers={"Content-Type": "application/json; charset=latin-1"})
    assert response.status == 200


async def test_authorization_bytes_that_are_not_utf8_are_401(client: Client) -> None:
    status, body = await raw_request(client, "GET", "/api/v1/agents/me", [(b"Authorization", b"Bearer \xff\xfe")])
    assert (status, await error_code(status, body)) == (401, "auth.unauthorized")


async def test_twilio_signature_bytes_that_are_not_utf8_are_403(client: Client) -> None:
    form = "&".join(f"{k}={quote(v)}" for k, v in sms_form().items()).encode()
    headers = [(b"X-Twilio-Signature", b"\xff\xfe"), (b"Content-Type", b"application/x-www-form-urlencoded")]
    status, body = await raw_request(client, "POST", "/twilio/sms", headers, form)
    assert (status, await error_code(status, body)) == (403, "twilio.bad_signature")
    assert await stored(client) == (0, 0)


async def test_a_twilio_form_in_an_unknown_charset_is_415(client: Client) -> None:
    form = sms_form()
    response = await client.post(
        "/twilio/sms",
        data="&".join(f"{k}={quote(v)}" for k, v in form.items()),
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=x-unknown",
            "X-Twilio-Signature": twilio_signature("/twilio/sms", form),
        },
    )
    assert (response.status, await error_code(response.status, await response.read())) == (415, "input.bad_charset")
    assert await stored(client) == (0, 0)


async def test_a_signed_twilio_form_with_a_nul_is_400_and_stores_nothing(client: Client) -> None:
    response = await post_sms(client, sms_form(body="nul \x00 inside"))
    assert await error_code(response.status, await response.read()) == "input.unstorable"
    assert await stored(client) == (0, 0)


async def test_a_path_parameter_that_cannot_be_stored_is_400(client: Client) -> None:
    sam = await login(client, "sam")
    for bad in ("%00", "%ED%A0%80", "%FF"):
        response = await client.get(f"/api/v1/interactions/x{bad}y", headers=sam)
        assert response.status in (400, 404), (bad, response.status)
        await error_code(response.status, await response.read())


def _routes(client: Client) -> list[tuple[str, str]]:
    """Every route of the app but logout, which reads only its token (fuzzed below) and
    would end the session the rest is fuzzed in."""
    found = []
    for route in client.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method not in ("HEAD", "*") and path != "/api/v1/auth/logout":
            found.append((route.method, path))
    return sorted(set(found))


_ROUTE = st.integers(min_value=0, max_value=10_000)


@FUZZ
@given(pick=_ROUTE, param=hostile_text, body=json_text(200_000), charset=st.none() | odd_charsets)
async def test_every_route_answers_hostile_json_with_a_4xx_and_stores_nothing(
    client: Client, pick: int, param: str, body: str, charset: str | None
) -> None:
    routes = _routes(client)
    method, template = routes[pick % len(routes)]
    path = re.sub(r"\{[^}]+\}", quote(param.encode("utf-8", "surrogatepass")[:1000], safe=""), template)
    content_type = "application/json" + (f"; charset={charset}" if charset else "")
    sam = await login(client, "sam")
    response = await client.request(
        method,
        path,
        data=body.encode("utf-8", "surrogatepass"),
        headers={**sam, "Content-Type": content_type},
    )
    assert response.status < 500, (method, path, response.status, await response.text())
    if response.status >= 400 and response.content_type == "application/json":
        assert (await response.json())["error"]["code"]
    assert await stored(client) == (0, 0)


@FUZZ
@given(pick=_ROUTE, header=st.sampled_from([b"Authorization", b"X-Twilio-Signature"]), value=bad_header_bytes)
async def test_every_route_answers_header_bytes_that_are_not_utf8_without_a_5xx(
    client: Client, pick: int, header: bytes, value: bytes
) -> None:
    routes = _routes(client)
    method, template = routes[pick % len(routes)]
    path = re.sub(r"\{[^}]+\}", "x", template)
    headers = [(header, value), (b"Content-Type", b"application/x-www-form-urlencoded")]
    status, body = await raw_request(client, method, path, headers, b"From=%2B15551230001&To=x&MessageSid=SM1")
    assert status < 500, (method, path, status, body[:300])
    # The routes anyone may call: a page's sign-in and its question of who is signed in among them.
    public = (LOGIN, "/api/v1/auth/session", "/api/v1/ws", "/api/v1/openapi.json")
    if path.startswith("/api/v1/") and path not in public and header == b"Authorization":
        assert status == 401
    if path.startswith("/twilio/"):
        assert status == 403
    assert await stored(client) == (0, 0)
