"""One transaction for a batch of inbound contacts: who each is from, which open thread it
continues or which interaction it opens, and the rows that record it.

The batch is decided in arrival order, as if its contacts had come one after another: a
second contact of a thread opened earlier in the same batch continues it, a message id
seen earlier in the batch is a duplicate."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from interaction_center.domain.model import SYSTEM, Actor, ActorKind, Direction, InboundContact, InteractionState
from interaction_center.domain.stamps import new_id
from interaction_center.intake.parked import CUSTOMER_ANSWERED, returned
from interaction_center.intake.waiting import NOT_WAITING, queued_data, waiting_values
from interaction_center.settings.model import Settings
from storage import attachments
from storage import intake_rows as rows
from storage.intake_rows import OpenThread
from storage.interactions import event_row, transition_data, transition_values


@dataclass(frozen=True)
class IntakeResult:
    interaction_id: str
    message_id: str
    created: bool
    duplicate: bool
    # An automated contact that continued nothing: kept on a closed interaction, never routed.
    filed: bool = False


@dataclass(frozen=True)
class Stored:
    """One contact's outcome, and what is left to do once it is committed."""

    result: IntakeResult
    # Whether the message continues an interaction an agent holds: the agents' pushes are
    # woken for it once it is committed (dispatch/pushes.py).
    held: bool = False


@dataclass
class _Rows:
    # New customers: (id, identity kind, identity value, display name).
    customers: list[tuple[str, str, str, str]] = field(default_factory=list)
    # Identities given alongside a contact, for its customer: (customer id, kind, value).
    links: list[tuple[str, str, str]] = field(default_factory=list)
    # Opt-out keywords in arrival order: (kind, value, when opted out or None for back in).
    opt_outs: list[tuple[str, str, datetime | None]] = field(default_factory=list)
    interactions: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)


def write(
    conn: Connection,
    items: Sequence[tuple[InboundContact, str]],
    settings: Settings,
    now: datetime,
    *,
    events: list[dict[str, Any]] | None = None,
) -> list[Stored]:
    """``events``: where the batch's events go instead of being inserted, for a caller that
    inserts them with its own in the same transaction (the log numbered once for both)."""
    batch = _Batch(conn, items, settings, now)
    # A microsecond apart, in arrival order: messages of one thread keep their order, and
    # contacts queued together keep theirs.
    stored = [batch.take(contact, queue, now + timedelta(microseconds=n)) for n, (contact, queue) in enumerate(items)]
    out = batch.out
    rows.add_customers(conn, out.customers, now)
    rows.add_identities(conn, out.links, now)
    for kind, value, when in out.opt_outs:
        rows.set_opted_out(conn, kind, value, when)
    if events is None:
        rows.insert_all(conn, out.interactions, out.messages, out.events, out.files)
    else:
        rows.insert_all(conn, out.interactions, out.messages, (), out.files)
        events.extend(out.events)
    return stored


