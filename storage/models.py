"""Tables. Ids are UUID strings so that several instances can mint them without a round trip;
events use an autoincrement key because their order is the history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from interaction_center.domain.stamps import new_id, utcnow

# States after which a thread is closed; the partial unique index below keeps one open
# interaction per thread even when two contacts race in.
CLOSED_STATES_SQL = "state NOT IN ('completed', 'abandoned', 'cancelled')"
FIRST_RESPONSE_PENDING_SQL = "first_responded_at IS NULL AND first_response_breached_at IS NULL AND closed_at IS NULL"
# Snoozed interactions: the look for ended snoozes costs what is snoozed, not the table.
SNOOZED_SQL = "parked_until IS NOT NULL"


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: SQLite keeps no zone, PostgreSQL would convert."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _naive_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # SQLite keeps datetimes as text: written in one step, in exactly the form its
        # DATETIME type writes (and reads, and compares) but without its two Python layers;
        # a contact writes a dozen of them. Ours are UTC already (utcnow): their text is
        # taken as it is, less the offset, without converting and copying the datetime.
        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is UTC:
                return value.isoformat(" ", "microseconds")[: -len("+00:00")]
            return _naive_utc(value).isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], datetime | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        # Read back in one step as well: the text, marked UTC, parsed by the C parser (0.4 us).
        # SQLite's DATETIME parsed it with a regular expression and two Python layers, and
        # then replace(tzinfo=) took as long again (6 us together): some 600 datetimes are
        # read for a page of a customer's timeline.
        def process(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value + "+00:00")

        return process


class UTCText(TypeDecorator[str]):
    """A UTCDateTime column read as its aware datetime's ``isoformat()``, for a read that
    hands its times on as text (``type_coerce`` a column to it): a page of a customer's
    timeline writes some 3,000 times, and parsing each to format it again took longer
    than anything else made of its rows."""

    impl = DateTime
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else value.replace(tzinfo=UTC).isoformat()

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], str | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return sqlite_iso_text


def sqlite_iso_text(value: str | None) -> str | None:
    """The ISO text of a time as SQLite holds it (UTCDateTime.bind_processor's text, which
    is SQLAlchemy's DATETIME's too: "2024-05-01 12:00:00.250000"), rewritten rather than
    parsed: "T" for the space, "+00:00" after. Text of another shape is parsed, as is a
    time without microseconds, whose isoformat() has none."""
    if value is None:
        return None
    if len(value) == 26 and value[10] == " " and value[19] == "." and value[20:] != "000000":
        return value.replace(" ", "T", 1) + "+00:00"
    return datetime.fromisoformat(value + "+00:00").isoformat()


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware one")
    return value.astimezone(UTC).replace(tzinfo=None)


# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
AutoId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # The name as searched by its beginning (``domain.identity.name_key``), indexed.
    name_key: Mapped[str] = mapped_column(String(200), default="", server_default="", index=True)
    # Set once the customer was merged into another: their identities and history are
    # that one's now, and search leads there (``customer_merges`` says how to undo it).
    merged_into: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerMerge(Base):
    """One customer merged into another, with what moved: enough to move it back."""

    __tablename__ = "customer_merges"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    into_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    from_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    identity_ids: Mapped[list[int]] = mapped_column(JSON)
    interaction_ids: Mapped[list[str]] = mapped_column(JSON)
    merged_by: Mapped[str] = mapped_column(String(36))
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    unmerged_by: Mapped[str | None] = mapped_column(String(36))
    unmerged_at: Mapped[datetime | None]


class CustomerIdentity(Base):
    __tablename__ = "customer_identities"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_identity_kind_value"),)
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
    # Set while the identity has opted out of messages (SMS STOP); cleared by START.
    opted_out_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="offline")
    status_reason: Mapped[str | None] = mapped_column(String(50))
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # [{"queue", "priority", "delay_seconds"}]: the agent's routing profile.
    queues: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # Channel -> how many at once; channels left out take the engine's defaults.
    capacity: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # The phone (E.164) calls are put through to; without one, the agent's browser.
    phone: Mapped[str | None] = mapped_column(String(32))
    # A deactivated agent keeps their history but cannot log in, and no token of theirs lives.
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Every change is written on condition of the version it was read at (see Interaction).
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (read once, by the mapper)


class AuthToken(Base):
    """Bearer tokens, kept only as a SHA-256 digest: a leaked table grants nothing."""

    __tablename__ = "auth_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index(
            "uq_interactions_open_thread",
            "thread_key",
            unique=True,
            sqlite_where=text(CLOSED_STATES_SQL),
            postgresql_where=text(CLOSED_STATES_SQL),
        ),
        Index("ix_interactions_state", "state"),
        # A customer's interactions, newest closed last: their record, and the agent who
        # last served them (intake reads that for every returning customer, and by state
        # alone it would read every completed interaction ever).
        Index("ix_interactions_customer_closed", "customer_id", "closed_at"),
        # Their timeline, newest first a page at a time (by closed_at it read them all).
        Index("ix_interactions_customer_created", "customer_id", "created_at", "id"),
        # An agent's work by state: what they hold, and what they completed, newest first
        # (their work list pages through it). Without the state, finding the few they hold
        # read every interaction they ever had.
        Index("ix_interactions_agent_state_closed", "assigned_agent_id", "state", "closed_at"),
        # The routing tick looks for first responses overdue several times a second: only
        # the open, unanswered, unbreached ones are indexed, so the look costs what is due.
        Index(
            "ix_interactions_first_response_due",
            "first_response_deadline",
            sqlite_where=text(FIRST_RESPONSE_PENDING_SQL),
            postgresql_where=text(FIRST_RESPONSE_PENDING_SQL),
        ),
        Index(
            "ix_interactions_snoozed_until",
            "parked_until",
            sqlite_where=text(SNOOZED_SQL),
            postgresql_where=text(SNOOZED_SQL),
        ),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(100))
    thread_key: Mapped[str] = mapped_column(String(400))
    enqueued_at: Mapped[datetime | None]
    priority: Mapped[int] = mapped_column(default=0)
    required_skills: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    escalation_level: Mapped[int] = mapped_column(default=0)
    answer_deadline: Mapped[datetime | None]
    sla_breached_at: Mapped[datetime | None]
    first_response_deadline: Mapped[datetime | None]
    first_responded_at: Mapped[datetime | None]
    first_response_breached_at: Mapped[datetime | None]
    preferred_agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    preferred_until: Mapped[datetime | None]
    assigned_agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"), index=True)
    offer_id: Mapped[str | None] = mapped_column(String(36))
    offered_agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"), index=True)
    offer_expires_at: Mapped[datetime | None]
    disposition: Mapped[str | None] = mapped_column(String(100))
    # The note of the transfer that queued it last, for the next agent (None without one).
    transfer_note: Mapped[str | None] = mapped_column(Text)
    # When a snoozed (parked) interaction comes back by itself; None when on hold for the
    # customer's answer alone, and when not parked.
    parked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    # Raised by every change and part of its WHERE clause: of two writers that read the
    # same version, the second updates no row and fails (StaleState) instead of both
    # winning. Instances share nothing but the database, so the database must decide.
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (read once, by the mapper)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_messages_channel_external_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    interaction_id: Mapped[str] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(200))
    from_address: Mapped[str] = mapped_column(String(320))
    to_address: Mapped[str] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    status_updated_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    author_agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttachedFile(Base):
    """A file a message carried (an email's attachment, either way; a chat visitor's
    upload), kept with it: agents open it from the transcript. Its message's attributes
    name it (``attachments``: id, filename, content type, size)."""

    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    # Beside the message's: who may open it is whoever may read the interaction.
    interaction_id: Mapped[str] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatSession(Base):
    """A web-chat visitor's session. Only a SHA-256 digest of its token is kept: a leaked
    table lets nobody read or write a customer's chat."""

    __tablename__ = "chat_sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # What the visitor told us at start (normalized); linked to their customer record.
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventColumns:
    """What every event says, whichever stream it is in: what happened, who did it (a
    kind and an id), its details and when."""

    type: Mapped[str] = mapped_column(String(50))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InteractionEvent(EventColumns, Base):
    __tablename__ = "interaction_events"
    __table_args__ = (Index("uq_interaction_events_seq", "seq", unique=True),)
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    # The event's place in the "interactions" stream, given out in commit order
    # (storage.events): what consumers read by and record how far they got.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    interaction_id: Mapped[str] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)


