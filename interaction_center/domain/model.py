"""Domain types shared across packages: channels, states, the interaction state machine and
the normalized inbound contact. The only home of these types; depends on nothing else of
the project but ``errors``."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from interaction_center.domain.errors import IllegalTransition


class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"
    CHAT = "chat"
    VOICE = "voice"


class InteractionState(enum.StrEnum):
    NEW = "new"
    QUEUED = "queued"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    # An email or SMS its agent set aside until the customer answers (on hold) or until a
    # time (snoozed): still theirs, holding none of their capacity.
    PARKED = "parked"
    WRAP_UP = "wrap_up"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        """Open interactions are the ones a new contact on the same thread continues."""
        return self not in _CLOSED


_CLOSED = frozenset({InteractionState.COMPLETED, InteractionState.ABANDONED, InteractionState.CANCELLED})

_S = InteractionState
TRANSITIONS: dict[InteractionState, frozenset[InteractionState]] = {
    _S.NEW: frozenset({_S.QUEUED, _S.CANCELLED}),
    # Straight to ASSIGNED when a supervisor takes it over from its queue.
    _S.QUEUED: frozenset({_S.OFFERED, _S.ASSIGNED, _S.ABANDONED, _S.CANCELLED}),
    # Back to QUEUED on reject, timeout, revoke or restart.
    _S.OFFERED: frozenset({_S.ASSIGNED, _S.QUEUED, _S.ABANDONED, _S.CANCELLED}),
    # Back to QUEUED on transfer.
    _S.ASSIGNED: frozenset({_S.WRAP_UP, _S.QUEUED, _S.PARKED}),
    # Queued again, for its agent first, when the customer answers, the snooze ends or
    # the agent takes it up again.
    _S.PARKED: frozenset({_S.QUEUED}),
    _S.WRAP_UP: frozenset({_S.COMPLETED}),
    _S.COMPLETED: frozenset(),
    _S.ABANDONED: frozenset(),
    _S.CANCELLED: frozenset(),
}


def check_transition(current: InteractionState, target: InteractionState) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"an interaction cannot go from {current} to {target}")


class IdentityKind(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    # A customer's number in the company's own systems (what a caller keys in the IVR).
    ACCOUNT = "account"


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ActorKind(enum.StrEnum):
    SYSTEM = "system"
    CUSTOMER = "customer"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str | None = None


SYSTEM = Actor(ActorKind.SYSTEM)


@dataclass(frozen=True, slots=True)
class InboundContact:
    """What a channel adapter hands the service: already verified, not yet resolved."""

    channel: Channel
    external_id: str
    identity_kind: IdentityKind
    from_address: str
    to_address: str
    body: str
    thread_key: str
    attributes: dict[str, Any] = field(default_factory=dict)
    # The files it carries, kept with its message and named in its attributes' attachments.
    files: tuple[Attachment, ...] = ()
    # True: the sender asked for no more messages (SMS STOP); False: asked to resume.
    opt_out: bool | None = None
    # The channel keyword the contact consists of (SMS STOP, START, HELP): an instruction to
    # the service, kept on the record, never a conversation opened for an agent.
    keyword: str | None = None
    # Other open threads the sender named (an email reply token), tried after ``thread_key``.
    thread_hints: tuple[str, ...] = ()
    # External ids (same channel) of earlier messages this one answers, most recent first
    # (email In-Reply-To, References): their open interaction is continued.
    replies_to: tuple[str, ...] = ()
    # Sent by a machine (auto-reply, bounce, mailing list): it may continue an open
    # interaction but never opens one for an agent.
    automated: bool = False

    # Further identities the sender gave for themselves (a chat visitor's email and phone):
    # added to the resolved customer, unless another customer already holds one.
    linked_identities: tuple[tuple[IdentityKind, str], ...] = ()
    # How the sender names themselves (an email's From name, a chat visitor's name): what a
    # customer first met through this contact is called.
    sender_name: str = ""
    # False when the sender only claims ``from_address`` (typed into a chat form) rather
    # than the channel proving it (the number an SMS came from).
    verified: bool = True
    # Kept by its channel before it is queued (a call in its IVR flow): opens an interaction
    # that stays new, in no queue, until the channel queues it (or it ends first).
    held: bool = False

    @property
    def routable(self) -> bool:
        """Whether the contact may open an interaction that waits for an agent."""
        return not self.automated and self.keyword is None


# What an agent's email reply may carry: a few documents, under what mail providers take
# (25 MB is common) once base64 has made them a third larger.
MAX_ATTACHMENTS = 10
MAX_ATTACHED_BYTES = 15 * 2**20


# How a kept file's name and type may be (the attachments table's columns hold 255).
MAX_FILE_NAME = 200
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
UNKNOWN_MEDIA_TYPE = "application/octet-stream"
_PATH = re.compile(r"[/\\]")
# Controls (C0, DEL, C1), and the bidirectional overrides and isolates that would show
# "invoice\u202efdp.exe" as "invoiceexe.pdf".
_UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]+")


def file_name(given: str) -> str:
    """A sender's name for a file as it is kept and shown: the last part of a path, text
    that is UTF-8 (bytes that were not, kept as surrogates, become U+FFFD), no control or
    direction characters, not too long; "" for none."""
    try:
        raw = given.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        raw = given.encode("utf-8", "surrogatepass")
    text = raw.decode("utf-8", "replace")
    return _UNSHOWN.sub("_", _PATH.split(text)[-1]).strip(" .")[:MAX_FILE_NAME]


def media_type(given: str) -> str:
    """A sender's type for a file as it is kept and served: a well-formed media type, lower
    case, without parameters; else bytes."""
    media = given.split(";", 1)[0].strip().lower()
    return media if _MEDIA_TYPE.fullmatch(media) else UNKNOWN_MEDIA_TYPE


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file a message carries: an email's (either way) or a chat visitor's upload, named
    and typed as its sender did, by ``file_name`` and ``media_type`` ("" for no name)."""

    filename: str
    content_type: str
    data: bytes

    @property
    def described(self) -> dict[str, Any]:
        """As a message's attributes name it (``attachments``), beside the id it is kept
        under (storage.attachments)."""
        return {"filename": self.filename or None, "content_type": self.content_type, "size": len(self.data)}


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """What the service asks a channel to send; ``external_id`` comes back from the channel."""

    interaction_id: str
    to_address: str
    from_address: str
    body: str
    # Email threading; other channels leave these empty. The conversation's subject, the
    # customer message answered (Message-ID) and its ancestry, the interaction's thread key.
    subject: str = ""
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    thread_key: str = ""
    # Sent without a person (an acknowledgement): marked so that auto-responders stay quiet.
    automated: bool = False
    # Our stored message's id, for channels that show it to the customer (chat).
    message_id: str = ""
    # Files with an email; other channels take none (the desk refuses them).
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class SentMessage:
    external_id: str
    status: str


class OutboundSender(Protocol):
    """A channel's way out. Raises ``ChannelError`` when the message was not accepted."""

    async def send(self, message: OutboundMessage) -> SentMessage: ...

    async def close(self) -> None: ...
