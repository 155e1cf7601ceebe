"""What a read gives of a row, field by field: an ORM object (``storage.models``) or a
plain row of the same table's columns, which read alike.

The desk's reads (an agent's work list, a customer's timeline, a search) return plain
rows: loaded as ORM objects, a timeline page of some 250 rows spent most of its time in
the ORM's identity map and instance state, none of which a read that changes nothing
needs. What is made of rows (``interaction_center.wire``) takes either, by these.

The times of the interactions, messages and events a desk read gives are their ISO text
(storage.models.UTCText), which is all the wire makes of them: a page of a customer's
timeline holds some 3,000, and parsing each to format it again took more time than
anything else made of its rows. An ORM object's are datetimes; both read as a Stamp."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

# A time: a datetime, or its ``isoformat()`` text as a desk read gives it.
Stamp = datetime | str


def fields(row: type) -> set[str]:
    """The names a row's protocol declares, attributes and properties alike."""
    return set(row.__annotations__) | {name for name, value in vars(row).items() if isinstance(value, property)}


class InteractionFields(Protocol):
    id: str
    customer_id: str
    channel: str
    state: str
    queue: str
    priority: int
    assigned_agent_id: str | None
    offer_id: str | None
    offered_agent_id: str | None
    disposition: str | None
    transfer_note: str | None

    # Read-only: a property typed Stamp takes an ORM object's datetime and a row's text
    # alike, where an attribute would have to be one of them exactly.
    @property
    def enqueued_at(self) -> Stamp | None: ...
    @property
    def answer_deadline(self) -> Stamp | None: ...
    @property
    def offer_expires_at(self) -> Stamp | None: ...
    @property
    def parked_until(self) -> Stamp | None: ...
    @property
    def created_at(self) -> Stamp: ...
    @property
    def closed_at(self) -> Stamp | None: ...


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
    error: str | None
    author_agent_id: str | None
    attributes: dict[str, Any]

    @property
    def status_updated_at(self) -> Stamp | None: ...
    @property
    def created_at(self) -> Stamp: ...


class EventFields(Protocol):
    id: int
    interaction_id: str
    type: str
    actor_kind: str
    actor_id: str | None
    data: dict[str, Any]

    @property
    def created_at(self) -> Stamp: ...


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
