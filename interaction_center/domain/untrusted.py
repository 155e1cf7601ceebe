"""What every transport checks at its edge before anything from outside goes further: text
we can store, JSON with its nesting bounded, a body in a charset we know.

Storage takes text as UTF-8 (SQLite binds it so; PostgreSQL refuses NUL in text and JSON
alike), so a string with a lone surrogate (a JSON ``"\\ud800"`` escape, or header bytes
that were not UTF-8) or a NUL fails only at the insert, where it would take its batch
down with it. Refused here, it fails alone, as a clear 400, error frame or SMTP 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from interaction_center.domain.errors import InvalidInput, UnsupportedMediaType

# Far deeper than any of our shapes (the deepest is an object of objects of lists), far
# shallower than the parser's recursion limit.
MAX_JSON_DEPTH = 32
UNSTORABLE = "input.unstorable"


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None when it can."""
    if "\x00" in text:
        return "a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone surrogate (not UTF-8)"
    return None


def require_storable(fields: Iterable[tuple[str, str]]) -> None:
    """Refuse the first of these (name, text) that cannot be stored."""
    for name, text in fields:
        reason = unstorable(name) or unstorable(text)
        if reason is not None:
            what = repr(_shown(name)) if name else "a string"
            raise InvalidInput(f"{what} holds {reason}, which cannot be stored", code=UNSTORABLE)


def bearer(header: str) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None. Our tokens are ASCII;
    bytes that are not UTF-8 arrive as lone surrogates, which would fail only when hashed."""
    if not header.isascii():
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def parse_json(raw: str, *, code: str) -> Any:
    """``raw`` parsed, once it is JSON nested at most ``MAX_JSON_DEPTH`` deep whose every
    string (keys too) can be stored; ``code`` is the caller's for JSON it cannot read."""
    try:
        data = json.loads(raw)
    except RecursionError as exc:  # the parser recurses per level: it gives up long before the stack does
        raise InvalidInput(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", code=code) from exc
    except ValueError as exc:
        raise InvalidInput("not valid JSON", code=code) from exc
    _check(data, code)
    return data


def _check(data: Any, code: str) -> None:
    # A stack, not recursion: the point is to survive what recursion would not.
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            require_storable([("", value)])
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise InvalidInput(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", code=code)
            if isinstance(value, dict):
                require_storable((key, "") for key in value)
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)


def decode(raw: bytes, charset: str | None) -> str:
    """A body's bytes as text in the charset its Content-Type names (UTF-8 when none)."""
    require_charset(charset)
    try:
        return raw.decode(charset or "utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the body is not valid {charset or 'utf-8'}", code="input.bad_encoding") from exc


def require_charset(charset: str | None) -> None:
    """Refuse a charset Python cannot decode text with (unknown, or a codec like rot13 or
    base64 that is not a text encoding)."""
    if charset is None:
        return
    try:
        # Not b"": decoding nothing skips the codec lookup altogether.
        b"a".decode(charset)
    except UnicodeDecodeError:
        pass  # a real text encoding, in which one byte is not yet a character (UTF-16)
    except (LookupError, ValueError) as exc:  # ValueError: a name with a NUL in it
        raise UnsupportedMediaType(f"unknown charset {_shown(charset)!r}", code="input.bad_charset") from exc


def _shown(text: str) -> str:
    """Text safe to quote back in an error (which is itself JSON or an SMTP line)."""
    return text.encode("ascii", "backslashreplace").decode("ascii")[:100]
