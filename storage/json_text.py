"""How JSON columns are written: by orjson, which every engine of ours is given. They are
read by the standard library, as before.

An IVR step writes half a dozen JSON values (its events' details, the call's place in its
flow): the standard library's json cost about 2 us a value, some 4% of a step, where
orjson costs a tenth of that. Its text reads back to the same values; it differs in leaving
out the spaces after separators, in writing non-ASCII characters as they are rather than
as \\u escapes, and in how a float's exponent is spelled. Reads stay with the standard
library: orjson reads an integer wider than 64 bits as a float, without an error.

What orjson refuses and the standard library takes (an integer wider than 64 bits, a key
that is not a string) is written by the standard library, in the same text as before. A
datetime is refused as it was. Unlike the standard library, orjson writes an enum or a
UUID as its value, and NaN and the infinities, which JSON has not (PostgreSQL refused
them), as null; nothing of ours stores those."""

from __future__ import annotations

import json
from typing import Any

import orjson

# Datetimes and dataclasses, which json.dumps refuses, are refused here too rather than
# stored as text.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


# For create_engine and create_async_engine: every JSON column of that engine's.
ENGINE_JSON: dict[str, Any] = {"json_serializer": dumps}