class _Batch:
    """What the batch knows so far: stored messages, customers by identity, open threads,
    each updated as its contacts are taken in order."""

    def __init__(
        self, conn: Connection, items: Sequence[tuple[InboundContact, str]], settings: Settings, now: datetime
    ) -> None:
        self.conn = conn
        self.settings = settings
        self.out = _Rows()
        self.seen = _seen(conn, items)
        self.customers = _customers(conn, items)
        self.new_customers: set[str] = set()
        self.threads = rows.open_threads(conn, {key for contact, _ in items for key in _thread_keys(contact)})
        # Messages taken in this batch, by (channel, external id): what a reply in the same
        # batch continues, as open_holding finds it for earlier batches.
        self.held: dict[tuple[str, str], OpenThread] = {}
        self.last_agents = _last_agents(conn, items, self.customers, settings, now)
        # Parked interactions this batch's contacts brought back to routing.
        self.returned: set[str] = set()

    def take(self, contact: InboundContact, queue: str, at: datetime) -> Stored:
        earlier = self.seen.get((contact.channel, contact.external_id))
        if earlier is not None:
            return Stored(earlier)
        customer_id = self._customer(contact)
        actor = Actor(ActorKind.CUSTOMER, customer_id)
        thread = self._thread(contact)
        opened = False
        if thread is None:
            row = _opened(contact, queue, customer_id, self.last_agents.get(customer_id), self.settings, at, self.out)
            if not contact.verified and customer_id not in self.new_customers:
                # Known before this contact, and only claimed by it: the agent verifies the person.
                data = {"kind": contact.identity_kind, "value": contact.from_address}
                self.out.events.append(event_row(row["id"], "unverified_identity", actor, data, at))
            if contact.routable:
                opened = True
                thread = self.threads[contact.thread_key] = OpenThread(
                    row["id"], None, row["state"], 1, row["queue"], contact.channel
                )
            interaction_id = row["id"]
        else:
            interaction_id = thread.interaction_id
        message = _message(contact, interaction_id, customer_id, at, self.out)
        self._change_identities(contact, interaction_id, customer_id, actor, at)
        if thread is not None:
            self.held[(contact.channel, contact.external_id)] = thread
            self._bring_back(contact, thread, actor, at)
        self.seen[(contact.channel, contact.external_id)] = IntakeResult(
            interaction_id, message["id"], created=False, duplicate=True
        )
        result = IntakeResult(interaction_id, message["id"], created=opened, duplicate=False, filed=thread is None)
        held = (
            thread is not None
            and not opened
            and thread.assigned_agent_id is not None
            and interaction_id not in self.returned
        )
        return Stored(result, held)

    def _bring_back(self, contact: InboundContact, thread: OpenThread, actor: Actor, at: datetime) -> None:
        """The customer answered a parked interaction: it is queued again, for its agent
        first. An auto-reply or a keyword (an out-of-office, STOP) is no answer."""
        if thread.state != InteractionState.PARKED or not contact.routable or thread.interaction_id in self.returned:
            return
        event = returned(self.conn, thread, self.settings, CUSTOMER_ANSWERED, actor, at)
        if event is not None:
            self.returned.add(thread.interaction_id)
            self.out.events.append(event)

    def _customer(self, contact: InboundContact) -> str:
        identity = (contact.identity_kind, contact.from_address)
        if identity not in self.customers:
            customer_id = self.customers[identity] = new_id()
            self.new_customers.add(customer_id)
            self.out.customers.append((customer_id, *identity, contact.sender_name or contact.from_address))
        return self.customers[identity]

    def _thread(self, contact: InboundContact) -> OpenThread | None:
        """The open interaction this contact continues: its own thread, a thread it names,
        or the interaction of a message it answers (this batch's first, the newest)."""
        thread = next((self.threads[key] for key in _thread_keys(contact) if key in self.threads), None)
        if thread is None and contact.replies_to:
            answered = (self.held.get((contact.channel, external_id)) for external_id in contact.replies_to)
            thread = next((t for t in answered if t is not None), None)
            if thread is None:
                thread = rows.open_holding(self.conn, contact.channel, contact.replies_to)
        return thread

    def _change_identities(
        self, contact: InboundContact, interaction_id: str, customer_id: str, actor: Actor, at: datetime
    ) -> None:
        """Opt-out keywords and identities given together, in arrival order: a later
        contact of the batch from a linked identity finds this customer."""
        if contact.opt_out is not None:
            when = at if contact.opt_out else None
            self.out.opt_outs.append((contact.identity_kind, contact.from_address, when))
            event = "opted_out" if contact.opt_out else "opted_in"
            self.out.events.append(event_row(interaction_id, event, actor, None, at))
        for kind, value in contact.linked_identities:
            holder = self.customers.get((kind, value))
            if holder is None:
                self.customers[(kind, value)] = customer_id
                self.out.links.append((customer_id, kind, value))
            elif holder != customer_id:
                # Left for a person to merge: the two records may be two people.
                data = {"kind": kind, "value": value, "customer_id": holder}
                self.out.events.append(event_row(interaction_id, "identity_conflict", actor, data, at))


def _thread_keys(contact: InboundContact) -> tuple[str, ...]:
    """Where an open interaction for this contact is looked for, in order: its own thread,
    then threads it names."""
    return (contact.thread_key, *contact.thread_hints)


def _seen(conn: Connection, items: Sequence[tuple[InboundContact, str]]) -> dict[tuple[str, str], IntakeResult]:
    by_channel: dict[str, set[str]] = defaultdict(set)
    for contact, _ in items:
        by_channel[contact.channel].add(contact.external_id)
    seen = {}
    for channel, external_ids in by_channel.items():
        for external_id, (message_id, interaction_id) in rows.known_messages(conn, channel, external_ids).items():
            seen[(channel, external_id)] = IntakeResult(interaction_id, message_id, created=False, duplicate=True)
    return seen


