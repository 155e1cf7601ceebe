"""The whole API fuzzed against its own document by schemathesis: for every operation,
requests it generates from the document (valid ones and invalid ones), signed in as an
admin or not signed in at all, never get a 5xx, a status the operation does not declare,
or an answer of another shape than declared.

The service runs in the test's event loop on a loopback port; schemathesis calls it with
``requests`` from a worker thread. Generated ids name nothing, so each operation is also
called with its path's ids pinned to real ones (an interaction the admin holds and its
customer, another agent, a canned response of the admin's, an offer, a queue), and with
the document's example body on them. The run is derandomized: the same examples every
time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from interaction_center.settings.model import Settings
from tests.support import (
    ADMIN,
    PASSWORDS,
    AppFactory,
    accept_first,
    agent_id,
    login,
    offered,
    post_sms,
    set_status,
    sms_form,
)
from tests.web.test_openapi import kept_file

Operation = schemathesis.APIOperation[Any, Any, Any, Any]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Per operation and kind of data (valid, invalid, valid with real ids).
EXAMPLES = 20
# Logging out ends the token the call was made with: a new one is taken after it. Logging
# out and in (by token, or by a page's session) come last: the refused logins (nearly every
# generated one) throttle this address's logins, after which no token could be taken.
LAST = ("logout", "sign_in", "login")


class Admin:
    """The admin's token, taken again when a call ended it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.token = ""
        self.renew()

    def renew(self) -> None:
        credentials = {"username": "ada", "password": PASSWORDS["ada"]}
        response = requests.post(f"{self.base_url}/api/v1/auth/login", json=credentials, timeout=10)
        assert response.status_code == 200, response.text
        self.token = response.json()["token"]


def fuzz(base_url: str, pinned: dict[str, str]) -> list[str]:
    """Every operation's failures, one entry each (empty: none)."""
    # No cache of failures to replay in the work tree: each run is the same derandomized one.
    config = schemathesis.Config.from_dict({"cache": {"enabled": False}})
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", config=config)
    admin, session, operations = Admin(base_url), requests.Session(), []
    for result in schema.get_all_operations():
        # An operation schemathesis cannot read is a fault of the document.
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    failures = [_fuzz(operation, base_url, session, admin, pinned) for operation in sorted(operations, key=_order)]
    return [failure for failure in failures if failure]


def _fuzz(operation: Operation, base_url: str, session: requests.Session, admin: Admin, pinned: dict[str, str]) -> str:
    """What schemathesis found wrong with one operation; empty when nothing."""
    name = operation.definition.raw["operationId"]
    path = [p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"]
    real = {key: pinned[key] for key in path}
    strategies = [operation.as_strategy(mode) for mode in schemathesis.GenerationMode]
    if path:
        strategies.append(operation.as_strategy(path_parameters=real))
    example = operation.definition.raw.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "example" in example:
        # The document's own example, on real ids: a request that does what it says.
        given = example["example"]
        strategies.append(operation.as_strategy(path_parameters=real, body=given, media_type="application/json"))

    @hypothesis.settings(
        max_examples=EXAMPLES * len(strategies),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    # Mostly signed in; invalid cases leave the token out or spoil it now and then too.
    @hypothesis.given(case=st.one_of(strategies), signed_in=st.sampled_from([True, True, True, False]))
    def check(case: schemathesis.Case[Operation], signed_in: bool) -> None:
        token = admin.token
        headers = {"Authorization": f"Bearer {token}"} if signed_in else {}
        response = case.call(base_url=base_url, session=session, headers=headers)
        sent = response.request.headers.get("Authorization")
        # A run whose token died would go on answered 401 everywhere, and prove nothing.
        assert name == "login" or sent != f"Bearer {token}" or response.status_code != 401, response.text
        if name == "logout" and response.status_code == 200:
            admin.renew()
        case.validate_response(response, checks=CHECKS)

    try:
        check()
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
        return f"{operation.label}: {exc}"
    return ""


def _order(operation: Operation) -> int:
    name = operation.definition.raw["operationId"]
    return LAST.index(name) + 1 if name in LAST else 0


async def _pinned(client: Any) -> dict[str, str]:
    """Real ids for the paths: an SMS alice took and ada took over from her, bob, a canned
    response of ada's, an offer to alice."""
    alice, ada = await login(client, "alice"), await login(client, "ada")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    taken = await accept_first(client, alice)
    assert (await client.post(f"/api/v1/interactions/{taken['id']}/take-over", headers=ada)).status == 200
    await post_sms(client, sms_form(sender="+15551230002"))
    [offer] = await offered(client, alice)
    canned = await client.post("/api/v1/canned", json={"shortcut": "hi", "title": "Hi", "body": "Hi!"}, headers=ada)
    assert canned.status == 201
    return {
        "interaction_id": taken["id"],
        "customer_id": taken["customer_id"],
        "agent_id": await agent_id(client, await login(client, "bob")),
        "canned_id": (await canned.json())["id"],
        "offer_id": offer["offer"]["id"],
        "queue": "support",
        "attachment_id": await kept_file(client),
    }


@pytest.mark.timeout(300)
async def test_schemathesis_finds_no_server_error_and_no_answer_the_document_denies(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    client = await app_factory(settings_factory(top=ADMIN))
    pinned = await _pinned(client)
    started = time.monotonic()
    failures = await asyncio.to_thread(fuzz, str(client.make_url("")).rstrip("/"), pinned)
    print(f"schemathesis ran {time.monotonic() - started:.0f} s")
    assert failures == [], "\n\n".join(failures)