class AgentEvent(EventColumns, Base):
    """The "agents" stream: every change of an agent's state, in order."""

    __tablename__ = "agent_events"
    seq: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=False)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)


class CannedText(Base):
    """An agent's own canned response (the shared ones are the configuration's)."""

    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("agent_id", "shortcut", name="uq_canned_agent_shortcut"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    shortcut: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Every call that changes something, by whom and with what outcome; admins read it."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    # The signed-in account (None for a refused login); "cli:<user>" for the command line.
    actor_id: Mapped[str | None] = mapped_column(String(100), index=True)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    # "PATCH /api/v1/agents/{agent_id}", or the CLI's "agents deactivate".
    action: Mapped[str] = mapped_column(String(200))
    # The route's parameters (which agent, which interaction...).
    target: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[int] = mapped_column(Integer)
    # What the caller's request named beyond the route (the username of a login); never a secret.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    address: Mapped[str] = mapped_column(String(100), default="")


class EventStream(Base):
    """The last sequence number given out in each stream. Taking numbers updates this row,
    so transactions that write events to one stream take their turn on it and commit in
    the order of their numbers: a consumer reading "after N" never skips one that commits
    late."""

    __tablename__ = "event_streams"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class ConsumerPosition(Base):
    """How far each consumer of a stream has read: where it resumes after a crash."""

    __tablename__ = "consumer_positions"
    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    stream: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class QueueTally(Base):
    """What happened in one queue and channel in one interval (``TALLY_MINUTES`` long,
    starting on the quarter hour, so that any time zone's day is a sum of them): counted
    from the event log by the statistics consumer, so the day's figures survive restarts
    and are the same whichever instance is asked."""

    __tablename__ = "queue_tallies"
    interval_start: Mapped[datetime] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    answered: Mapped[int] = mapped_column(default=0)
    answered_within_target: Mapped[int] = mapped_column(default=0)
    answer_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    abandoned: Mapped[int] = mapped_column(default=0)
    abandoned_after_target: Mapped[int] = mapped_column(default=0)
    short_abandoned: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    sla_breaches: Mapped[int] = mapped_column(default=0)
    first_response_breaches: Mapped[int] = mapped_column(default=0)


class VoiceCall(Base):
    """A phone call's own state beside its interaction: where it is in its IVR flow, the
    step its next webhook must carry, and the TwiML answered at the last step, so that a
    retried webhook gets the same answer instead of moving the caller twice, and another
    instance can answer the next one."""

    __tablename__ = "voice_calls"
    call_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    interaction_id: Mapped[str] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    # E.164, or "anonymous:<CallSid>" for a caller whose number is withheld.
    caller: Mapped[str] = mapped_column(String(64))
    dialled: Mapped[str] = mapped_column(String(32))
    # ivr (in the flow), queued (waiting), callback (waiting without the caller on the line),
    # bridged (with an agent), handover (with the agent consulted, until they accept it),
    # voicemail (recording), transferred (to an outside number), ended.
    phase: Mapped[str] = mapped_column(String(16))
    # The interpreter's state (ivr.interpreter.CallState.to_json).
    flow_state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    step: Mapped[int] = mapped_column(default=0)
    response: Mapped[str] = mapped_column(Text, default="")
    # What the waiting caller was last told, and when: announcements say a changed place,
    # and no more often than the queue's gap.
    announced_position: Mapped[int | None]
    announced_at: Mapped[datetime | None]
    # Where a caller who leaves the queue goes (max wait, callback): voicemail, callback, queue:NAME.
    leave_to: Mapped[str | None] = mapped_column(String(120))
    conference_sid: Mapped[str | None] = mapped_column(String(64))
    agent_call_sid: Mapped[str | None] = mapped_column(String(64))
    # The customer's leg in the conference when it is not ``call_sid``: a callback's, dialled in.
    customer_call_sid: Mapped[str | None] = mapped_column(String(64))
    # The supervisor on the call (one at a time), their leg and how they are on it
    # (listen, whisper, barge), until it ends.
    supervisor_id: Mapped[str | None] = mapped_column(String(36))
    supervisor_call_sid: Mapped[str | None] = mapped_column(String(64))
    supervisor_mode: Mapped[str | None] = mapped_column(String(16))
    # The agent consulted before a warm transfer, their leg, and when they answered it.
    consult_agent_id: Mapped[str | None] = mapped_column(String(36))
    consult_call_sid: Mapped[str | None] = mapped_column(String(64))
    consult_answered_at: Mapped[datetime | None]
    callback_attempts: Mapped[int] = mapped_column(default=0)
    callback_due_at: Mapped[datetime | None] = mapped_column(index=True)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (read once, by the mapper)
