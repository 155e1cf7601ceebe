"""One received mail (raw bytes and its envelope) normalized into a contact. Whatever the
bytes are, a contact comes out: what cannot be read is left out and named in the
``defects`` attribute, so a malformed mail is still stored and never stops the server."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import policy
from email.feedparser import BytesFeedParser
from email.message import EmailMessage, Message
from email.utils import getaddresses
from typing import Any

from channels.email.address import MAX_ADDRESS, named_thread, new_thread_key
from channels.email.html import html_to_text
from interaction_center.domain.errors import InvalidInput
from interaction_center.domain.identity import normalize_email
from interaction_center.domain.model import Attachment, Channel, IdentityKind, InboundContact, file_name, media_type

# Message ids must fit the messages.external_id column; longer ones are hashed (the same
# way wherever they appear, so replies naming them still match).
_MAX_ID = 200
# A reply names at most this many earlier messages we look up (the newest ones).
_MAX_REFERENCES = 20
_MAX_HEADER = 998
_MAX_DEPTH = 20
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_ROBOTS = frozenset({"mailer-daemon", "postmaster"})
# Who a mail with no usable sender is filed under (a bounce, as a rule).
_NOBODY = "mailer-daemon@unknown.invalid"


def _clean(text: str) -> str:
    """Text storable anywhere: undecodable bytes (kept as surrogates by the parser) become
    U+FFFD and NULs go (PostgreSQL text refuses both)."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace").replace("\x00", "")


def _canonical_id(raw: str) -> str:
    if len(raw) <= _MAX_ID:
        return raw
    return f"<{hashlib.sha256(raw.encode('utf-8', 'surrogatepass')).hexdigest()}@long-id.invalid>"


class _Reader:
    """Reads one parsed mail defensively, collecting what went wrong."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.defects: list[str] = []
        try:
            parser = BytesFeedParser(policy=policy.default)
            parser.feed(raw)
            self.message: Message = parser.close()
        except Exception as exc:  # the parser is lenient, but a mail must never stop intake
            self.defect(f"unparseable: {type(exc).__name__}")
            self.message = EmailMessage()

    def defect(self, what: str) -> None:
        if what not in self.defects:
            self.defects.append(what)

    def header(self, name: str) -> str:
        try:
            value = self.message.get(name)
            return "" if value is None else _clean(str(value)).replace("\r", " ").replace("\n", " ")[:_MAX_HEADER]
        except Exception as exc:  # the header registry raises on some malformed values
            self.defect(f"{name}: {type(exc).__name__}")
            return ""

    def ids(self, name: str) -> list[str]:
        return [_canonical_id(found) for found in _MESSAGE_ID.findall(self.header(name))]

    def message_id(self) -> str:
        found = self.ids("Message-ID")
        if found:
            return found[0]
        # Deterministic, so a re-delivery of the same bytes is recognised as a duplicate.
        self.defect("no Message-ID")
        return f"<{hashlib.sha256(self.raw).hexdigest()[:40]}@no-message-id.invalid>"

    def text(self, part: Message) -> str:
        try:
            content = part.get_content()  # type: ignore[attr-defined]  # EmailMessage under policy.default
            if isinstance(content, str):
                return _clean(content)
        except Exception as exc:  # an unknown charset or a broken transfer encoding
            self.defect(f"{part.get_content_type()}: {type(exc).__name__}")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        return _clean(data.decode("utf-8", "replace"))


def _attachment(part: Message) -> Attachment:
    """The part's file as its sender named it: its content decoded (an attached mail, which
    has none to decode, as its whole text)."""
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        data = payload
    else:
        try:
            data = part.as_bytes()
        except Exception:  # a part the email package cannot write back: kept empty, named
            data = b""
    return Attachment(file_name(part.get_filename() or ""), media_type(part.get_content_type()), data)


def _sender(reader: _Reader, mail_from: str | None) -> tuple[str, str]:
    """(address, display name): the From header's, else the envelope's."""
    try:
        found = getaddresses([reader.header("From")])
    except Exception:  # an address list the parser trips over counts as none
        found = []
    for name, address in found:
        candidate = _address(address)
        if candidate:
            return candidate, _clean(name)[:200]
    if reader.header("From"):
        reader.defect("From: no usable address")
    return _address(mail_from or "") or _NOBODY, ""


def _address(raw: str) -> str | None:
    if len(raw) > MAX_ADDRESS:
        return None
    try:
        return _clean(normalize_email(raw))
    except InvalidInput:
        return None


def _automated(reader: _Reader, sender: str, mail_from: str | None) -> str | None:
    """Why the mail looks machine-sent (RFC 3834 and common practice), or None."""
    auto_submitted = reader.header("Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = reader.header("Precedence").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if reader.header("X-Autoreply"):
        return "X-Autoreply"
    if sender.partition("@")[0] in _ROBOTS:
        return f"sender {sender}"
    if mail_from in (None, "", "<>") or reader.header("Return-Path").strip() == "<>":
        return "empty Return-Path"
    return None


def contact_from_mail(raw: bytes, mail_from: str | None, recipients: Sequence[str]) -> InboundContact:
    """``recipients``: the envelope's, already accepted; ``mail_from`` empty for a bounce."""
    reader = _Reader(raw)
    external_id = reader.message_id()
    sender, sender_name = _sender(reader, mail_from)
    try:
        attributes, body, files = _content(reader)
    except Exception as exc:  # a header or part the email package cannot take: keep the text
        reader.defect(f"unreadable: {type(exc).__name__}")
        attributes, body, files = {"subject": reader.header("Subject")}, _clean(raw.decode("utf-8", "replace")), ()
    in_reply_to, references = reader.ids("In-Reply-To"), reader.ids("References")[-_MAX_REFERENCES:]
    replies_to = list(dict.fromkeys([*in_reply_to, *reversed(references)]))[:_MAX_REFERENCES]
    automated = _automated(reader, sender, mail_from)
    attributes |= {
        "from_name": sender_name,
        "envelope_from": _clean(mail_from or "")[:MAX_ADDRESS],
        "recipients": [_clean(r.lower()) for r in recipients],
        "in_reply_to": in_reply_to[:1],
        "references": references,
    }
    if automated:
        attributes["automated"] = automated
    if reader.defects:
        attributes["defects"] = reader.defects
    return InboundContact(
        channel=Channel.EMAIL,
        external_id=external_id,
        identity_kind=IdentityKind.EMAIL,
        from_address=sender,
        to_address=_clean(recipients[0].lower()) if recipients else "",
        body=body,
        thread_key=new_thread_key(),
        attributes=attributes,
        files=files,
        thread_hints=tuple(key for key in map(named_thread, recipients) if key),
        replies_to=tuple(replies_to),
        automated=automated is not None,
        sender_name=sender_name,
    )


