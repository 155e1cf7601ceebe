"""The wire format: every JSON shape the service sends, typed once here.

Three audiences: the REST API's bodies (errors included), the frames of the agents'
WebSocket (``AgentFrame``) and those of the chat visitors' (``VisitorFrame``). Each frame
has a ``Literal`` ``type`` tag and one builder. The shapes are ``TypedDict``s, so a frame
is a plain dict: nothing is validated or converted at runtime, which matters for offers
and chat acks, sent on every contact.

It sits in the domain because web chat's adapter (``channels/chat``) sends visitors'
frames and channels import nothing of the application above the domain. What is built
from storage rows or routing's records is built in ``interaction_center/wire.py``, which
the domain may not import; what is built from plain values is built here."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypedDict

# --- REST bodies -------------------------------------------------------------------------


class ErrorDetail(TypedDict):
    code: str
    message: str


class ErrorBody(TypedDict):
    """Any refusal, with a stable ``code`` (docs: README, "Errors")."""

    error: ErrorDetail


class OkBody(TypedDict):
    ok: Literal[True]


class HealthBody(TypedDict):
    status: Literal["ok", "ready"]


class AgentBody(TypedDict):
    id: str
    username: str
    display_name: str
    role: str
    status: str
    status_reason: str | None
    status_changed_at: str
    queues: list[dict[str, Any]]
    skills: dict[str, int]
    capacity: dict[str, int]
    phone: str | None
    active: bool


class LoginBody(TypedDict):
    token: str
    expires_at: str
    agent: AgentBody


class SessionBody(TypedDict):
    """Who the pages' session cookie signs in: ``agent`` is None when nobody is."""

    agent: AgentBody | None


class AgentsBody(TypedDict):
    agents: list[AgentBody]


class AuditEntryBody(TypedDict):
    id: int
    at: str
    actor_id: str | None
    actor_role: str | None
    action: str
    target: dict[str, str]
    status: int
    detail: dict[str, Any]
    address: str


class AuditBody(TypedDict):
    """A page of the audit log, newest first; ``next_before`` asks for the page after it."""

    entries: list[AuditEntryBody]
    next_before: int | None


# "from" is a keyword, so these shapes are written in the functional form.
MessageBody = TypedDict(
    "MessageBody",
    {
        "id": str,
        "interaction_id": str,
        "channel": str,
        "direction": str,
        "external_id": str | None,
        "from": str,
        "to": str,
        "body": str,
        "status": str,
        "status_updated_at": str | None,
        "error": str | None,
        "author_agent_id": str | None,
        "attributes": dict[str, Any],
        "created_at": str,
    },
)


class ActorBody(TypedDict):
    kind: str
    id: str | None


class EventBody(TypedDict):
    id: int
    type: str
    actor: ActorBody
    at: str
    data: dict[str, Any]


class OfferRef(TypedDict):
    id: str
    agent_id: str | None
    expires_at: str | None


class InteractionBody(TypedDict):
    id: str
    customer_id: str
    channel: str
    state: str
    queue: str
    enqueued_at: str | None
    answer_deadline: str | None
    assigned_agent_id: str | None
    offer: OfferRef | None
    disposition: str | None
    # The note of the transfer that queued it last, for the agent it is offered to next.
    transfer_note: str | None
    # When a snoozed interaction comes back by itself (state "parked"); None otherwise.
    parked_until: str | None
    created_at: str
    closed_at: str | None
    messages: list[MessageBody]
    events: list[EventBody]


class DispositionBody(TypedDict):
    code: str
    label: str
    complaint: bool
    note_required: bool


class DispositionsBody(TypedDict):
    """Per queue, the codes its interactions complete with."""

    queues: dict[str, list[DispositionBody]]


class WrapUpBody(TypedDict):
    wrap_up_until: str


class LatestMessage(TypedDict):
    direction: str
    body: str  # cut at the preview's length
    at: str


class WorkItemBody(TypedDict):
    """An interaction in an agent's work list."""

    id: str
    channel: str
    state: str
    queue: str
    priority: int
    customer_id: str
    customer_name: str
    # The customer's messages since the last reply (all of them before one).
    unread: int
    latest_message: LatestMessage | None
    transfer_note: str | None
    parked_until: str | None
    disposition: str | None
    closed_at: str | None


class WorkBody(TypedDict):
    """``GET /api/v1/work``: ``recent`` pages on with ``?before=next_before``."""

    offered: list[WorkItemBody]
    assigned: list[WorkItemBody]
    # Set aside by the agent (on hold for the customer, or snoozed), soonest back first.
    parked: list[WorkItemBody]
    recent: list[WorkItemBody]
    next_before: str | None


class CannedBody(TypedDict):
    id: str | None  # the agent's own have one; the shared ones are the configuration's
    source: str  # "shared" or "mine"
    shortcut: str
    title: str
    body: str  # the template
    # Filled in for the interaction asked about; None when none was.
    text: str | None


class CannedListBody(TypedDict):
    responses: list[CannedBody]


