"""Normalizing customer identities so one person is one customer whatever the channel."""

from __future__ import annotations

import functools
import re

import phonenumbers

from interaction_center.errors import InvalidInput

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_SEPARATORS = re.compile(r"[\s.\-]")


# Parsing is the dear part of taking in an SMS, and the same numbers come back (our own on
# every message, a customer's on each of theirs).
@functools.lru_cache(maxsize=4096)
def normalize_phone(raw: str, default_region: str) -> str:
    """E.164 form. A number already written in E.164 (as Twilio sends them) is kept digit
    for digit: phonenumbers would strip what it takes for a trunk prefix, and a second pass
    would strip again. Only the shape is checked (``is_possible_number``): carriers and
    test ranges hand us numbers the metadata does not list as assigned."""
    compact = _SEPARATORS.sub("", raw)
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"not a phone number: {raw!r}", code="contact.invalid_phone") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(f"not a phone number: {raw!r}", code="contact.invalid_phone")
    if _E164.fullmatch(compact):
        return compact
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not _E164.fullmatch(formatted):
        raise InvalidInput(f"not a phone number: {raw!r} (E.164 allows 15 digits)", code="contact.invalid_phone")
    return formatted


def normalize_email(raw: str) -> str:
    address = raw.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in address):
        raise InvalidInput(f"not an email address: {raw!r}", code="contact.invalid_email")
    return address
