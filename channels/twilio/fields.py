"""Reading the fields of a Twilio webhook's form, for every channel Twilio calls us on:
a field required or not, bounded in length, and Twilio's SIDs (letters and digits)."""

from __future__ import annotations

from multidict import MultiDict

from interaction_center.domain.errors import InvalidInput

# Twilio's SIDs: two letters and 32 hex digits; a bounded length keeps junk out.
MAX_SID = 64


def field(form: MultiDict[str], name: str, *, required: bool = True, limit: int = MAX_SID) -> str:
    value = form.get(name, "").strip()
    if required and not value:
        raise InvalidInput(f"missing form field(s): {name}", code="webhook.missing_field")
    if len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters", code="webhook.bad_field")
    return value


def sid(form: MultiDict[str], name: str) -> str:
    value = field(form, name)
    if not value.isalnum():
        raise InvalidInput(f"{name} is not a Twilio SID", code="webhook.bad_field")
    return value
