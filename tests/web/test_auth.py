"""Authentication and roles on every API route; bad JSON gets a clear error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from interaction_center.desk import throttle
from interaction_center.web.keys import SERVICES
from storage.models import Agent, AuthToken
from tests.support import PASSWORDS, Client, login, post_sms, set_status, sms_form


async def test_supervisor_routes_refuse_agents(client: Client) -> None:
    alice = await login(client, "alice")
    for path in ("/api/v1/agents", "/api/v1/queues"):
        response = await client.get(path, headers=alice)
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "auth.role"
    sam = await login(client, "sam")
    assert (await client.get("/api/v1/agents", headers=sam)).status == 200


async def test_a_wrong_password_or_unknown_user_is_refused_alike(client: Client) -> None:
    for body in ({"username": "alice", "password": "wrong"}, {"username": "nobody", "password": "x"}):
        response = await client.post("/api/v1/auth/login", json=body)
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "auth.bad_credentials"


async def test_passwords_are_stored_hashed(client: Client) -> None:
    async with client.app[SERVICES].sessions() as session:
        hashes = (await session.scalars(select(Agent.password_hash))).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


async def test_an_expired_token_is_refused_and_logout_ends_a_token(client: Client) -> None:
    alice = await login(client, "alice")
    assert (await client.get("/api/v1/agents/me", headers=alice)).status == 200
    async with client.app[SERVICES].sessions.begin() as session:
        await session.execute(update(AuthToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert (await client.get("/api/v1/agents/me", headers=alice)).status == 401

    alice = await login(client, "alice")
    assert (await client.post("/api/v1/auth/logout", headers=alice)).status == 200
    assert (await client.get("/api/v1/agents/me", headers=alice)).status == 401


async def test_an_agent_sees_only_the_interactions_and_customers_they_handle(client: Client) -> None:
    alice, bob = await login(client, "alice"), await login(client, "bob")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    [offer] = (await (await client.get("/api/v1/offers", headers=alice)).json())["offers"]
    assert (await client.get(f"/api/v1/interactions/{offer['id']}", headers=alice)).status == 200
    assert (await client.get(f"/api/v1/customers/{offer['customer_id']}", headers=alice)).status == 200
    for path in (f"/api/v1/interactions/{offer['id']}", f"/api/v1/customers/{offer['customer_id']}"):
        response = await client.get(path, headers=bob)
        assert response.status == 403
    reply = await client.post(f"/api/v1/interactions/{offer['id']}/messages", json={"body": "hi"}, headers=bob)
    assert reply.status == 403


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "input.bad_json"),
        (b"[1, 2]", "input.bad_json"),
        (b'{"status": 5}', "input.bad_field"),
        (b'{"status": "dancing"}', "agent.bad_status"),
        (b'{"status": "away", "reason": ""}', "agent.bad_reason"),
    ],
)
async def test_malformed_json_gets_400_and_changes_nothing(client: Client, body: bytes, code: str) -> None:
    alice = await login(client, "alice")
    response = await client.put(
        "/api/v1/agents/me/status", data=body, headers={**alice, "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["error"]["code"] == code
    me = await (await client.get("/api/v1/agents/me", headers=alice)).json()
    assert me["status"] == "offline"


async def test_replies_and_completions_check_their_input(client: Client) -> None:
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    [offer] = (await (await client.get("/api/v1/offers", headers=alice)).json())["offers"]
    await client.post(f"/api/v1/offers/{offer['offer']['id']}/accept", headers=alice)
    base = f"/api/v1/interactions/{offer['id']}"
    for body, code in (({"body": "   "}, "message.empty"), ({"body": "x" * 1601}, "message.too_long")):
        response = await client.post(f"{base}/messages", json=body, headers=alice)
        assert (response.status, (await response.json())["error"]["code"]) == (400, code)
    response = await client.post(f"{base}/complete", json={"disposition": ""}, headers=alice)
    assert (response.status, (await response.json())["error"]["code"]) == (400, "disposition.unknown")
    record = await (await client.get(base, headers=alice)).json()
    assert record["state"] == "assigned" and len(record["messages"]) == 1


async def test_repeated_failed_logins_are_throttled_with_a_retry_after_and_the_right_password_waits_too(
    client: Client,
) -> None:
    wrong = {"username": "alice", "password": "wrong"}
    for _ in range(throttle.PER_USER):
        assert (await client.post("/api/v1/auth/login", json=wrong)).status == 401
    right = {"username": "alice", "password": PASSWORDS["alice"]}
    response = await client.post("/api/v1/auth/login", json=right)
    assert response.status == 429
    assert (await response.json())["error"]["code"] == "auth.throttled"
    assert int(response.headers["Retry-After"]) >= 1
    # Another agent is not held up by alice's guesser.
    bob = {"username": "bob", "password": PASSWORDS["bob"]}
    assert (await client.post("/api/v1/auth/login", json=bob)).status == 200


async def test_a_configured_password_the_policy_refuses_is_warned_of_by_name_never_shown(
    caplog: pytest.LogCaptureFixture, client: Client
) -> None:
    """The roster's demo passwords still make accounts (a demo must start), with a warning
    that names the agent and never the password."""
    warned = [r.getMessage() for r in caplog.get_records("setup") if "the policy refuses" in r.getMessage()]
    assert any("'alice'" in message for message in warned)
    assert not any(password in message for message in warned for password in PASSWORDS.values())
    assert (await client.post("/api/v1/auth/login", json={"username": "alice", "password": PASSWORDS["alice"]})).ok
