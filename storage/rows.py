"""What a read gives of a row, field by field: an ORM object (``storage.models``) or a
plain row of the same table's columns, which read alike.

The desk's reads (an agent's work list, a customer's timeline, a search) return plain
rows: loaded as ORM objects, a timeline page of some 250 rows spent most of its time in
the ORM's identity map and instance state, none of which a read that changes nothing
needs. What is made of rows (``interaction_center.wire``) takes either, by these."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class InteractionFields(Protocol):
    id: str
    customer_id: str
    channel: str
    state: str
    queue: str
    priority: int
    enqueued_at: datetime | None
    answer_deadline: datetime | None
    assigned_agent_id: str | None
    offer_id: str | None
    offered_agent_id: str | None
    offer_expires_at: datetime | None
    disposition: str | None
    transfer_note: str | None
    parked_until: datetime | None
    created_at: datetime
    closed_at: datetime | None


class MessageFields(Protocol):
    id: str
    interaction_id: str
    channel: str
    direction: str
    external_id: str | None
    from_address: str
    to_address: str
    body: str
    status: str
    status_updated_at: datetime | None
    error: str | None
    author_agent_id: str | None
    attributes: dict[str, Any]
    created_at: datetime


class EventFields(Protocol):
    id: int
    interaction_id: str
    type: str
    actor_kind: str
    actor_id: str | None
    data: dict[str, Any]
    # Its ISO text (storage.models.UTCText): the interactions' events are read as rows
    # alone, and only ever written out.
    created_at: str


class CustomerFields(Protocol):
    id: str
    display_name: str
    merged_into: str | None
    created_at: datetime


class IdentityFields(Protocol):
    id: int
    customer_id: str
    kind: str
    value: str
    opted_out_at: datetime | None


class MergeFields(Protocol):
    id: int
    from_id: str
    merged_by: str
    merged_at: datetime
    unmerged_at: datetime | None
