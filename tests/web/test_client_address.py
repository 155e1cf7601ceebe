"""Behind a load balancer the client's address comes from ``X-Forwarded-For``, and only
when the connection is from a proxy in ``http.trusted_proxies``
(``interaction_center/web/client_address.py``): it is what the audit log records, what
the login throttle counts and what ``/metrics`` checks."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interaction_center.settings.loader import ConfigInvalid, load_settings
from interaction_center.settings.model import Settings
from interaction_center.web.client_address import client_address, networks
from tests.support import ADMIN, PASSWORDS, AppFactory, Client, login

LOOPBACK = networks(["127.0.0.1", "10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("remote", "headers", "client"),
    [
        # Not from a proxy of ours: the header is anyone's to write.
        ("198.51.100.4", ["203.0.113.9"], "198.51.100.4"),
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.9"], "203.0.113.9"),
        # What the client wrote itself sits left of what our proxy appended.
        ("127.0.0.1", ["6.6.6.6, 203.0.113.9"], "203.0.113.9"),
        ("127.0.0.1", ["6.6.6.6", "203.0.113.9"], "203.0.113.9"),
        # Through two proxies of ours.
        ("127.0.0.1", ["203.0.113.9, 10.1.2.3"], "203.0.113.9"),
        ("::1", ["2001:db8::7"], "2001:db8::7"),
        # Only our proxies named, or a hop that is not an address: the proxy's own.
        ("127.0.0.1", ["10.1.2.3"], "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.9, unknown"], "127.0.0.1"),
        ("127.0.0.1", [""], "127.0.0.1"),
    ],
)
def test_the_client_is_the_right_most_address_no_proxy_of_ours_added(
    remote: str, headers: list[str], client: str
) -> None:
    assert client_address(remote, headers, LOOPBACK) == client


@given(st.lists(st.text(max_size=60), max_size=3))
def test_whatever_the_header_holds_the_answer_is_the_connection_or_an_address_in_it(headers: list[str]) -> None:
    found = client_address("127.0.0.1", headers, LOOPBACK)
    assert found is not None
    if found != "127.0.0.1":
        assert any(found == str(ipaddress.ip_address(hop.strip())) for h in headers for hop in h.split(",") if _ip(hop))


def _ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return True


def _behind(settings: Settings, *trusted: str) -> Settings:
    return dataclasses.replace(settings, http=dataclasses.replace(settings.http, trusted_proxies=trusted))


async def _addresses(client: Client) -> list[str]:
    ada = await login(client, "ada")
    page = await (await client.get("/api/v1/audit", headers=ada)).json()
    return [entry["address"] for entry in page["entries"] if entry["action"] == "POST /api/v1/auth/login"]


async def test_the_audit_log_and_metrics_see_the_client_behind_a_trusted_proxy(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    client = await app_factory(_behind(settings_factory(top=ADMIN), "127.0.0.1"))
    wrong = {"username": "alice", "password": "wrong"}
    response = await client.post("/api/v1/auth/login", json=wrong, headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status == 401

    assert "203.0.113.9" in await _addresses(client)
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})).status == 403
    assert (await client.get("/metrics")).status == 200


async def test_without_trusted_proxies_the_header_is_not_believed(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    client = await app_factory(settings_factory(top=ADMIN))
    wrong = {"username": "alice", "password": "wrong"}
    await client.post("/api/v1/auth/login", json=wrong, headers={"X-Forwarded-For": "203.0.113.9"})

    assert "203.0.113.9" not in await _addresses(client)
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})).status == 200
    right = {"username": "alice", "password": PASSWORDS["alice"]}
    assert (await client.post("/api/v1/auth/login", json=right)).status == 200


def test_a_trusted_proxy_that_is_not_an_address_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "interaction-center.toml"
    path.write_text('[http]\ntrusted_proxies = ["127.0.0.1", "the load balancer"]\n[twilio]\nauth_token = "x"\n')
    with pytest.raises(ConfigInvalid) as refused:
        load_settings(path, environ={})
    [issue] = [issue for issue in refused.value.issues if issue.key.startswith("http.")]
    assert issue.key == "http.trusted_proxies" and "'the load balancer'" in issue.reason
