"""The real service as the benchmarks run it: the Twilio account its webhooks are signed
for, and the part of its configuration every benchmark's instance shares (loopback HTTP,
SMTP when mail comes in, SQLite in a file, that account); each adds its queues, channels
and agents."""

from __future__ import annotations

from pathlib import Path

TOKEN = "bench-auth-token"
PUBLIC = "http://bench.example"
OUR_NUMBER = "+15005550006"


def config_file(
    directory: Path, database: Path, http_port: int, rest: str, *, smtp_port: int | None = None, smtp: str = ""
) -> Path:
    """``directory``/bench.toml: the shared part, then ``rest``; with ``smtp_port``, an SMTP
    server for example.com (and ``smtp``'s further keys)."""
    mail = (
        ""
        if smtp_port is None
        else f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ndomains = ["example.com"]\n{smtp}'
    )
    path = directory / "bench.toml"
    path.write_text(
        f"""[http]
host = "127.0.0.1"
port = {http_port}
public_base_url = "{PUBLIC}"
{mail}[database]
url = "sqlite:///{database.resolve()}"
[twilio]
auth_token = "{TOKEN}"
phone_number = "{OUR_NUMBER}"
{rest}"""
    )
    return path