class OffersBody(TypedDict):
    offers: list[InteractionBody]


class IdentityBody(TypedDict):
    kind: str
    value: str
    opted_out_at: str | None


class MergeBody(TypedDict):
    """A customer merged into this one; ``POST /customers/{id}/unmerge`` takes its id."""

    id: int
    from_id: str
    merged_by: str
    merged_at: str
    unmerged_at: str | None


class CustomerBody(TypedDict):
    id: str
    display_name: str
    created_at: str
    # Set when this record was merged into another, which holds its history now.
    merged_into: str | None
    identities: list[IdentityBody]
    interactions: list[InteractionBody]
    merges: list[MergeBody]


class CustomerSummaryBody(TypedDict):
    id: str
    display_name: str
    identities: list[IdentityBody]


class CustomersBody(TypedDict):
    customers: list[CustomerSummaryBody]


class QueueStatsBody(TypedDict):
    queue: str
    channel: str
    waiting: int
    longest_wait_seconds: float
    answered: int
    answered_within_target: int
    service_level: float | None
    average_speed_of_answer_seconds: float | None
    abandoned: int
    abandoned_after_target: int
    sla_breaches: int
    first_response_breaches: int
    agents: dict[str, int]
    occupancy: float | None


class WaitingEntryBody(TypedDict):
    interaction_id: str
    channel: str
    priority: int
    enqueued_at: str
    # Reserved for this agent (a transfer to them) until it is anyone's.
    preferred_agent_id: str | None
    sla_breached: bool


class WaitingBody(TypedDict):
    """A queue's waiting interactions, in the order they will be offered."""

    queue: str
    waiting: list[WaitingEntryBody]


class QueuesBody(TypedDict):
    queues: list[QueueStatsBody]


class VoiceTokenBody(TypedDict):
    """An agent's Twilio Voice SDK token; calls reach the browser as ``client:<identity>``."""

    token: str
    identity: str
    expires_at: str


# The agent's and supervisor's side of a call in progress (POST .../call/...).


class CallHoldBody(TypedDict):
    """The customer was put on hold (``on_hold``) or taken off it."""

    interaction_id: str
    on_hold: bool


def call_hold_body(interaction_id: str, on_hold: bool) -> CallHoldBody:
    return {"interaction_id": interaction_id, "on_hold": on_hold}


class CallConsultBody(TypedDict):
    """The agent consulted, being dialled into the call (the customer on hold)."""

    interaction_id: str
    agent_id: str
    consult_call_sid: str


def call_consult_body(interaction_id: str, agent_id: str, consult_call_sid: str) -> CallConsultBody:
    return {"interaction_id": interaction_id, "agent_id": agent_id, "consult_call_sid": consult_call_sid}


# How a supervisor is on a call: heard by nobody, by the agent alone, by both.
MonitorMode = Literal["listen", "whisper", "barge"]
MONITOR_MODES: tuple[MonitorMode, ...] = ("listen", "whisper", "barge")


class CallMonitorBody(TypedDict):
    """The supervisor's leg in the call's conference and how they are on it."""

    interaction_id: str
    mode: MonitorMode
    supervisor_call_sid: str


def call_monitor_body(interaction_id: str, mode: MonitorMode, supervisor_call_sid: str) -> CallMonitorBody:
    return {"interaction_id": interaction_id, "mode": mode, "supervisor_call_sid": supervisor_call_sid}


def error_body(code: str, message: str) -> ErrorBody:
    return {"error": {"code": code, "message": message}}


def ok_body() -> OkBody:
    return {"ok": True}


def health_body(status: Literal["ok", "ready"]) -> HealthBody:
    return {"status": status}


def offers_body(offers: list[InteractionBody]) -> OffersBody:
    return {"offers": offers}


# --- Frames both sockets send ------------------------------------------------------------


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    message: str


def error_frame(code: str, message: str) -> ErrorFrame:
    return {"type": "error", "code": code, "message": message}


# --- The agents' WebSocket (GET /api/v1/ws) -----------------------------------------------


class HelloFrame(TypedDict):
    """The first frame: who the agent is and what is offered to them now."""

    type: Literal["hello"]
    agent: AgentBody
    offers: list[InteractionBody]


# Who wrote and what, cut short; empty for an interaction with no inbound message.
Preview = TypedDict("Preview", {"from": str, "body": str}, total=False)


class OfferFrame(TypedDict):
    type: Literal["offer"]
    offer_id: str
    interaction_id: str
    channel: str
    queue: str
    priority: int
    expires_at: str
    preview: Preview
    transfer_note: str | None


class OfferClosedFrame(TypedDict):
    type: Literal["offer_closed"]
    offer_id: str
    interaction_id: str
    reason: Literal["timeout", "revoked", "abandoned"]


class StatusFrame(TypedDict):
    type: Literal["status"]
    status: str
    reason: str | None


class NewMessageFrame(TypedDict):
    """A customer wrote on an interaction the agent holds."""

    type: Literal["message"]
    interaction_id: str
    message: MessageBody


