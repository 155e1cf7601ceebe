"""``GET /api/v1/openapi.json`` says what the API does: it is valid OpenAPI, it names every
route of the API and of operations and no other, and in a day's work every answer each
route gives (refusals included) is one the document declares for that route and status,
of the declared shape."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Handler
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from sqlalchemy import select

from interaction_center.domain.model import Attachment
from interaction_center.settings.model import Settings
from interaction_center.web.app import build_app
from interaction_center.web.keys import SERVICES
from storage.models import Message
from tests.support import (
    ADMIN,
    PASSWORDS,
    Client,
    accept_first,
    agent_id,
    login,
    mail,
    offered,
    post_sms,
    routed,
    set_status,
    sms_form,
)
from tests.voice.support import Caller, voice_settings

# Served, and not this JSON API: the agents' socket (README: "live frames").
NOT_DOCUMENTED = {("GET", "/api/v1/ws")}
OPERATIONS = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
CANNED = """
[[canned]]
shortcut = "sorry"
title = "Apology"
body = "Sorry for the trouble, this is {{agent.name}}."
"""
# (method, route, status, content type, body) of every answer a recorded app gave.
Answer = tuple[str, str, int, str, bytes]
Recorded = Callable[[Settings], Awaitable[tuple[Client, list[Answer]]]]


@pytest.fixture
async def recorded(migrated_url: str) -> AsyncIterator[Recorded]:
    """Apps as ``app_factory`` starts them, each keeping what it answered."""
    clients: list[Client] = []

    async def start(settings: Settings) -> tuple[Client, list[Answer]]:
        answers: list[Answer] = []

        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            response = await handler(request)
            resource = request.match_info.route.resource
            body = response.body if isinstance(response, web.Response) else None
            route = resource.canonical if resource is not None else request.path
            kept = bytes(body) if isinstance(body, bytes | bytearray) else b""
            answers.append((request.method, route, response.status, response.content_type, kept))
            return response

        app = build_app(settings)
        app.middlewares.insert(0, record)  # outermost: what the caller gets
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client, answers

    yield start
    for client in clients:
        await client.close()


def documented_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def served_routes(client: Client) -> set[tuple[str, str]]:
    """What the document must name: the API under /api/ and operations' routes."""
    routes = set()
    for route in client.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method != "HEAD" and (path.startswith("/api/") or (route.method, path) in OPERATIONS):
            routes.add((route.method, path))
    return routes - NOT_DOCUMENTED


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of ``schema``, a part of ``document`` whose references point into it."""
    return Draft202012Validator({**schema, "components": document["components"]})


async def kept_file(client: Client) -> str:
    """The id of a file a mail carried (jane's, into support, nobody's yet)."""
    contact = dataclasses.replace(mail("<files@customer.test>"), files=(Attachment("note.txt", "text/plain", b"hi"),))
    taken = await client.app[SERVICES].intake.receive(contact, "support")
    async with client.app[SERVICES].sessions() as session:
        message = await session.scalar(select(Message).where(Message.interaction_id == taken.interaction_id))
    assert message is not None
    return str(message.attributes["attachments"][0]["id"])


def departures(document: dict[str, Any], answers: list[Answer]) -> list[str]:
    """How the answers depart from the document: an undocumented route or status, a
    content type or a body not the declared one."""
    found = []
    for method, route, status, content_type, body in answers:
        operation = document["paths"].get(route, {}).get(method.lower())
        where = f"{method} {route} {status}"
        if operation is None:
            found.append(f"{where}: the route is not documented")
            continue
        declared = operation["responses"].get(str(status))
        if declared is None:
            found.append(f"{where}: not a documented status ({', '.join(operation['responses'])})")
            continue
        # "*/*": a file, in the type it was sent with.
        if content_type not in declared["content"] and "*/*" not in declared["content"]:
            found.append(f"{where}: {content_type}, not {', '.join(declared['content'])}")
            continue
        if content_type != "application/json":
            continue
        errors = validator(document, declared["content"][content_type]["schema"]).iter_errors(json.loads(body))
        for error in sorted(errors, key=lambda error: error.json_path):
            found.append(f"{where}: {error.json_path}: {error.message}")
    return found


async def test_the_document_is_valid_openapi_and_names_every_route_and_no_other(client: Client) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    validate(document)
    served, documented = served_routes(client), documented_routes(document)
    assert served - documented == set(), "undeclared: put @declare(...) (web/contract.py) on these handlers"
    assert documented - served == set()
    assert len(documented) >= 50
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            assert "example" in body or "requestBody" not in operation, f"{method} {path}: no example"
            if "example" in body:
                validator(document, body["schema"]).validate(body["example"])
    login_operation = document["paths"]["/api/v1/auth/login"]["post"]
    assert login_operation["security"] == []
    assert document["paths"]["/api/v1/audit"]["get"]["x-roles"] == ["admin"]


def test_the_check_finds_an_undocumented_status_and_a_drifted_shape() -> None:
    shape = {"application/json": {"schema": {"$ref": "#/components/schemas/X"}}}
    document = {
        "paths": {"/x": {"get": {"responses": {"200": {"content": shape}}}}},
        "components": {
            "schemas": {
                "X": {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}},
                    "required": ["a"],
                    "additionalProperties": False,
                }
            }
        },
    }
    answers: list[Answer] = [
        ("GET", "/x", 200, "application/json", b'{"a": 1}'),
        ("GET", "/x", 200, "application/json", b'{"a": "1", "b": 2}'),
        ("GET", "/x", 404, "application/json", b"{}"),
        ("GET", "/y", 200, "application/json", b"{}"),
    ]
    assert departures(document, answers) == [
        "GET /x 200: $: Additional properties are not allowed ('b' was unexpected)",
        "GET /x 200: $.a: '1' is not of type 'integer'",
        "GET /x 404: not a documented status (200)",
        "GET /y 200: the route is not documented",
    ]


async def test_in_a_days_work_every_answer_is_one_the_document_declares(
    recorded: Recorded, settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = voice_settings(tmp_path, settings_factory, support="wrap_up_seconds = 30", voice=ADMIN + CANNED)
    client, answers = await recorded(settings)
    document = await (await client.get("/api/v1/openapi.json")).json()

    async def call(method: str, path: str, expect: int, headers: dict[str, str] | None = None, **body: Any) -> Any:
        response = await client.request(method, path, headers=headers or {}, json=body or None)
        assert response.status == expect, (method, path, await response.text())
        return await response.json() if response.content_type == "application/json" else await response.text()

    # Operations, and callers without a token or the role.
    await call("GET", "/healthz", 200)
    await call("GET", "/readyz", 200)
    await call("GET", "/metrics", 200)
    await call("GET", "/api/v1/agents/me", 401)
    await call("POST", "/api/v1/auth/login", 401, username="alice", password="wrong")
    await call("POST", "/api/v1/auth/login", 400, username=7)
    alice, bob, sam, ada = [await login(client, name) for name in ("alice", "bob", "sam", "ada")]
    # The pages' session: nobody signed in yet, then carol by her page.
    await call("GET", "/api/v1/auth/session", 200)
    page = {"X-Requested-With": "fetch"}
    await call("POST", "/api/v1/auth/session", 200, page, username="carol", password=PASSWORDS["carol"])
    await call("GET", "/api/v1/audit", 403, alice)
    bob_id, alice_id = await agent_id(client, bob), await agent_id(client, alice)

    # An agent's day: an SMS offered, taken, answered, noted, moved on and completed.
    await call("GET", "/api/v1/agents/me", 200, alice)
    await call("GET", "/api/v1/agents/directory", 200, alice)
    await call("PUT", "/api/v1/agents/me/status", 400, alice, status="lunch")
    await call("PUT", "/api/v1/agents/me/status", 200, alice, status="available")
    await post_sms(client, sms_form(body="I was charged twice"))
    await call("GET", "/api/v1/offers", 200, alice)
    [offer] = await offered(client, alice)
    await call("POST", f"/api/v1/offers/{offer['offer']['id']}/reject", 200, alice)
    await set_status(client, alice, "available")
    [offer] = await offered(client, alice)
    await call("POST", "/api/v1/offers/nope/accept", 409, alice)
    taken = await call("POST", f"/api/v1/offers/{offer['offer']['id']}/accept", 200, alice)
    await call("POST", f"/api/v1/offers/{offer['offer']['id']}/reject", 409, alice)
    interaction, customer = f"/api/v1/interactions/{taken['id']}", f"/api/v1/customers/{taken['customer_id']}"
    await call("GET", interaction, 200, alice)
    await call("GET", interaction, 403, bob)
    await call("GET", "/api/v1/interactions/nope", 404, alice)
    await call("GET", "/api/v1/work", 200, alice)
    await call("GET", "/api/v1/work?limit=0", 400, alice)
    await call("GET", "/api/v1/dispositions", 200, alice)
    await call("POST", "/api/v1/canned", 201, alice, shortcut="thx", title="Thanks", body="Thank you!")
    mine = await call("GET", f"/api/v1/canned?q=thx&interaction_id={taken['id']}", 200, alice)
    canned = f"/api/v1/canned/{mine['responses'][0]['id']}"
    await call("POST", "/api/v1/canned", 409, alice, shortcut="thx", title="Thanks", body="Again")
    await call("PATCH", canned, 200, alice, title="Thank you")
    await call("DELETE", canned, 200, alice)
    await call("DELETE", canned, 404, alice)
    await call("POST", f"{interaction}/messages", 201, alice, body="Let me look")
    await call("POST", f"{interaction}/messages", 400, alice, body=7)
    await call("POST", f"{interaction}/notes", 201, alice, body="Double charge")
    await call("GET", customer, 200, alice)
    await call("GET", "/api/v1/customers?phone=%2B15551230001", 200, alice)
    await call("GET", "/api/v1/customers", 400, alice)
    await call("PATCH", customer, 200, alice, display_name="Jane Doe")
    await set_status(client, alice, "away")
    await set_status(client, bob, "available")
    await post_sms(client, sms_form(sender="+15551230002", body="It's Jane from my other phone"))
    other = await accept_first(client, bob)
    await call("POST", f"/api/v1/interactions/{other['id']}/transfer", 200, bob, agent_id=alice_id)
    await set_status(client, alice, "available")
    other = await accept_first(client, alice)
    merged = await call("POST", f"{customer}/merge", 200, alice, **{"from": other["customer_id"]})
    await call("POST", f"{customer}/merge", 403, alice, **{"from": other["customer_id"]})
    await call("POST", f"{customer}/unmerge", 200, alice, merge_id=merged["merges"][0]["id"])
    await call("POST", f"/api/v1/interactions/{other['id']}/complete", 400, alice, disposition="nonsense")
    await call("POST", f"/api/v1/interactions/{other['id']}/complete", 200, alice, disposition="resolved")
    await call("POST", "/api/v1/agents/me/wrap-up/extend", 200, alice, seconds=60)
    await call("POST", "/api/v1/agents/me/wrap-up/end", 200, alice)
    await call("POST", "/api/v1/agents/me/wrap-up/end", 409, alice)
    started = await call("POST", "/api/v1/interactions", 201, alice, channel="sms", to="+15551230003", body="Hello")
    await call("POST", "/api/v1/interactions", 409, alice, channel="sms", to="+15551230003", body="Hello again")
    # Set aside and taken up again: snoozed, then on hold.
    parked = f"/api/v1/interactions/{started['id']}"
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    await call("POST", f"{parked}/snooze", 400, alice, until="tomorrow")
    for aside, fields in (("snooze", {"until": later}), ("hold", {"note": "waiting for the customer"})):
        await call("POST", f"{parked}/{aside}", 200, alice, **fields)
        await call("POST", f"{parked}/hold", 409, alice, note=None)
        await call("POST", f"{parked}/resume", 200, alice)
        await routed(client)
        [back] = await offered(client, alice)
        await call("POST", f"/api/v1/offers/{back['offer']['id']}/accept", 200, alice)
    await call("POST", f"/api/v1/interactions/{started['id']}/complete", 200, alice, disposition="resolved")
    await call("POST", "/api/v1/agents/me/wrap-up/end", 200, alice)
    await call("GET", "/api/v1/voice", 200, alice)
    await call("GET", "/api/v1/voice/token", 409, alice)

    # The supervisor's: the floor, an agent's status, an interaction moved, raised, taken over.
    await call("GET", "/api/v1/agents", 200, sam)
    await call("GET", f"/api/v1/agents/{bob_id}", 200, sam)
    await call("GET", "/api/v1/queues", 200, sam)
    await call("GET", "/api/v1/queues/support/waiting", 200, sam)
    await call("GET", "/api/v1/queues/nope/waiting", 404, sam)
    await call("PUT", f"/api/v1/agents/{bob_id}/status", 200, sam, status="away", reason="lunch")
    await call("POST", f"{interaction}/priority", 409, sam, priority=5)
    await call("POST", f"{interaction}/move", 200, sam, queue="sales")
    await call("POST", f"{interaction}/priority", 200, sam, priority=5)
    await call("POST", f"{interaction}/move", 200, sam, agent_id=alice_id)
    await routed(client)
    [offer] = await offered(client, alice)
    await call("POST", f"/api/v1/offers/{offer['offer']['id']}/accept", 200, alice)
    await call("GET", f"/api/v1/agents/{alice_id}/work?state=assigned", 200, sam)
    await call("GET", "/api/v1/agents/nobody/work", 404, sam)
    await call("POST", f"{interaction}/take-over", 200, sam)
    await call("POST", f"{interaction}/transfer", 200, sam, queue="support", note="Back to you")

    # A call: held, listened to (and so shown in its agent's work), ended.
    caller = Caller(client, number="+15551230009")
    await caller.answer(await caller.dial(), "1")
    await set_status(client, bob, "available")
    call_id = (await accept_first(client, bob))["id"]
    for event, label in (("conference-start", ""), ("participant-join", "agent")):
        fields = {"FriendlyName": call_id, "ConferenceSid": "CF" + "1" * 32, "StatusCallbackEvent": event}
        await caller.note(
            "/twilio/voice/conference", caller.form(**fields, **({"ParticipantLabel": label} if label else {}))
        )
    on_call = f"/api/v1/interactions/{call_id}/call"
    await call("POST", f"{on_call}/hold", 200, bob, on=True)
    await call("POST", f"{on_call}/monitor", 200, sam, mode="listen")
    # The call in bob's work says who monitors it.
    await call("GET", f"/api/v1/agents/{bob_id}/work?state=assigned", 200, sam)
    await call("POST", f"{on_call}/consult", 200, bob, agent_id=alice_id)
    await call("POST", f"{on_call}/handover", 409, bob)
    await call("POST", f"{on_call}/hangup", 200, bob)

    # An admin's: accounts made, changed, closed and opened, passwords, the audit log.
    made = await call("POST", "/api/v1/agents", 201, ada, username="dave", password="a long and unguessable one")
    await call("POST", "/api/v1/agents", 409, ada, username="dave", password="a long and unguessable one")
    await call("POST", "/api/v1/agents", 400, ada, username="eve", password="short")
    dave = f"/api/v1/agents/{made['id']}"
    await call("PATCH", dave, 200, ada, queues=["support", {"queue": "sales", "priority": 2}], skills={"billing": 5})
    await call("PATCH", dave, 400, ada, username="david")
    await call("POST", f"{dave}/deactivate", 200, ada)
    await call("POST", f"{dave}/reactivate", 200, ada)
    await call("PUT", f"{dave}/password", 200, ada, password="another long unguessable one")
    await call("GET", "/api/v1/agents/nope", 404, ada)
    await call("GET", "/api/v1/audit?limit=5", 200, ada)
    new = "correct horse battery staple"
    await call("PUT", "/api/v1/agents/me/password", 403, bob, current_password="wrong", new_password=new)
    await call("PUT", "/api/v1/agents/me/password", 200, bob, current_password=PASSWORDS["bob"], new_password=new)
    await call("POST", "/api/v1/auth/logout", 200, bob)

    # A file a mail carried, saved by a supervisor; an agent with nothing to do with it may not.
    filed = await kept_file(client)
    await call("GET", f"/api/v1/attachments/{filed}", 200, sam)
    await call("GET", f"/api/v1/attachments/{filed}", 403, await login(client, "carol"))
    await call("GET", "/api/v1/attachments/nope", 404, sam)

    api = [answer for answer in answers if answer[:2] in served_routes(client)]
    assert departures(document, api) == []
    answered = {(method, route) for method, route, status, _, _ in api if status < 300}
    assert documented_routes(document) - answered == {
        ("POST", "/api/v1/interactions/{interaction_id}/call/handover"),
        ("GET", "/api/v1/voice/token"),
    }
