"""Our side of email addresses: which recipients we take mail for, and the reply token a
plus-address (``support+<token>@example.com``) carries back to its conversation."""

from __future__ import annotations

import secrets
from collections.abc import Collection

THREAD_PREFIX = "email:"
# RFC 5321's limit for a whole address; longer ones are refused, never stored.
MAX_ADDRESS = 254
_TOKEN_HEX = 16


def new_thread_key() -> str:
    """A new conversation's key. Random, so its token in our Reply-To cannot be guessed by
    someone who has not seen our mail."""
    return THREAD_PREFIX + secrets.token_hex(_TOKEN_HEX // 2)


def thread_token(thread_key: str) -> str | None:
    token = thread_key.removeprefix(THREAD_PREFIX)
    return token if thread_key.startswith(THREAD_PREFIX) and _is_token(token) else None


def _is_token(text: str) -> bool:
    return len(text) == _TOKEN_HEX and all(c in "0123456789abcdef" for c in text)


def _split(address: str) -> tuple[str, str, str]:
    """(mailbox, tag, domain) of a lower-cased address: ``support+abc@example.com`` is
    ("support", "abc", "example.com")."""
    local, _, domain = address.strip().lower().rpartition("@")
    mailbox, _, tag = local.partition("+")
    return mailbox, tag, domain


def accepts(address: str, domains: Collection[str]) -> bool:
    """Whether mail for ``address`` is ours: its domain is listed, or the address itself
    (any +tag of it as well). Anything else is refused, so we never relay."""
    mailbox, _, domain = _split(address)
    if not mailbox or not domain or len(address) > MAX_ADDRESS:
        return False
    return domain in domains or f"{mailbox}@{domain}" in domains


def named_thread(address: str) -> str | None:
    """The thread key a recipient's reply token names, if it carries one."""
    _, tag, _ = _split(address)
    return THREAD_PREFIX + tag if _is_token(tag) else None


def tokened(address: str, thread_key: str) -> str:
    """``address`` with the conversation's reply token as its +tag (unchanged without one)."""
    token = thread_token(thread_key)
    local, at, domain = address.rpartition("@")
    return f"{local.partition('+')[0]}+{token}{at}{domain}" if token and at else address
