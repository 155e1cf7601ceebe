"""Normalizing customer identities so one person is one customer whatever the channel."""

from __future__ import annotations

import phonenumbers

from interaction_center.errors import InvalidInput


def normalize_phone(raw: str, default_region: str) -> str:
    """E.164 form. Only the shape is checked (``is_possible_number``): carriers and test
    ranges hand us numbers that the metadata does not list as assigned."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"not a phone number: {raw!r}", code="contact.invalid_phone") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(f"not a phone number: {raw!r}", code="contact.invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    address = raw.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in address):
        raise InvalidInput(f"not an email address: {raw!r}", code="contact.invalid_email")
    return address
