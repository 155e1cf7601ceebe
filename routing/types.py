"""Values the routing engine takes and returns; frozen so a backend can hand them out safely."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One waiting interaction. ``enqueued_at`` (epoch seconds) fixes its place for good:
    a re-queue after a reject, a timeout or a restart puts it back where it was."""

    interaction_id: str
    queue: str
    channel: str
    enqueued_at: float

    @property
    def order_key(self) -> tuple[float, str]:
        return (self.enqueued_at, self.interaction_id)


@dataclass(frozen=True, slots=True)
class AgentProfile:
    agent_id: str
    queues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str
    agent_id: str
    entry: QueueEntry
    expires_at: float

    @property
    def interaction_id(self) -> str:
        return self.entry.interaction_id


class OfferEnd(enum.StrEnum):
    """Why an open offer ended without an accept; each puts the entry back in its place."""

    REJECTED = "rejected"
    TIMED_OUT = "timed_out"
    REVOKED = "revoked"