@dataclass
class _Shown:
    """A mail as a mail client shows it: text segments in reading order, each a plain part,
    an HTML part or both (two alternatives of one text), and the attachments."""

    segments: list[tuple[Message | None, Message | None]] = field(default_factory=list)
    attachments: list[Message] = field(default_factory=list)


def _shown(reader: _Reader, part: Message, depth: int = 0) -> _Shown:
    """Plain and HTML parts are text to read, wherever they sit (after an inline image, in
    a forwarded thread's mixed parts), unless marked as attachments; of alternatives, the
    first plain and the last (richest) HTML are the text, and the others only repeat it.
    Any other part is an attachment; an attached mail (message/rfc822) is one, not opened."""
    shown = _Shown()
    if depth > _MAX_DEPTH:
        reader.defect("nested too deeply")
        return shown
    for defect in part.defects:
        reader.defect(type(defect).__name__)
    payload = part.get_payload()
    if part.get_content_maintype() == "multipart" and isinstance(payload, list):
        inner = [_shown(reader, sub, depth + 1) for sub in payload if isinstance(sub, Message)]
        for one in inner:
            shown.attachments += one.attachments
        if part.get_content_subtype() == "alternative":
            plains = [p for one in inner for p, _ in one.segments if p is not None]
            htmls = [h for one in inner for _, h in one.segments if h is not None]
            if plains or htmls:
                shown.segments.append((plains[0] if plains else None, htmls[-1] if htmls else None))
        else:
            shown.segments += [segment for one in inner for segment in one.segments]
    elif part.get_content_disposition() == "attachment":
        shown.attachments.append(part)
    elif part.get_content_type() == "text/plain":
        shown.segments.append((part, None))
    elif part.get_content_type() == "text/html":
        shown.segments.append((None, part))
    else:
        shown.attachments.append(part)
    return shown


def _content(reader: _Reader) -> tuple[dict[str, Any], str, tuple[Attachment, ...]]:
    """The attributes describing the content, the text an agent reads (each segment's
    plain text, else its HTML made readable, in order; the HTML itself kept in the
    attributes) and the attachments."""
    shown = _shown(reader, reader.message)
    texts, html_sources = [], []
    for plain, html in shown.segments:
        html_source = reader.text(html) if html is not None else None
        if html_source is not None:
            html_sources.append(html_source)
        texts.append(reader.text(plain) if plain is not None else html_to_text(html_source or ""))
    # Named once kept, with the ids they are kept under (intake.batch).
    attributes: dict[str, Any] = {"subject": reader.header("Subject"), "attachments": []}
    if html_sources:
        attributes["html"] = "\n".join(html_sources)
    # One text as it came; several, each trimmed of its own blank edges, a blank line apart.
    body = texts[0] if len(texts) == 1 else "\n\n".join(text.strip("\r\n") for text in texts)
    return attributes, body, tuple(_attachment(part) for part in shown.attachments)
