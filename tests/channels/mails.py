"""Raw mails the email tests send, shared by the tests of its bounds and of its parser
(whose process imports this module too, so it imports nothing)."""

from __future__ import annotations

HEAD = b"From: Jane <jane@customer.test>\r\nTo: support@example.com\r\nSubject: Hi\r\n"


def many_parts(count: int) -> bytes:
    parts = b"".join(b"--XX\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % n for n in range(count))
    return (
        HEAD + b"Message-ID: <parts@customer.test>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n" + parts + b"--XX--\r\n"
    )