class CustomerTypingFrame(TypedDict):
    type: Literal["customer_typing"]
    interaction_id: str


class PongFrame(TypedDict):
    type: Literal["pong"]


class FloorFrame(TypedDict):
    """A supervisor's view of the floor, whole: on subscribing, or resuming too late."""

    type: Literal["floor"]
    seq: int
    queues: list[QueueStatsBody]
    agents: list[AgentBody]


class FloorChangesFrame(TypedDict):
    """What changed on the floor since frame ``seq - 1``: the queue rows and agents that
    did, and the agents no longer on it (deactivated)."""

    type: Literal["floor_changes"]
    seq: int
    queues: list[QueueStatsBody]
    agents: list[AgentBody]
    removed_agents: list[str]


AgentFrame = (
    HelloFrame
    | OfferFrame
    | OfferClosedFrame
    | StatusFrame
    | NewMessageFrame
    | CustomerTypingFrame
    | PongFrame
    | ErrorFrame
    | FloorFrame
    | FloorChangesFrame
)


def offer_closed_frame(
    offer_id: str, interaction_id: str, reason: Literal["timeout", "revoked", "abandoned"]
) -> OfferClosedFrame:
    return {"type": "offer_closed", "offer_id": offer_id, "interaction_id": interaction_id, "reason": reason}


def customer_typing_frame(interaction_id: str) -> CustomerTypingFrame:
    return {"type": "customer_typing", "interaction_id": interaction_id}


def pong_frame() -> PongFrame:
    return {"type": "pong"}


# --- The chat visitors' WebSocket (GET /chat/ws) -------------------------------------------


class StartedFrame(TypedDict):
    """A new session; ``interaction_id`` is null until the first message opens one, as
    in ``resumed``, so the widget reads both alike."""

    type: Literal["started"]
    token: str
    interaction_id: None


# One line of the conversation as the visitor sees it: who, what, when; nothing internal.
ChatLine = TypedDict(
    "ChatLine",
    {
        "message_id": str,
        "from": Literal["customer", "agent"],
        "client_id": str | None,
        "body": str,
        "at": str,
    },
)


class ResumedFrame(TypedDict):
    type: Literal["resumed"]
    interaction_id: str | None
    state: str | None
    agent_name: str | None
    messages: list[ChatLine]


class AckFrame(TypedDict):
    type: Literal["ack"]
    client_id: str
    message_id: str
    interaction_id: str
    at: str


class QueuedFrame(TypedDict):
    type: Literal["queued"]
    position: int
    expected_wait_seconds: int | None


AgentTypingFrame = TypedDict("AgentTypingFrame", {"type": Literal["typing"], "from": Literal["agent"]})


class AssignedFrame(TypedDict):
    """The agent's display name only: their username and id are for the staff."""

    type: Literal["assigned"]
    interaction_id: str
    agent_name: str


ChatMessageFrame = TypedDict(
    "ChatMessageFrame",
    {
        "type": Literal["message"],
        "from": Literal["agent"],
        "message_id": str,
        "interaction_id": str,
        "body": str,
        "at": str,
    },
)


class EndedFrame(TypedDict):
    type: Literal["ended"]
    interaction_id: str


VisitorFrame = (
    StartedFrame
    | ResumedFrame
    | AckFrame
    | QueuedFrame
    | AgentTypingFrame
    | AssignedFrame
    | ChatMessageFrame
    | EndedFrame
    | ErrorFrame
)


def started_frame(token: str) -> StartedFrame:
    return {"type": "started", "token": token, "interaction_id": None}


def resumed_frame(
    interaction_id: str | None, state: str | None, agent_name: str | None, messages: list[ChatLine]
) -> ResumedFrame:
    return {
        "type": "resumed",
        "interaction_id": interaction_id,
        "state": state,
        "agent_name": agent_name,
        "messages": messages,
    }


def ack_frame(client_id: str, message_id: str, interaction_id: str, at: datetime) -> AckFrame:
    return {
        "type": "ack",
        "client_id": client_id,
        "message_id": message_id,
        "interaction_id": interaction_id,
        "at": at.isoformat(),
    }


def queued_frame(position: int, expected_wait_seconds: int | None) -> QueuedFrame:
    return {"type": "queued", "position": position, "expected_wait_seconds": expected_wait_seconds}


def agent_typing_frame() -> AgentTypingFrame:
    return {"type": "typing", "from": "agent"}


def assigned_frame(interaction_id: str, agent_name: str) -> AssignedFrame:
    return {"type": "assigned", "interaction_id": interaction_id, "agent_name": agent_name}


def chat_message_frame(message_id: str, interaction_id: str, body: str, at: datetime) -> ChatMessageFrame:
    return {
        "type": "message",
        "from": "agent",
        "message_id": message_id,
        "interaction_id": interaction_id,
        "body": body,
        "at": at.isoformat(),
    }


def ended_frame(interaction_id: str) -> EndedFrame:
    return {"type": "ended", "interaction_id": interaction_id}
