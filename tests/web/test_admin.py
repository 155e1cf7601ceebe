"""Admins manage agents over the API: create under the password policy, edit the profile
(which reaches routing at once), deactivate (tokens revoked, the session ended, no login)
and reactivate, reset a password; an agent changes their own. Only admins may."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType

from interaction_center.settings.model import Settings
from tests.support import (
    ADMIN,
    Client,
    agent_id,
    closed_with,
    login,
    next_frame,
    post_sms,
    set_status,
    sms_form,
    still_open,
)

Start = Callable[[Settings], Awaitable[Client]]
Make = Callable[..., Settings]
STRONG = "correct horse battery staple"
OTHER_STRONG = "violet tractor humming softly"


@pytest.fixture
async def admin_client(app_factory: Start, settings_factory: Make) -> Client:
    return await app_factory(settings_factory(top=ADMIN))


async def _agent(client: Client, headers: dict[str, str], username: str) -> dict[str, Any]:
    body = await (await client.get("/api/v1/agents", headers=headers)).json()
    found: dict[str, Any] = next(a for a in body["agents"] if a["username"] == username)
    return found


async def _login_status(client: Client, username: str, password: str) -> tuple[int, str | None]:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    body = await response.json()
    return response.status, body.get("error", {}).get("code")


async def _at_the_desk(client: Client, headers: dict[str, str]) -> tuple[ClientWebSocketResponse, str]:
    """The agent available, with their live socket; and their id."""
    socket = await client.ws_connect("/api/v1/ws", headers=headers)
    await next_frame(socket, "hello")
    await set_status(client, headers, "available")
    return socket, await agent_id(client, headers)


async def test_an_admin_creates_an_agent_under_the_policy_who_can_then_log_in(admin_client: Client) -> None:
    client = admin_client
    ada = await login(client, "ada")
    new = {"username": "dave", "display_name": "Dave D", "queues": ["support"], "skills": {"billing": 7}}

    weak = await client.post("/api/v1/agents", json=new | {"password": "dave1234"}, headers=ada)
    assert (weak.status, (await weak.json())["error"]["code"]) == (400, "auth.weak_password")
    unknown = await client.post(
        "/api/v1/agents", json=new | {"password": STRONG, "queues": ["nowhere"], "skills": {"juggling": 3}}, headers=ada
    )
    error = (await unknown.json())["error"]
    assert (unknown.status, error["code"]) == (400, "agent.bad_profile")
    assert "nowhere" in error["message"] and "juggling" in error["message"]

    created = await client.post("/api/v1/agents", json=new | {"password": STRONG}, headers=ada)
    assert created.status == 201
    body = await created.json()
    assert (body["username"], body["display_name"], body["active"]) == ("dave", "Dave D", True)
    assert body["skills"] == {"billing": 7}
    assert [q["queue"] for q in body["queues"]] == ["support"]
    for too_long in ({"username": "d" * 101}, {"display_name": "D" * 201}):
        refused = await client.post("/api/v1/agents", json=new | {"password": STRONG} | too_long, headers=ada)
        assert (refused.status, (await refused.json())["error"]["code"]) == (400, "agent.bad_profile")
    again = await client.post("/api/v1/agents", json=new | {"password": STRONG}, headers=ada)
    assert (again.status, (await again.json())["error"]["code"]) == (409, "agent.exists")
    assert await _login_status(client, "dave", STRONG) == (200, None)


async def test_an_edited_profile_reaches_routing_at_once(admin_client: Client) -> None:
    client = admin_client
    ada, carol = await login(client, "ada"), await login(client, "carol")
    socket, carol_id = await _at_the_desk(client, carol)

    edited = await client.patch(
        f"/api/v1/agents/{carol_id}", json={"queues": ["support"], "skills": {"spanish": 4}}, headers=ada
    )
    assert edited.status == 200, await edited.text()
    assert (await edited.json())["skills"] == {"spanish": 4}
    # Carol served only sales; as support's agent now, she is offered support's contact.
    await post_sms(client, sms_form())
    assert (await next_frame(socket, "offer"))["queue"] == "support"
    await socket.close()


async def test_an_edit_names_only_what_may_change_and_changes_nothing_when_refused(admin_client: Client) -> None:
    client = admin_client
    ada = await login(client, "ada")
    alice = await _agent(client, ada, "alice")
    for body, code in (
        ({"username": "mallory"}, "agent.bad_profile"),
        ({"password": STRONG}, "agent.bad_profile"),
        ({"queues": ["support", "support"]}, "agent.bad_profile"),
        ({"role": "overlord"}, "agent.bad_profile"),
        ({"capacity": {"fax": 2}}, "agent.bad_profile"),
        ({"phone": "555"}, "agent.bad_profile"),
        ({"capacity": {"chat": 1_000_000}}, "agent.bad_profile"),
        ({}, "agent.bad_profile"),
    ):
        response = await client.patch(f"/api/v1/agents/{alice['id']}", json=body, headers=ada)
        assert (response.status, (await response.json())["error"]["code"]) == (400, code), body
    assert await _agent(client, ada, "alice") == alice
    missing = await client.patch("/api/v1/agents/no-such-agent", json={"display_name": "x"}, headers=ada)
    assert (missing.status, (await missing.json())["error"]["code"]) == (404, "agent.not_found")


async def test_deactivation_revokes_tokens_ends_the_session_and_refuses_logins(admin_client: Client) -> None:
    client = admin_client
    ada, alice = await login(client, "ada"), await login(client, "alice")
    socket, alice_id = await _at_the_desk(client, alice)

    closed = await client.post(f"/api/v1/agents/{alice_id}/deactivate", headers=ada)
    assert closed.status == 200 and (await closed.json())["active"] is False
    while (message := await socket.receive(timeout=5)).type is WSMsgType.TEXT:
        pass
    assert (message.type, message.data, message.extra) == (WSMsgType.CLOSE, 4001, "deactivated")
    assert (await client.get("/api/v1/agents/me", headers=alice)).status == 401
    record = await _agent(client, ada, "alice")
    assert (record["status"], record["status_reason"], record["active"]) == ("offline", "deactivated", False)
    assert await _login_status(client, "alice", "alice-pass") == (401, "auth.deactivated")
    # A closed account takes nothing: no status but offline, no transfer to it.
    sam = await login(client, "sam")
    back = await client.put(f"/api/v1/agents/{alice_id}/status", json={"status": "available"}, headers=sam)
    assert (back.status, (await back.json())["error"]["code"]) == (409, "agent.deactivated")
    directory = await (await client.get("/api/v1/agents/directory", headers=sam)).json()
    assert alice_id not in {colleague["id"] for colleague in directory["agents"]}
    # A wrong password is told no more than ever.
    assert await _login_status(client, "alice", "wrong") == (401, "auth.bad_credentials")

    opened = await client.post(f"/api/v1/agents/{alice_id}/reactivate", headers=ada)
    assert opened.status == 200 and (await opened.json())["active"] is True
    assert await _login_status(client, "alice", "alice-pass") == (200, None)


async def test_the_last_admin_cannot_lock_everyone_out(admin_client: Client) -> None:
    client = admin_client
    ada = await login(client, "ada")
    ada_id = await agent_id(client, ada)
    itself = await client.post(f"/api/v1/agents/{ada_id}/deactivate", headers=ada)
    assert (itself.status, (await itself.json())["error"]["code"]) == (409, "agent.self")
    demoted = await client.patch(f"/api/v1/agents/{ada_id}", json={"role": "agent"}, headers=ada)
    assert (demoted.status, (await demoted.json())["error"]["code"]) == (409, "agent.last_admin")
    assert (await _agent(client, ada, "ada"))["role"] == "admin"


async def test_a_reset_password_ends_the_agents_logins(admin_client: Client) -> None:
    client = admin_client
    ada, bob = await login(client, "ada"), await login(client, "bob")
    bob_id = await agent_id(client, bob)
    weak = await client.put(f"/api/v1/agents/{bob_id}/password", json={"password": "bob"}, headers=ada)
    assert (weak.status, (await weak.json())["error"]["code"]) == (400, "auth.weak_password")
    assert (await client.get("/api/v1/agents/me", headers=bob)).status == 200

    reset = await client.put(f"/api/v1/agents/{bob_id}/password", json={"password": STRONG}, headers=ada)
    assert reset.status == 200
    assert (await client.get("/api/v1/agents/me", headers=bob)).status == 401
    assert await _login_status(client, "bob", "bob-pass") == (401, "auth.bad_credentials")
    assert await _login_status(client, "bob", STRONG) == (200, None)


async def test_an_agent_changes_their_own_password_and_their_other_logins_end(admin_client: Client) -> None:
    client = admin_client
    here, elsewhere = await login(client, "alice"), await login(client, "alice")
    here_socket = await client.ws_connect("/api/v1/ws", headers=here)
    elsewhere_socket = await client.ws_connect("/api/v1/ws", headers=elsewhere)
    for socket in (here_socket, elsewhere_socket):
        await next_frame(socket, "hello")
    wrong = await client.put(
        "/api/v1/agents/me/password", json={"current_password": "nope", "new_password": STRONG}, headers=here
    )
    assert (wrong.status, (await wrong.json())["error"]["code"]) == (403, "auth.wrong_password")
    weak = await client.put(
        "/api/v1/agents/me/password", json={"current_password": "alice-pass", "new_password": "alice"}, headers=here
    )
    assert (weak.status, (await weak.json())["error"]["code"]) == (400, "auth.weak_password")

    changed = await client.put(
        "/api/v1/agents/me/password",
        json={"current_password": "alice-pass", "new_password": OTHER_STRONG},
        headers=here,
    )
    assert changed.status == 200
    assert (await client.get("/api/v1/agents/me", headers=here)).status == 200
    assert (await client.get("/api/v1/agents/me", headers=elsewhere)).status == 401
    assert await _login_status(client, "alice", OTHER_STRONG) == (200, None)
    # The other login's socket closed with it; this one's lives on.
    assert await closed_with(elsewhere_socket) == (4001, "password changed")
    await still_open(here_socket)
    await here_socket.close()


async def test_only_admins_manage_accounts(admin_client: Client) -> None:
    client = admin_client
    alice, sam, ada = await login(client, "alice"), await login(client, "sam"), await login(client, "ada")
    bob_id = (await _agent(client, ada, "bob"))["id"]
    calls: tuple[tuple[str, str, dict[str, str] | None], ...] = (
        ("POST", "/api/v1/agents", {"username": "eve", "password": STRONG}),
        ("PATCH", f"/api/v1/agents/{bob_id}", {"display_name": "B"}),
        ("POST", f"/api/v1/agents/{bob_id}/deactivate", {}),
        ("POST", f"/api/v1/agents/{bob_id}/reactivate", {}),
        ("PUT", f"/api/v1/agents/{bob_id}/password", {"password": STRONG}),
        ("GET", "/api/v1/audit", None),
    )
    for headers in (alice, sam):
        for method, path, body in calls:
            response = await client.request(method, path, json=body, headers=headers)
            assert (response.status, (await response.json())["error"]["code"]) == (403, "auth.role"), path
    # Supervisors read an agent; agents do not.
    assert (await client.get(f"/api/v1/agents/{bob_id}", headers=sam)).status == 200
    assert (await client.get(f"/api/v1/agents/{bob_id}", headers=alice)).status == 403
    assert (await _agent(client, ada, "bob"))["display_name"] == "bob"


async def test_every_change_is_in_the_audit_log_with_its_actor_and_no_secret(admin_client: Client) -> None:
    client = admin_client
    ada = await login(client, "ada")
    ada_id = await agent_id(client, ada)
    assert await _login_status(client, "bob", "wrong-password") == (401, "auth.bad_credentials")
    bob_id = (await _agent(client, ada, "bob"))["id"]
    await client.patch(f"/api/v1/agents/{bob_id}", json={"display_name": "Bob B"}, headers=ada)
    await client.put(f"/api/v1/agents/{bob_id}/password", json={"password": "short"}, headers=ada)
    await client.put(f"/api/v1/agents/{bob_id}/password", json={"password": STRONG}, headers=ada)
    # Nobody signed in: refused, and not recorded.
    await client.post(f"/api/v1/agents/{bob_id}/deactivate")

    page = await (await client.get("/api/v1/audit?limit=4", headers=ada)).json()
    got = [(e["action"], e["actor_id"], e["target"], e["status"]) for e in page["entries"]]
    assert got == [
        ("PUT /api/v1/agents/{agent_id}/password", ada_id, {"agent_id": bob_id}, 200),
        ("PUT /api/v1/agents/{agent_id}/password", ada_id, {"agent_id": bob_id}, 400),
        ("PATCH /api/v1/agents/{agent_id}", ada_id, {"agent_id": bob_id}, 200),
        ("POST /api/v1/auth/login", None, {}, 401),
    ]
    assert page["entries"][3]["detail"] == {"username": "bob"}
    older = await (await client.get(f"/api/v1/audit?before={page['next_before']}", headers=ada)).json()
    assert [(e["action"], e["actor_id"], e["status"]) for e in older["entries"]] == [
        ("POST /api/v1/auth/login", ada_id, 200)
    ]
    assert older["next_before"] is None
    everything = await (await client.get("/api/v1/audit", headers=ada)).text()
    assert STRONG not in everything and "wrong-password" not in everything and "short" not in everything
    mine = await (await client.get(f"/api/v1/audit?actor_id={ada_id}", headers=ada)).json()
    assert {e["actor_id"] for e in mine["entries"]} == {ada_id}
    bad = await client.get("/api/v1/audit?limit=0", headers=ada)
    assert (bad.status, (await bad.json())["error"]["code"]) == (400, "input.bad_query")


async def test_a_phone_is_set_and_taken_off_again_with_null(admin_client: Client) -> None:
    """An account's record shows no phone as null: the same null sent back takes it off."""
    client = admin_client
    ada = await login(client, "ada")
    alice = await _agent(client, ada, "alice")
    url = f"/api/v1/agents/{alice['id']}"
    given = await client.patch(url, json={"phone": "+15557654321"}, headers=ada)
    assert (given.status, (await given.json())["phone"]) == (200, "+15557654321")
    taken = await client.patch(url, json={"phone": None}, headers=ada)
    assert (taken.status, (await taken.json())["phone"]) == (200, None)
    assert await _agent(client, ada, "alice") == alice
