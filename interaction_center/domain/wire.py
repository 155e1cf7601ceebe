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

from interaction_center.domain.model import Channel, Role

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


class FloorAgentBody(AgentBody):
    """An agent as supervisors see them (``GET /agents``, the floor): with their
    occupancy now, the busiest of their channels' shares of capacity (2 of 3 chats beside
    1 of 5 SMS is 2/3; a call fills it), the figure each queue's ``occupancy`` is the mean
    of; null offline."""

    occupancy: float | None


class MeBody(AgentBody):
    """The caller as ``GET /agents/me`` tells them: with when their wrap-up ends (null out
    of wrap-up), for the desk's countdown."""

    wrap_up_until: str | None


class LoginBody(TypedDict):
    token: str
    expires_at: str
    agent: AgentBody


class SessionBody(TypedDict):
    """Who the pages' session cookie signs in: ``agent`` is None when nobody is."""

    agent: AgentBody | None


class AgentsBody(TypedDict):
    agents: list[FloorAgentBody]


class ColleagueBody(TypedDict):
    """An agent as every signed-in caller may see them, to transfer to: who, whether they
    are there, and their queues; nothing of their account beyond that."""

    id: str
    username: str
    display_name: str
    status: str
    queues: list[dict[str, Any]]


class DirectoryBody(TypedDict):
    agents: list[ColleagueBody]


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


class MonitorBody(TypedDict):
    """The supervisor on a call, and how they are on it."""

    supervisor_id: str
    mode: MonitorMode


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
    # A call a supervisor is on (their leg in its conference), until their leg ends; null
    # for anything else.
    monitor: MonitorBody | None


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
    # Newest first, a page of them: the next page with ?before=next_before.
    interactions: list[InteractionBody]
    next_before: str | None
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
    # The queue's answer target for this channel ([queues.NAME.sla.CHANNEL]), None without
    # one: a wait past it is late, which a wall board shows as the target missed.
    answer_target_seconds: int | None
    answered: int
    answered_within_target: int
    service_level: float | None
    average_speed_of_answer_seconds: float | None
    abandoned: int
    abandoned_after_target: int
    # Left within routing.short_abandon_seconds: in neither abandoned nor the service level.
    short_abandoned: int
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


class VoiceSetupBody(TypedDict):
    """What calls may do here: ``browser_calls`` is false when no Twilio account can sign
    a browser softphone's token (``GET /voice/token`` is then refused); ``call_controls``
    is false when no Twilio account can hold, transfer or hang up a call (``.../call/...``
    are then refused)."""

    browser_calls: bool
    call_controls: bool


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


# --- REST request bodies -----------------------------------------------------------------
# What the API's handlers read; ``web.contract.declare`` names them, so the OpenAPI document
# shows them. Keys a caller may leave out are in a ``total=False`` class over the required
# ones: with postponed annotations (the import at the top) ``NotRequired`` would go unseen.


class LoginRequest(TypedDict):
    username: str
    password: str


# The statuses an agent sets by hand (the others the service sets: wrap-up).
SettableStatus = Literal["available", "away", "offline"]


class _StatusRequired(TypedDict):
    status: SettableStatus


class StatusRequest(_StatusRequired, total=False):
    """A status set by hand; ``away`` with a reason code (break, lunch, training...)."""

    reason: str | None


class TextRequest(TypedDict):
    """A reply to the customer, or an internal note."""

    body: str


class _CompleteRequired(TypedDict):
    disposition: str


class CompleteRequest(_CompleteRequired, total=False):
    """A disposition code of the interaction's queue, with the note a code may require."""

    note: str | None


class TransferRequest(TypedDict, total=False):
    """Exactly one of ``queue`` or ``agent_id``, and a note for the next agent."""

    queue: str
    agent_id: str
    note: str | None


class _StartRequired(TypedDict):
    channel: Literal["sms", "email"]
    to: str
    body: str


class StartRequest(_StartRequired, total=False):
    """A conversation the caller starts; ``subject`` for an email."""

    subject: str


class WrapUpRequest(TypedDict):
    seconds: int


class HoldRequest(TypedDict):
    on: bool


class ParkRequest(TypedDict, total=False):
    """An email or SMS set aside until the customer answers, with a note for the record."""

    note: str | None


