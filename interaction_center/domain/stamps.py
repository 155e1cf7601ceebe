"""What marks every record: an id any instance can mint without a round trip, and the
time in UTC."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime


def new_id() -> str:
    """A UUID version 7 (RFC 9562): the millisecond it was made, then 74 random bits.

    Time-ordered ids land at the right-hand end of every index that holds them (primary
    keys, and the interaction and customer ids other tables point at), so a batch of new
    rows dirties a few index pages instead of one page per row: random version 4 ids made
    the commit of a batch of contacts cost three times as much, and more as tables grew.
    The random bits keep ids unguessable within a millisecond; they are not secrets (the
    chat tokens are)."""
    value = time.time_ns() // 1_000_000 << 80 | int.from_bytes(os.urandom(10)) & _RANDOM_BITS | _VERSION_7
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


# Of the 80 bits after the timestamp: version (4 bits), 12 random, variant (2 bits), 62 random.
_RANDOM_BITS = (0xFFF << 64) | ((1 << 62) - 1)
_VERSION_7 = (0x7 << 76) | (0b10 << 62)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_datetime(timestamp: float) -> datetime:
    """A time of the routing engine (seconds since the epoch) as storage and the wire hold it."""
    return datetime.fromtimestamp(timestamp, UTC)
