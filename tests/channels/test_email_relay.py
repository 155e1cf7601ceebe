"""The outbound relay's security: SMTP AUTH and TLS (STARTTLS or implicit), against real
aiosmtpd relays on loopback holding certificates of an authority made for the test."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypedDict, Unpack

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from channels.email.outbound import SmtpEmailSender
from channels.email.settings import SmtpSettings
from interaction_center.domain.errors import ChannelError
from interaction_center.domain.model import OutboundMessage
from interaction_center.settings.model import Settings
from tests.channels.test_email import Relay, deliver, plain
from tests.support import AppFactory, accept_first, login, set_status

# The relays take AUTH without STARTTLS on purpose: in clear text on loopback, and on
# implicit TLS, which aiosmtpd does not count as TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

USER = "relay-user"
PASSWORD = "s3cret-relay-pass"


class SecureRelay(Relay):
    """A relay sink that also records, per mail, whether the session was encrypted and who
    logged in."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[tuple[bool, Any]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert server.transport is not None
        self.sessions.append((server.transport.get_extra_info("ssl_object") is not None, session.auth_data))
        return await super().handle_DATA(server, session, envelope)


def _check_login(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=USER if ok else None)


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(authority: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "relay-ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return str(path)


RelayFactory = Callable[[str], Awaitable[SecureRelay]]


@pytest.fixture
async def start_relay(authority: trustme.CA) -> AsyncIterator[RelayFactory]:
    """``start_relay(tls=...)`` serves a relay that requires AUTH: ``"starttls"`` offers and
    requires STARTTLS, ``"tls"`` speaks TLS from the first byte, ``"none"`` takes AUTH in
    clear text (loopback only)."""
    servers: list[asyncio.Server] = []
    connections: list[SMTP] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)

    async def start(tls: str) -> SecureRelay:
        sink = SecureRelay()
        loop = asyncio.get_running_loop()

        def protocol() -> SMTP:
            connection = SMTP(
                sink,
                hostname="relay.test",
                tls_context=context if tls == "starttls" else None,
                require_starttls=tls == "starttls",
                auth_required=True,
                # aiosmtpd counts only STARTTLS as TLS; on implicit TLS the check is ours.
                auth_require_tls=tls == "starttls",
                authenticator=_check_login,
                loop=loop,
            )
            connections.append(connection)
            return connection

        server = await loop.create_server(protocol, "127.0.0.1", 0, ssl=context if tls == "tls" else None)
        servers.append(server)
        sink.port = server.sockets[0].getsockname()[1]
        return sink

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()
    # Sessions a client dropped stay open on the server side until closed here.
    for connection in connections:
        if connection.transport is not None:
            connection.transport.close()
    await asyncio.sleep(0)


class RelayOptions(TypedDict, total=False):
    relay_tls: str
    relay_ca_file: str
    relay_username: str
    relay_password: str


def sender(port: int, **relay: Unpack[RelayOptions]) -> SmtpEmailSender:
    settings = SmtpSettings(relay_host="127.0.0.1", relay_port=port, from_address="support@example.com", **relay)
    return SmtpEmailSender(settings, timeout=5)


REPLY = OutboundMessage("i-1", "jane@customer.test", "support@example.com", "We are on it.", subject="Invoice")


@pytest.mark.parametrize("tls", ["starttls", "tls"])
async def test_mail_goes_out_encrypted_and_authenticated(start_relay: RelayFactory, ca_file: str, tls: str) -> None:
    relay = await start_relay(tls)
    out = sender(relay.port, relay_tls=tls, relay_ca_file=ca_file, relay_username=USER, relay_password=PASSWORD)

    sent = await out.send(REPLY)

    mail = await relay.next_mail(1)
    assert mail["Message-ID"] == sent.external_id
    assert relay.sessions == [(True, USER)]


async def test_auth_without_tls_works_with_a_relay_on_this_machine(start_relay: RelayFactory) -> None:
    relay = await start_relay("none")
    out = sender(relay.port, relay_tls="none", relay_username=USER, relay_password=PASSWORD)

    await out.send(REPLY)

    await relay.next_mail(1)
    assert relay.sessions == [(False, USER)]


async def test_wrong_credentials_are_a_clear_error_that_does_not_show_the_password(
    start_relay: RelayFactory, ca_file: str, caplog: pytest.LogCaptureFixture
) -> None:
    relay = await start_relay("starttls")
    wrong = "not-the-" + PASSWORD
    out = sender(relay.port, relay_tls="starttls", relay_ca_file=ca_file, relay_username=USER, relay_password=wrong)

    with pytest.raises(ChannelError) as raised:
        await out.send(REPLY)

    assert raised.value.code == "email.auth_failed"
    assert "535" in raised.value.message and wrong not in raised.value.message
    assert wrong not in caplog.text
    assert relay.mails == []


async def test_a_relay_certificate_from_another_authority_is_refused(start_relay: RelayFactory, tmp_path: Path) -> None:
    relay = await start_relay("tls")
    stranger = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    out = sender(relay.port, relay_tls="tls", relay_ca_file=str(stranger), relay_username=USER, relay_password=PASSWORD)

    with pytest.raises(ChannelError) as raised:
        await out.send(REPLY)

    assert raised.value.code == "email.unreachable" and "CERTIFICATE_VERIFY_FAILED" in raised.value.message
    assert relay.mails == []


async def test_starttls_is_insisted_on_when_configured(start_relay: RelayFactory) -> None:
    relay = await start_relay("none")  # offers no STARTTLS
    out = sender(relay.port, relay_tls="starttls", relay_username=USER, relay_password=PASSWORD)

    with pytest.raises(ChannelError) as raised:
        await out.send(REPLY)

    assert raised.value.code == "email.unreachable" and "STARTTLS" in raised.value.message
    assert relay.mails == []


async def test_an_agents_reply_goes_through_an_authenticated_starttls_relay(
    app_factory: AppFactory,
    settings_factory: Callable[..., Settings],
    start_relay: RelayFactory,
    ca_file: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    relay = await start_relay("starttls")
    settings = settings_factory(
        support_channels='["sms", "email"]',
        smtp=f"""domains = ["example.com"]
relay_host = "127.0.0.1"
relay_port = {relay.port}
relay_tls = "starttls"
relay_ca_file = "{ca_file}"
relay_username = "{USER}"
relay_password = "{PASSWORD}"
from_address = "support@example.com"
""",
    )
    assert PASSWORD not in repr(settings)
    client = await app_factory(settings)
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    assert (await deliver(client, plain()))[0] == 250
    taken = await accept_first(client, alice)

    response = await client.post(f"/api/v1/interactions/{taken['id']}/messages", json={"body": "Hi"}, headers=alice)

    assert response.status == 201, await response.text()
    assert (await relay.next_mail(1))["In-Reply-To"]
    assert relay.sessions == [(True, USER)]
    assert PASSWORD not in caplog.text
