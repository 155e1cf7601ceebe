"""The email channel's configuration section, ``[smtp]``: its own, so the channel needs
nothing of the application's settings."""

from __future__ import annotations

from dataclasses import dataclass, field

RELAY_TLS_MODES = ("auto", "starttls", "tls", "none")


@dataclass(frozen=True)
class SmtpSettings:
    """Email both ways: the server mail arrives on, and the relay our mail leaves through."""

    host: str = "127.0.0.1"
    # 0 binds any free port (tests read the bound one back).
    port: int = 8025
    # Domains ("example.com": any address there) and addresses ("support@example.com", and
    # its +tags) we take mail for; any other recipient is refused. Empty: no SMTP server.
    domains: tuple[str, ...] = ()
    max_message_bytes: int = 10 * 1024 * 1024
    # Where replies and acknowledgements go out; empty: replies by email are refused.
    relay_host: str = ""
    relay_port: int = 25
    # One of RELAY_TLS_MODES: "auto" upgrades with STARTTLS when the relay offers it,
    # "starttls" insists on it, "tls" speaks TLS from the first byte (port 465), "none" never.
    relay_tls: str = "auto"
    # A PEM bundle the relay's certificate must chain to; empty: the system's CAs.
    relay_ca_file: str = ""
    # SMTP AUTH, when the relay wants it (both or neither).
    relay_username: str = ""
    relay_password: str = field(default="", repr=False)
    from_address: str = ""
    # Answer a new (human) email contact at once with its reference.
    acknowledge: bool = False