class _SnoozeRequired(TypedDict):
    until: str  # ISO 8601 with its offset


class SnoozeRequest(_SnoozeRequired, total=False):
    """An email or SMS set aside until a time, or the customer's answer if sooner."""

    note: str | None


class ConsultRequest(TypedDict):
    agent_id: str


class MonitorRequest(TypedDict):
    mode: MonitorMode


class PriorityRequest(TypedDict):
    priority: int


class OwnPasswordRequest(TypedDict):
    current_password: str
    new_password: str


class PasswordRequest(TypedDict):
    password: str


class _MembershipRequired(TypedDict):
    queue: str


class MembershipRequest(_MembershipRequired, total=False):
    """A queue with the agent's priority in it and the delay before they are offered its work."""

    priority: int
    delay_seconds: float


class ProfileRequest(TypedDict, total=False):
    """An agent's profile as the configuration's ``[[agents]]`` take it."""

    display_name: str
    role: Role
    queues: list[str | MembershipRequest]
    skills: dict[str, int]
    capacity: dict[str, int]
    phone: str


class NewAgentRequest(ProfileRequest):
    username: str
    password: str


class CannedRequest(TypedDict):
    shortcut: str
    title: str
    body: str


class CannedChangeRequest(TypedDict, total=False):
    shortcut: str
    title: str
    body: str


class IdentityRequest(TypedDict):
    kind: Literal["phone", "email", "account"]
    value: str


class CustomerChangeRequest(TypedDict, total=False):
    display_name: str
    add_identities: list[IdentityRequest]


MergeRequest = TypedDict("MergeRequest", {"from": str})


class UnmergeRequest(TypedDict):
    merge_id: int


# One body of each request shape, checked against it by mypy: the OpenAPI document shows
# them, and the schemathesis run (tests/web/test_schemathesis.py) sends them, so that its
# requests do something as well as being refused.
_ID = "01a24c3b-7f10-7e3a-9b1c-5d2e8f4a6b70"
_LOGIN: LoginRequest = {"username": "alice", "password": "alice-demo"}
_STATUS: StatusRequest = {"status": "away", "reason": "lunch"}
_TEXT: TextRequest = {"body": "Thanks for waiting: your refund is on its way."}
_COMPLETE: CompleteRequest = {"disposition": "resolved", "note": "Refunded the double charge"}
_TRANSFER: TransferRequest = {"queue": "sales", "note": "Wants a refund of a double charge"}
_START: StartRequest = {"channel": "email", "to": "jane@customer.test", "subject": "Your refund", "body": "Hello Jane"}
_WRAP_UP: WrapUpRequest = {"seconds": 60}
_HOLD: HoldRequest = {"on": True}
_CONSULT: ConsultRequest = {"agent_id": _ID}
_MONITOR: MonitorRequest = {"mode": "listen"}
_PRIORITY: PriorityRequest = {"priority": 10}
_OWN_PASSWORD: OwnPasswordRequest = {"current_password": "alice-demo", "new_password": "correct horse battery staple"}
_PASSWORD: PasswordRequest = {"password": "correct horse battery staple"}
_PROFILE: ProfileRequest = {"display_name": "Dave D.", "queues": ["support", {"queue": "sales", "priority": 2}]}
_NEW_AGENT: NewAgentRequest = {"username": "dave", "password": "correct horse battery staple", "skills": {"billing": 5}}
_CANNED: CannedRequest = {"shortcut": "thanks", "title": "Thanks", "body": "Thank you, {{customer.name}}!"}
_CANNED_CHANGE: CannedChangeRequest = {"title": "Thank you"}
_CUSTOMER_CHANGE: CustomerChangeRequest = {
    "display_name": "Jane Doe",
    "add_identities": [{"kind": "email", "value": "jane@customer.test"}],
}
_MERGE: MergeRequest = {"from": _ID}
_UNMERGE: UnmergeRequest = {"merge_id": 1}
_PARK: ParkRequest = {"note": "waiting for the customer's new address"}
_SNOOZE: SnoozeRequest = {"until": "2026-12-07T09:00:00+01:00", "note": "call the courier first"}
REQUEST_EXAMPLES: dict[object, object] = {
    LoginRequest: _LOGIN,
    StatusRequest: _STATUS,
    TextRequest: _TEXT,
    CompleteRequest: _COMPLETE,
    TransferRequest: _TRANSFER,
    StartRequest: _START,
    WrapUpRequest: _WRAP_UP,
    HoldRequest: _HOLD,
    ParkRequest: _PARK,
    SnoozeRequest: _SNOOZE,
    ConsultRequest: _CONSULT,
    MonitorRequest: _MONITOR,
    PriorityRequest: _PRIORITY,
    OwnPasswordRequest: _OWN_PASSWORD,
    PasswordRequest: _PASSWORD,
    ProfileRequest: _PROFILE,
    NewAgentRequest: _NEW_AGENT,
    CannedRequest: _CANNED,
    CannedChangeRequest: _CANNED_CHANGE,
    CustomerChangeRequest: _CUSTOMER_CHANGE,
    MergeRequest: _MERGE,
    UnmergeRequest: _UNMERGE,
}


