"""Values the routing engine takes and returns; frozen so a backend can hand them out safely."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

Skills = tuple[tuple[str, int], ...]  # (skill, level 1-10), sorted by name


def skills_of(mapping: dict[str, int]) -> Skills:
    return tuple(sorted(mapping.items()))


class Strategy(enum.StrEnum):
    """How a queue chooses among eligible agents."""

    LONGEST_IDLE = "longest_idle"
    MOST_SKILLED = "most_skilled"
    LEAST_OCCUPIED = "least_occupied"
    ROUND_ROBIN = "round_robin"


class AgentState(enum.StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    AWAY = "away"
    WRAP_UP = "wrap_up"


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """After ``after_seconds`` of waiting (or at an SLA breach, whichever comes first):
    raise the priority, lower every required skill level, and/or move to another queue."""

    after_seconds: float
    raise_priority: int = 0
    relax_skills: int = 0
    overflow_to: str | None = None


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    name: str
    channels: tuple[str, ...] = ()
    strategy: Strategy = Strategy.LONGEST_IDLE
    # Skills the strategy "most skilled" scores agents on.
    skills: tuple[str, ...] = ()
    escalation: tuple[EscalationStep, ...] = ()
    # Waiting entries beyond which an arrival is flagged (and refused for refusing channels).
    max_size: int | None = None
    # How long a returning customer's last agent is held out for before anyone may take it.
    preferred_agent_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class EngineConfig:
    queues: dict[str, QueuePolicy] = field(default_factory=dict)
    offer_timeouts: dict[str, float] = field(default_factory=dict)
    default_offer_timeout: float = 30.0
    # Offers an agent may let lapse in a row before being set away ("missed").
    max_missed_offers: int = 1
    # Channels whose arrivals are refused, not just flagged, when the queue is full.
    refuse_when_full: tuple[str, ...] = ("voice",)

    def offer_timeout(self, channel: str) -> float:
        return self.offer_timeouts.get(channel, self.default_offer_timeout)

    def policy(self, queue: str) -> QueuePolicy:
        return self.queues.get(queue) or QueuePolicy(queue)


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One waiting interaction. ``enqueued_at`` (epoch seconds) fixes its place for good:
    a re-queue after a reject, a timeout or a restart puts it back where it was."""

    interaction_id: str
    queue: str
    channel: str
    enqueued_at: float
    priority: int = 0
    skills: Skills = ()
    answer_deadline: float | None = None
    preferred_agent: str | None = None
    preferred_until: float = 0.0
    escalations_done: int = 0
    breached: bool = False
    # When the current queue's escalation steps started counting (its arrival in the
    # queue after an overflow); None: the enqueue time.
    escalation_base: float | None = None

    @property
    def order_key(self) -> tuple[int, float, str]:
        return (-self.priority, self.enqueued_at, self.interaction_id)

    @property
    def escalation_start(self) -> float:
        return self.enqueued_at if self.escalation_base is None else self.escalation_base


@dataclass(frozen=True, slots=True)
class QueueMembership:
    """A queue an agent serves (an Amazon Connect routing profile line): lower
    ``priority`` numbers are served first; ``delay_seconds`` is how long a contact must
    have waited before this agent is offered it."""

    queue: str
    priority: int = 1
    delay_seconds: float = 0.0


DEFAULT_CAPACITY: dict[str, int] = {"voice": 1, "chat": 3, "sms": 5, "email": 5}


@dataclass(frozen=True, slots=True)
class AgentProfile:
    agent_id: str
    queues: tuple[QueueMembership, ...]
    skills: Skills = ()
    capacity: tuple[tuple[str, int], ...] = tuple(sorted(DEFAULT_CAPACITY.items()))
    # Channels that take the whole agent: offered only when idle, and nothing beside them.
    exclusive: tuple[str, ...] = ("voice",)


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str
    agent_id: str
    entry: QueueEntry
    expires_at: float

    @property
    def interaction_id(self) -> str:
        return self.entry.interaction_id


class Enqueued(enum.StrEnum):
    ADDED = "added"
    DUPLICATE = "duplicate"
    # Over the queue's max_size: accepted and flagged...
    OVER_CAPACITY = "over_capacity"
    # ...or, for channels that cannot wait unboundedly (voice), refused.
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class OfferLapsed:
    offer: Offer
    # Set when the agent has now missed too many in a row and was made away.
    agent_set_away: bool


@dataclass(frozen=True, slots=True)
class OfferRevoked:
    """An open offer taken back because its agent stopped being routable (set away for
    missing others); its entry is back in its place."""

    offer: Offer


@dataclass(frozen=True, slots=True)
class SlaBreached:
    entry: QueueEntry


@dataclass(frozen=True, slots=True)
class Escalated:
    before: QueueEntry
    after: QueueEntry


@dataclass(frozen=True, slots=True)
class PreferenceExpired:
    entry: QueueEntry


@dataclass(frozen=True, slots=True)
class WrapUpEnded:
    agent_id: str


RoutingEvent = OfferLapsed | OfferRevoked | SlaBreached | Escalated | PreferenceExpired | WrapUpEnded


@dataclass(frozen=True, slots=True)
class FiredClaim:
    """A tick's events kept under its claim on a shared state, taken up by another caller."""

    claim: str
    fired_at: float  # the tick's now
    events: list[RoutingEvent]


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    agent_id: str
    state: AgentState
    reason: str | None
    idle_since: float
    holding: tuple[str, ...]
    missed_in_a_row: int
    # When its wrap-up ends (seconds since the epoch); 0.0 out of wrap-up.
    wrap_up_until: float


@dataclass(frozen=True, slots=True)
class QueueStats:
    """What waits in one queue and channel and who is there, as the engine holds it now."""

    queue: str
    channel: str
    waiting: int
    longest_wait_seconds: float
    agents: dict[str, int]
    occupancy: float | None