def _customers(conn: Connection, items: Sequence[tuple[InboundContact, str]]) -> dict[tuple[str, str], str]:
    """Who holds each identity the contacts come from or give."""
    by_kind: dict[str, set[str]] = defaultdict(set)
    for contact, _ in items:
        for kind, value in ((contact.identity_kind, contact.from_address), *contact.linked_identities):
            by_kind[kind].add(value)
    return {
        (kind, value): customer_id
        for kind, values in by_kind.items()
        for value, customer_id in rows.owners(conn, kind, values).items()
    }


def _last_agents(
    conn: Connection,
    items: Sequence[tuple[InboundContact, str]],
    customers: dict[tuple[str, str], str],
    settings: Settings,
    now: datetime,
) -> dict[str, str]:
    """Returning customers' last agents, for queues that offer a customer to them first."""
    returning = {
        customers[identity]
        for contact, queue in items
        if not contact.held
        and settings.queues[queue].preferred_agent_seconds > 0
        and (identity := (contact.identity_kind, contact.from_address)) in customers
    }
    since = now - timedelta(hours=settings.routing.returning_customer_hours)
    return rows.last_agents(conn, returning, since)


def _opened(
    contact: InboundContact,
    queue: str,
    customer_id: str,
    last_agent: str | None,
    settings: Settings,
    now: datetime,
    out: _Rows,
) -> dict[str, Any]:
    """A new interaction for the contact's thread, queued with its deadlines; or, for an
    auto-reply or bounce, filed: kept on the customer's record, closed at once so it is
    never offered, instead of starting a conversation that could answer a machine, which
    might answer back. A keyword (SMS STOP) that continues no conversation is filed the
    same way: it is an instruction, not a contact for an agent. A held contact (a call in
    its IVR) opens an interaction that stays new until its channel queues it."""
    routed = contact.routable and not contact.held
    row: dict[str, Any] = {
        "id": new_id(),
        "customer_id": customer_id,
        "channel": contact.channel,
        # A held contact waits in no queue until its channel queues it.
        "queue": "" if contact.held else queue,
        "thread_key": contact.thread_key,
        "created_at": now,
        "closed_at": None,
        **(waiting_values(queue, settings.queues[queue], contact.channel, now, last_agent) if routed else NOT_WAITING),
    }
    actor = Actor(ActorKind.CUSTOMER, customer_id)
    out.events.append(event_row(row["id"], "created", actor, {"channel": contact.channel}, now))
    out.interactions.append(row)
    if contact.held:
        row |= {"state": InteractionState.NEW, "updated_at": now}
        return row
    target_state = InteractionState.QUEUED if routed else InteractionState.CANCELLED
    row |= transition_values(InteractionState.NEW, target_state, now)
    if routed:
        data = transition_data(InteractionState.NEW, target_state, queued_data(row))
        out.events.append(event_row(row["id"], "queued", SYSTEM, data, now))
    else:
        reason = "automated" if contact.automated else "keyword"
        data = transition_data(InteractionState.NEW, target_state, {"reason": reason})
        out.events.append(event_row(row["id"], "filed", SYSTEM, data, now))
    return row


def _message(
    contact: InboundContact, interaction_id: str, customer_id: str, now: datetime, out: _Rows
) -> dict[str, Any]:
    message_id = new_id()
    row: dict[str, Any] = {
        "id": message_id,
        "interaction_id": interaction_id,
        "channel": contact.channel,
        "direction": Direction.INBOUND,
        "external_id": contact.external_id,
        "from_address": contact.from_address,
        "to_address": contact.to_address,
        "body": contact.body,
        "status": "received",
        "attributes": contact.attributes,
        "created_at": now,
    }
    if contact.files:
        made, named = attachments.rows(contact.files, message_id, interaction_id, now)
        row["attributes"] = {**contact.attributes, "attachments": named}
        out.files += made
    out.messages.append(row)
    actor = Actor(ActorKind.CUSTOMER, customer_id)
    out.events.append(event_row(interaction_id, "message_received", actor, {"message_id": row["id"]}, now))
    return row
