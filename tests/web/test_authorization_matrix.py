"""Every API route against every kind of caller: no token, a garbage one, an expired one,
a revoked one, and each role. Callers without a live token get 401 everywhere; a role the
route does not declare gets 403; the roles it declares get past authorization (whatever
the route then says of the request, never a 401 or 403 for the role, never a 5xx). And an
agent acting on another agent's interaction or customer is refused, changing nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from interaction_center.domain.model import Role
from interaction_center.web.keys import SERVICES
from storage.models import AuthToken
from tests.support import ADMIN, Client, login, offered, post_sms, set_status, sms_form

# The API's own description is public too: it names no account and no data.
PUBLIC = {
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/session"),
    ("GET", "/api/v1/auth/session"),
    ("GET", "/api/v1/ws"),
    ("GET", "/api/v1/openapi.json"),
}
AS = {Role.AGENT: "alice", Role.SUPERVISOR: "sam", Role.ADMIN: "ada"}


def _routes(client: Client) -> list[tuple[str, str, tuple[Role, ...]]]:
    """(method, path with every parameter "x", the roles it admits) of every API route."""
    found = []
    for route in client.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if not path.startswith("/api/") or route.method == "HEAD" or (route.method, path) in PUBLIC:
            continue
        roles = getattr(route.handler, "allowed_roles", None)
        assert roles, f"{route.method} {path} declares no roles"
        found.append((route.method, re.sub(r"\{[^}]+\}", "x", path), tuple(roles)))
    # Logging out ends the caller's token: last, so the other routes are called with it live.
    return sorted(found, key=lambda route: route[1] == "/api/v1/auth/logout")


async def _token(client: Client, username: str) -> dict[str, str]:
    return await login(client, username)


async def test_every_route_admits_exactly_its_roles_and_no_dead_token(app_factory: Any, settings_factory: Any) -> None:
    client: Client = await app_factory(settings_factory(top=ADMIN))
    routes = _routes(client)
    assert len(routes) >= 40

    expired = await _token(client, "bob")
    async with client.app[SERVICES].sessions.begin() as session:
        await session.execute(update(AuthToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    revoked = await _token(client, "bob")
    assert (await client.post("/api/v1/auth/logout", headers=revoked)).status == 200
    dead = {
        "none": {},
        "garbage": {"Authorization": "Bearer not-a-token"},
        "not bearer": {"Authorization": "Basic YWxpY2U6YWxpY2UtcGFzcw=="},
        "expired": expired,
        "revoked": revoked,
    }
    live = {role: await _token(client, username) for role, username in AS.items()}

    for method, path, roles in routes:
        for kind, headers in dead.items():
            response = await client.request(method, path, headers=headers, json={})
            assert response.status == 401, (method, path, kind)
            assert (await response.json())["error"]["code"].startswith("auth."), (method, path, kind)
        for role, headers in live.items():
            response = await client.request(method, path, headers=headers, json={})
            body = await response.json() if response.content_type == "application/json" else {}
            code = body.get("error", {}).get("code") if isinstance(body, dict) else None
            assert response.status < 500, (method, path, role, body)
            if role in roles:
                assert code != "auth.role" and response.status != 401, (method, path, role, body)
            else:
                assert (response.status, code) == (403, "auth.role"), (method, path, role, body)


async def test_an_agent_cannot_touch_another_agents_interaction_or_customer(client: Client) -> None:
    alice, bob = await login(client, "alice"), await login(client, "bob")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    [offer] = await offered(client, alice)
    await post_sms(client, sms_form(sender="+15551230002"))
    [later] = [o for o in await offered(client, alice) if o["id"] != offer["id"]]
    held = await (await client.post(f"/api/v1/offers/{offer['offer']['id']}/accept", headers=alice)).json()
    interaction, customer = f"/api/v1/interactions/{held['id']}", f"/api/v1/customers/{held['customer_id']}"
    before = await (await client.get(interaction, headers=alice)).json()
    for method, path, body in (
        ("GET", interaction, None),
        ("POST", f"{interaction}/messages", {"body": "hi"}),
        ("POST", f"{interaction}/notes", {"body": "mine now"}),
        ("POST", f"{interaction}/transfer", {"queue": "sales"}),
        ("POST", f"{interaction}/complete", {"disposition": "resolved"}),
        ("POST", f"{interaction}/call/hold", {"on": True}),
        ("POST", f"{interaction}/call/hangup", {}),
        ("GET", f"/api/v1/canned?interaction_id={held['id']}", None),
        ("GET", customer, None),
        ("PATCH", customer, {"display_name": "Mallory"}),
        ("POST", f"{customer}/merge", {"from": held["customer_id"]}),
        ("POST", f"/api/v1/offers/{later['offer']['id']}/accept", None),
        ("POST", f"/api/v1/offers/{later['offer']['id']}/reject", None),
    ):
        response = await client.request(method, path, json=body, headers=bob)
        assert response.status in (400, 403, 409), (method, path, response.status)
    assert await (await client.get(interaction, headers=alice)).json() == before
    # The offer bob tried to take or refuse is still alice's.
    assert [o["id"] for o in await offered(client, alice)] == [later["id"]]
