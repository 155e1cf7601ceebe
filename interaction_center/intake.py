"""Inbound contacts become interactions: customer resolved, thread continued or opened,
everything committed before the channel acknowledges the sender."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interaction_center import serialize
from interaction_center.dispatcher import Dispatcher
from interaction_center.errors import InvalidInput
from interaction_center.model import SYSTEM, Actor, ActorKind, Channel, Direction, InboundContact, InteractionState
from interaction_center.notifier import AgentHub
from interaction_center.settings import Settings
from storage import customers
from storage import interactions as store
from storage.models import Interaction, Message, new_id, utcnow

log = logging.getLogger(__name__)

# Delivery states in the order they happen; the final ones share the last rank.
_DELIVERY_RANK = {
    "accepted": 1, "scheduled": 1, "queued": 2, "sending": 3, "sent": 4,
    "delivered": 5, "undelivered": 5, "failed": 5, "canceled": 5, "read": 6,
}  # fmt: skip

# Identity and open-thread races surface as unique-key violations; a fresh transaction
# then finds the row the other writer committed.
_ATTEMPTS = 3


@dataclass(frozen=True)
class IntakeResult:
    interaction_id: str
    message_id: str
    created: bool
    duplicate: bool
    # An automated contact that continued nothing: kept on a closed interaction, never routed.
    filed: bool = False


class Intake:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], dispatcher: Dispatcher, hub: AgentHub, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._dispatcher = dispatcher
        self._hub = hub
        self._settings = settings

    async def receive(self, contact: InboundContact, queue: str) -> IntakeResult:
        if queue not in self._settings.queues:
            raise InvalidInput(f"no queue named {queue!r}", code="queue.unknown")
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                result, interaction, message = await self._store(contact, queue)
                break
            except IntegrityError:
                if attempt == _ATTEMPTS:
                    raise
                log.info("contact %s: write raced another, retrying", contact.external_id)
        if result.duplicate:
            log.info("interaction %s: duplicate contact %s ignored", result.interaction_id, contact.external_id)
            return result
        log.info(
            "interaction %s: %s contact %s stored (%s)",
            result.interaction_id,
            contact.channel,
            contact.external_id,
            "new" if result.created else "filed" if result.filed else "continued",
        )
        if result.created:
            await self._dispatcher.enqueue(interaction)
        elif interaction.assigned_agent_id is not None:
            frame = {"type": "message", "interaction_id": interaction.id, "message": serialize.message(message)}
            await self._hub.push(interaction.assigned_agent_id, frame)
        return result

    async def _store(self, contact: InboundContact, queue: str) -> tuple[IntakeResult, Interaction, Message]:
        async with self._sessions.begin() as session:
            seen = await store.find_message(session, contact.channel, contact.external_id)
            if seen is not None:
                original = await store.get(session, seen.interaction_id)
                return IntakeResult(seen.interaction_id, seen.id, created=False, duplicate=True), original, seen
            customer = await customers.resolve(session, contact.identity_kind, contact.from_address)
            actor = Actor(ActorKind.CUSTOMER, customer.id)
            interaction = await self._continued(session, contact)
            created = filed = False
            if interaction is None and contact.automated:
                interaction, filed = await self._file(session, contact, queue, customer.id, actor), True
            elif interaction is None:
                interaction, created = await self._open(session, contact, queue, customer.id, actor), True
            message = Message(
                id=new_id(),
                interaction_id=interaction.id,
                channel=contact.channel,
                direction=Direction.INBOUND,
                external_id=contact.external_id,
                from_address=contact.from_address,
                to_address=contact.to_address,
                body=contact.body,
                status="received",
                attributes=contact.attributes,
            )
            session.add(message)
            store.record_event(session, interaction.id, "message_received", actor, {"message_id": message.id})
            if contact.opt_out is not None:
                await self._record_opt_out(session, contact, interaction.id, actor)
            for kind, value in contact.linked_identities:
                holder = await customers.link(session, customer.id, kind, value)
                if holder is not None:
                    # Left for a person to merge: the two records may be two people.
                    data = {"kind": kind, "value": value, "customer_id": holder}
                    store.record_event(session, interaction.id, "identity_conflict", actor, data)
        result = IntakeResult(interaction.id, message.id, created=created, duplicate=False, filed=filed)
        return result, interaction, message

    @staticmethod
    async def _continued(session: AsyncSession, contact: InboundContact) -> Interaction | None:
        """The open interaction this contact continues: its own thread, a thread it names,
        or the interaction of a message it answers."""
        for key in (contact.thread_key, *contact.thread_hints):
            found = await store.find_open(session, key)
            if found is not None:
                return found
        return await store.open_holding(session, contact.channel, contact.replies_to)

    async def _file(
        self, session: AsyncSession, contact: InboundContact, queue: str, customer_id: str, actor: Actor
    ) -> Interaction:
        """An auto-reply or bounce that continues nothing is kept on the customer's record
        (closed at once, so it is never offered) instead of starting a conversation that
        could answer a machine, which might answer back."""
        interaction = _created(session, contact, queue, customer_id, actor, utcnow())
        store.transition(session, interaction, InteractionState.CANCELLED, SYSTEM, "filed", {"reason": "automated"})
        return interaction

    async def delivery(self, channel: Channel, external_id: str, status: str, error: str | None) -> None:
        """A delivery report for a message we sent. Reports can arrive out of order, so a
        status never moves back (a late "sent" does not undo "delivered"); unknown ids
        are logged and dropped, as the sender cannot do better with them."""
        async with self._sessions.begin() as session:
            message = await store.find_message(session, channel, external_id)
            if message is None or message.direction != Direction.OUTBOUND:
                log.info("delivery report for unknown message %s ignored", external_id)
                return
            if _DELIVERY_RANK.get(status, 0) < _DELIVERY_RANK.get(message.status, 0) or status == message.status:
                return
            message.status, message.status_updated_at = status, utcnow()
            if error is not None:
                message.error = f"{channel} error {error}"
            data = {"message_id": message.id, "status": status, **({"error_code": error} if error else {})}
            store.record_event(session, message.interaction_id, "message_status", SYSTEM, data)

    async def _record_opt_out(
        self, session: AsyncSession, contact: InboundContact, interaction_id: str, actor: Actor
    ) -> None:
        identity = await customers.identity(session, contact.identity_kind, contact.from_address)
        if identity is not None:
            identity.opted_out_at = utcnow() if contact.opt_out else None
        store.record_event(session, interaction_id, "opted_out" if contact.opt_out else "opted_in", actor)

    async def _open(
        self, session: AsyncSession, contact: InboundContact, queue: str, customer_id: str, actor: Actor
    ) -> Interaction:
        now = utcnow()
        settings = self._settings.queues[queue]
        target = settings.sla.get(contact.channel)
        first_response = None if target is None else target.first_response_seconds
        # A returning customer's last agent gets the first chance for a while.
        preferred = None
        if settings.preferred_agent_seconds > 0:
            since = now - timedelta(hours=self._settings.routing.returning_customer_hours)
            preferred = await store.last_agent_of(session, customer_id, since)
        interaction = _created(
            session,
            contact,
            queue,
            customer_id,
            actor,
            now,
            enqueued_at=now,
            priority=settings.priority,
            required_skills=dict(settings.skills),
            answer_deadline=None if target is None else now + timedelta(seconds=target.answer_seconds),
            first_response_deadline=None if first_response is None else now + timedelta(seconds=first_response),
            preferred_agent_id=preferred,
            preferred_until=None if preferred is None else now + timedelta(seconds=settings.preferred_agent_seconds),
        )
        deadline = interaction.answer_deadline
        store.transition(
            session,
            interaction,
            InteractionState.QUEUED,
            SYSTEM,
            "queued",
            {"queue": queue, "answer_deadline": None if deadline is None else deadline.isoformat()},
        )
        return interaction


def _created(
    session: AsyncSession,
    contact: InboundContact,
    queue: str,
    customer_id: str,
    actor: Actor,
    now: datetime,
    **routing: Any,
) -> Interaction:
    """A new interaction for the contact's thread, with its "created" event; ``routing``
    holds what queueing it needs (deadlines, priority, skills)."""
    interaction = Interaction(
        id=new_id(),
        customer_id=customer_id,
        channel=contact.channel,
        state=InteractionState.NEW,
        queue=queue,
        thread_key=contact.thread_key,
        created_at=now,
        updated_at=now,
        **routing,
    )
    session.add(interaction)
    store.record_event(session, interaction.id, "created", actor, {"channel": contact.channel})
    return interaction