# Query parameters, each sent as text (a number written out).


# The parts of an agent's work list, by the state their interactions are in.
WorkState = Literal["offered", "assigned", "parked", "completed"]


class WorkQuery(TypedDict, total=False):
    channel: Channel
    state: WorkState
    before: str  # a page's next_before
    limit: int  # 1-200, 50 by default


class CustomerQuery(TypedDict, total=False):
    limit: int  # 1-200, 20 by default: interactions in a page
    before: str  # a page's next_before


class AuditQuery(TypedDict, total=False):
    limit: int  # 1-200, 50 by default
    before: int  # an entry's id
    actor_id: str


class CannedQuery(TypedDict, total=False):
    q: str
    interaction_id: str


class CustomerSearchQuery(TypedDict, total=False):
    """Exactly one of them."""

    phone: str
    email: str
    external_id: str
    name: str


# --- Frames both sockets send ------------------------------------------------------------


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    message: str


def error_frame(code: str, message: str) -> ErrorFrame:
    return {"type": "error", "code": code, "message": message}


# --- The agents' WebSocket (GET /api/v1/ws) -----------------------------------------------


class LogPlace(TypedDict):
    """Where the event a frame was made of stands in the event log: its stream and number.
    A socket that reconnects names the last of each stream it saw, and gets what followed."""

    stream: Literal["interactions", "agents"]
    seq: int


class LogPositions(TypedDict):
    """How far the agents' pushes have gone in each stream: the frames of later events
    follow on this socket."""

    interactions: int
    agents: int


class HelloFrame(TypedDict):
    """The first frame: who the agent is and what is offered to them now; where the
    pushes stand (null until the service has read the log once); and whether the frames
    missed since the positions the socket was opened with follow (``resumed``), or are
    for the desk to read again."""

    type: Literal["hello"]
    agent: AgentBody
    offers: list[InteractionBody]
    log: LogPositions | None
    resumed: bool


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
    log: LogPlace


class OfferClosedFrame(TypedDict):
    type: Literal["offer_closed"]
    offer_id: str
    interaction_id: str
    reason: Literal["timeout", "revoked", "abandoned"]
    log: LogPlace


class StatusFrame(TypedDict):
    type: Literal["status"]
    status: str
    reason: str | None
    log: LogPlace


class NewMessageFrame(TypedDict):
    """A customer wrote on an interaction the agent holds."""

    type: Literal["message"]
    interaction_id: str
    message: MessageBody
    log: LogPlace


class CustomerTypingFrame(TypedDict):
    type: Literal["customer_typing"]
    interaction_id: str


class CustomerEndedFrame(TypedDict):
    """The chat visitor ended the chat, or the caller hung up the call, the agent holds:
    it is theirs to complete."""

    type: Literal["customer_ended"]
    interaction_id: str
    log: LogPlace


class MonitorFrame(TypedDict):
    """To the supervisor: they are on a call in ``mode`` (put on it, or their mode
    changed), or (null) their leg on it ended. The dashboard reads the agent's work
    again, which says so."""

    type: Literal["monitor"]
    interaction_id: str
    mode: MonitorMode | None
    log: LogPlace


