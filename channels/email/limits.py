"""What a mail may be before it is parsed. The email package reads every header and part
in pure Python (20,000 parts took seconds), so the cost of a mail is bounded here first, on
its raw bytes at C speed, and a mail beyond a bound is refused with a reply that names it."""

from __future__ import annotations

import re

from interaction_center.domain.errors import InvalidInput

# Far more than any mail a person writes (a thread forwarded with its attachments), far
# fewer than what stalls the parser.
MAX_PARTS = 1000
# The header section of a long thread (References of a hundred messages) is a few KiB.
MAX_HEADER_BYTES = 64 * 1024
# RFC 5322 2.1.1: a line is at most 998 characters. Held to in the header section, which
# we read (ids, threading, encoded words); body lines are taken up to the SMTP server's 64 KiB.
MAX_HEADER_LINE = 998

# Refusals the SMTP edge answers 552 5.3.4 (too big for us) rather than 554 5.6.0 (malformed).
TOO_BIG = frozenset({"email.header_too_large", "email.too_many_parts"})

_BOUNDARY = re.compile(rb'boundary\s*=\s*"?([^"\s;]+)', re.IGNORECASE)
_DASHED = re.compile(rb"^--([^\r\n]*)", re.MULTILINE)


def check(raw: bytes) -> None:
    head = _header_section(raw)
    if len(head) > MAX_HEADER_BYTES:
        raise InvalidInput(f"Header section larger than {MAX_HEADER_BYTES} bytes", code="email.header_too_large")
    for line in head.split(b"\n"):
        if len(line.rstrip(b"\r")) > MAX_HEADER_LINE:
            name = line.partition(b":")[0][:40].decode("ascii", "replace")
            raise InvalidInput(
                f"Header line {name!r} longer than {MAX_HEADER_LINE} characters (RFC 5322 2.1.1)",
                code="email.header_line_too_long",
            )
    if _too_many_parts(raw):
        raise InvalidInput(f"More than {MAX_PARTS} MIME parts", code="email.too_many_parts")


def _too_many_parts(raw: bytes) -> bool:
    """More than MAX_PARTS lines delimit parts: "--" and a boundary some Content-Type
    declared (then "--" for the last, and white space); closing ones count too, one per
    multipart. Matched whole, so nested boundaries sharing a prefix are not counted twice."""
    # Lines starting "--" are at least as many: when they are few, nothing more is read.
    if raw.count(b"\n--") <= MAX_PARTS:
        return False
    boundaries = set(_BOUNDARY.findall(raw))
    lines = (line.rstrip(b" \t") for line in _DASHED.findall(raw))
    return sum(1 for line in lines if line in boundaries or line.removesuffix(b"--") in boundaries) > MAX_PARTS


def _header_section(raw: bytes) -> bytes:
    ends = [at for at in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if at >= 0]
    return raw[: min(ends)] if ends else raw
