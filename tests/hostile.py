"""Hostile input, for the tests of every transport's edge: hypothesis strategies for the
classes of input that once got a 500 or failed other people's contacts (nested JSON, lone
surrogates and NULs, odd charsets, header bytes that are not UTF-8, over-long fields),
and a raw HTTP request for the bytes aiohttp's client will not send."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.support import Client

# Modest: every example is a request to a real service on a real database, twice over.
FUZZ = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# What storage cannot take: half a UTF-16 pair (a JSON "\ud800" escape, or header bytes
# that were not UTF-8, as aiohttp keeps them) and NUL.
unstorable_chars = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.just("\x00")
unstorable_text = st.builds(lambda a, bad, b: a + bad + b, st.text(max_size=10), unstorable_chars, st.text(max_size=10))
long_text = st.integers(min_value=1_000, max_value=100_000).map(lambda n: "x" * n)
hostile_text = unstorable_text | long_text | st.sampled_from(["", " ", "\t\n"]) | st.text(max_size=30)

# The fields our routes and frames read, so that hostile values reach the code reading them.
FIELDS = [
    "username", "password", "status", "reason", "body", "disposition", "queue", "agent_id",
    "type", "token", "interaction_id", "client_id", "name", "email", "phone",
]  # fmt: skip

hostile_values: st.SearchStrategy[Any] = st.recursive(
    hostile_text | st.none() | st.booleans() | st.integers() | st.floats(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=6,
)


def hostile_objects(types: list[str] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects with our field names (or hostile ones) holding hostile values; with
    ``types``, a frame of one of them (or of a hostile type)."""
    objects = st.dictionaries(st.sampled_from(FIELDS) | hostile_text, hostile_values, max_size=4)
    if types is None:
        return objects
    return st.builds(lambda kind, rest: {**rest, "type": kind}, st.sampled_from(types) | hostile_text, objects)


def deep_json(max_bytes: int) -> st.SearchStrategy[str]:
    """JSON nested past our bound and up to the parser's recursion limit and beyond, closed
    or not, within ``max_bytes``."""
    brackets = st.sampled_from([("[", "]"), ('{"a":', "}")])
    return st.builds(
        lambda pair, depth, closed: pair[0] * depth + ("1" + pair[1] * depth if closed else ""),
        brackets,
        st.integers(min_value=33, max_value=max_bytes // 6),
        st.booleans(),
    )


def json_text(max_bytes: int, types: list[str] | None = None) -> st.SearchStrategy[str]:
    """JSON as a hostile peer writes it: escapes for what has no UTF-8 (so lone surrogates
    arrive as ``\\ud800``), nested too deep, or not JSON at all."""
    encoded = hostile_objects(types).map(lambda obj: json.dumps(obj, ensure_ascii=True))
    return encoded | deep_json(max_bytes) | st.text(max_size=50)


# Charsets a Content-Type may name: unknown ones, codecs that are no text encoding, and
# real ones the body is not written in.
odd_charsets = st.sampled_from(["x-unknown", "rot13", "base64", "zlib", "utf-16", "utf-32", "latin-1", "ebcdic"]) | (
    st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-_"), min_size=1, max_size=20)
)

# Header values with bytes that are not UTF-8 (aiohttp hands them over as lone surrogates);
# control characters are left out, as aiohttp's own parser refuses them with a 400.
bad_header_bytes = st.builds(
    lambda head, tail: head + b"\xff" + tail,
    st.binary(max_size=20).map(lambda b: bytes(c for c in b if 0x20 <= c != 0x7F)),
    st.binary(max_size=20).map(lambda b: bytes(c for c in b if 0x20 <= c != 0x7F)),
)


async def raw_request(
    client: Client, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> tuple[int, bytes]:
    """Status and body of one request written byte for byte."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        head = [f"{method} {path} HTTP/1.1".encode(), f"Host: {client.host}".encode(), b"Connection: close"]
        head += [name + b": " + value for name, value in headers]
        head.append(f"Content-Length: {len(body)}".encode())
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        response = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]