class WorkTakenFrame(TypedDict):
    """An interaction the agent held is theirs no more, by someone else's hand: a
    supervisor took it over, or moved it to another queue or agent (``by``: who)."""

    type: Literal["work_taken"]
    interaction_id: str
    reason: Literal["taken_over", "transferred"]
    by: str | None
    log: LogPlace


class PositionFrame(TypedDict):
    """How far the pushes have gone: every frame of an event up to these was sent before
    this one. After a resumed hello's missed frames, and every few seconds."""

    type: Literal["position"]
    log: LogPositions


class PongFrame(TypedDict):
    type: Literal["pong"]


class FloorFrame(TypedDict):
    """A supervisor's view of the floor, whole: on subscribing, or resuming too late."""

    type: Literal["floor"]
    seq: int
    queues: list[QueueStatsBody]
    agents: list[FloorAgentBody]


class FloorChangesFrame(TypedDict):
    """What changed on the floor since frame ``seq - 1``: the queue rows and agents that
    did, and the agents no longer on it (deactivated)."""

    type: Literal["floor_changes"]
    seq: int
    queues: list[QueueStatsBody]
    agents: list[FloorAgentBody]
    removed_agents: list[str]


AgentFrame = (
    HelloFrame
    | OfferFrame
    | OfferClosedFrame
    | StatusFrame
    | NewMessageFrame
    | CustomerTypingFrame
    | CustomerEndedFrame
    | MonitorFrame
    | WorkTakenFrame
    | PositionFrame
    | PongFrame
    | ErrorFrame
    | FloorFrame
    | FloorChangesFrame
)


def offer_closed_frame(
    offer_id: str, interaction_id: str, reason: Literal["timeout", "revoked", "abandoned"], log: LogPlace
) -> OfferClosedFrame:
    return {
        "type": "offer_closed",
        "offer_id": offer_id,
        "interaction_id": interaction_id,
        "reason": reason,
        "log": log,
    }


def customer_typing_frame(interaction_id: str) -> CustomerTypingFrame:
    return {"type": "customer_typing", "interaction_id": interaction_id}


def customer_ended_frame(interaction_id: str, log: LogPlace) -> CustomerEndedFrame:
    return {"type": "customer_ended", "interaction_id": interaction_id, "log": log}


def monitor_frame(interaction_id: str, mode: MonitorMode | None, log: LogPlace) -> MonitorFrame:
    return {"type": "monitor", "interaction_id": interaction_id, "mode": mode, "log": log}


def work_taken_frame(
    interaction_id: str, reason: Literal["taken_over", "transferred"], by: str | None, log: LogPlace
) -> WorkTakenFrame:
    return {"type": "work_taken", "interaction_id": interaction_id, "reason": reason, "by": by, "log": log}


def position_frame(log: LogPositions) -> PositionFrame:
    return {"type": "position", "log": log}


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
class ChatFileBody(TypedDict):
    """A file the visitor sent, as their transcript shows it."""

    filename: str | None
    size: int


ChatLine = TypedDict(
    "ChatLine",
    {
        "message_id": str,
        "from": Literal["customer", "agent"],
        "client_id": str | None,
        "body": str,
        "files": list[ChatFileBody],
        "at": str,
    },
)


class ResumedFrame(TypedDict):
    """``rated``: the visitor rated the interaction already (a closed one unrated is worth
    asking about again after a reload)."""

    type: Literal["resumed"]
    interaction_id: str | None
    state: str | None
    agent_name: str | None
    rated: bool
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


class RatedFrame(TypedDict):
    """The visitor's rating of the interaction is recorded (its ``rated`` event)."""

    type: Literal["rated"]
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
    | RatedFrame
    | ErrorFrame
)


def started_frame(token: str) -> StartedFrame:
    return {"type": "started", "token": token, "interaction_id": None}


def resumed_frame(
    interaction_id: str | None, state: str | None, agent_name: str | None, rated: bool, messages: list[ChatLine]
) -> ResumedFrame:
    return {
        "type": "resumed",
        "interaction_id": interaction_id,
        "state": state,
        "agent_name": agent_name,
        "rated": rated,
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


def rated_frame(interaction_id: str) -> RatedFrame:
    return {"type": "rated", "interaction_id": interaction_id}
