"""JSON text as the service writes and reads it: by orjson, about ten times as fast as the
standard library, wherever it gives what the standard library would, and by the standard
library where it does not.

Written (``dumps``, ``encoded``), orjson's text reads back to the same values; it leaves
out the spaces after separators, writes non-ASCII characters as they are rather than as
\\u escapes, and spells a float's exponent its own way. What orjson refuses and the
standard library takes (an integer wider than 64 bits, a key that is not a string) is
written by the standard library, in the same text as before. A datetime or a dataclass is
refused as the standard library refuses it. Unlike the standard library, orjson writes an
enum or a UUID as its value, and NaN and the infinities, which JSON has not, as null.

Read (``loads``), orjson would take an integer wider than 64 bits as a float without an
error; a text with a run of 19 digits, as any such integer has, is read by the standard
library, as is one orjson refuses (NaN, a lone surrogate escape), which then gives the
standard library's value or error."""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# 2**63 has 19 digits: a shorter run of digits is an integer orjson holds exactly. The run
# is looked for in the UTF-8 text with each ASCII digit (as JSON writes a number) made a
# "9" and every other byte a space, then searched for as a string: a regular expression
# took three times as long as orjson takes to read the text, and a customer's record
# reads thousands of texts. (A lone surrogate passes as bytes that are not digits.)
_NINES = bytes(ord("9") if ord("0") <= byte <= ord("9") else ord(" ") for byte in range(256))
_WIDE = b"9" * 19


def encoded(value: Any) -> bytes:
    """The value's JSON text in UTF-8."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()


def dumps(value: Any) -> str:
    return encoded(value).decode()


def loads(text: str) -> Any:
    if _WIDE not in text.encode("utf-8", "surrogatepass").translate(_NINES):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)
