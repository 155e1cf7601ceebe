"""Normalizing customer identities so one person is one customer whatever the channel."""

from __future__ import annotations

import functools
import re

import phonenumbers

from interaction_center.domain.errors import InvalidInput

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
    e164 = _E164.fullmatch(compact) is not None
    if e164 and _plainly_possible(compact[1:]):
        return compact
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"not a phone number: {raw!r}", code="contact.invalid_phone") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(f"not a phone number: {raw!r}", code="contact.invalid_phone")
    if e164:
        return compact
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not _E164.fullmatch(formatted):
        raise InvalidInput(f"not a phone number: {raw!r} (E.164 allows 15 digits)", code="contact.invalid_phone")
    return formatted


def _plainly_possible(digits: str) -> bool:
    """True when E.164 digits are a possible number as they stand: a country code (the
    codes are prefix-free, so the first that matches is the one), then a national number
    of a length its country allows. Full parsing costs several times more, and Twilio
    sends every number this way; what this quick look does not accept (a trunk prefix or
    a leading zero after the country code, say) still gets the full parse."""
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            if len(national) < 2 or national[0] == "0":
                return False
            number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
            return bool(phonenumbers.is_possible_number(number))
    return False


def normalize_email(raw: str) -> str:
    address = raw.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in address):
        raise InvalidInput(f"not an email address: {raw!r}", code="contact.invalid_email")
    return address


def name_key(name: str) -> str:
    """A name as it is searched by its beginning: case folded, spaces made single."""
    return " ".join(name.casefold().split())[:200]
