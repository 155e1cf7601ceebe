"""Queues, agent availability, matching, offers, SLA timers and escalation.

The routing engine works on ids and attributes only: it imports nothing of the other
packages, so a backend can be swapped (in-memory here, or Redis: ``routing.redis``) without
touching them.
"""

from routing.backend import RoutingBackend
from routing.memory import MemoryRoutingBackend
from routing.types import (
    AgentProfile,
    AgentSnapshot,
    AgentState,
    EngineConfig,
    Enqueued,
    Escalated,
    EscalationStep,
    FiredClaim,
    Offer,
    OfferLapsed,
    OfferRevoked,
    PreferenceExpired,
    QueueEntry,
    QueueMembership,
    QueuePolicy,
    QueueStats,
    RoutingEvent,
    SlaBreached,
    Strategy,
    WrapUpEnded,
    skills_of,
)

__all__ = [
    "AgentProfile",
    "AgentSnapshot",
    "AgentState",
    "EngineConfig",
    "Enqueued",
    "Escalated",
    "EscalationStep",
    "FiredClaim",
    "MemoryRoutingBackend",
    "Offer",
    "OfferLapsed",
    "OfferRevoked",
    "PreferenceExpired",
    "QueueEntry",
    "QueueMembership",
    "QueuePolicy",
    "QueueStats",
    "RoutingBackend",
    "RoutingEvent",
    "SlaBreached",
    "Strategy",
    "WrapUpEnded",
    "skills_of",
]
