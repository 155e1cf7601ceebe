"""What an agent does with an interaction once it is theirs, and what agents and
supervisors may read: interactions, customers (the 360° view), open offers."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import get_args

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.chat.service import MAX_MESSAGE_CHARS as MAX_CHAT_CHARS
from channels.email.threads import threaded
from interaction_center import wire as serialize
from interaction_center.desk.access import check_may_read, may_read
from interaction_center.dispatch.dispatcher import Dispatcher, agent_actor, queued_values
from interaction_center.domain.errors import ChannelError, Conflict, InvalidInput, NotFound, StaleState
from interaction_center.domain.model import (
    Actor,
    Attachment,
    Channel,
    Direction,
    IdentityKind,
    InteractionState,
    OutboundMessage,
    OutboundSender,
)
from interaction_center.domain.stamps import new_id, utcnow
from interaction_center.domain.wire import (
    CustomerBody,
    DispositionsBody,
    InteractionBody,
    MessageBody,
    WorkBody,
    WorkState,
)
from interaction_center.settings.model import Settings
from interaction_center.wire import page_cursor
from routing import QueueEntry, skills_of
from storage import agents as agent_store
from storage import assignments, customer_records, customers
from storage import attachments as kept
from storage import interactions as store
from storage import work as work_store
from storage.models import Agent, Interaction, Message
from storage.reader import Reader, in_session
from storage.rows import InteractionFields
from storage.work import WorkRow
from storage.writer import Writer

log = logging.getLogger(__name__)

# The longest reply each channel takes: Twilio's limit for one SMS body; as much in a chat
# as a visitor may write; for email about ten pages, a mail a person still reads.
MAX_REPLY_CHARS: Mapping[Channel, int] = {Channel.SMS: 1600, Channel.CHAT: MAX_CHAT_CHARS, Channel.EMAIL: 20_000}
# A note's length: an internal note, a transfer's, a wrap-up's; a few paragraphs.
MAX_NOTE_CHARS = 5000
# A customer's interactions a timeline page shows unless asked otherwise: what an agent
# reads on opening a customer (the rest is a page away).
TIMELINE_PAGE = 20
# The parts of an agent's work list, as GET /api/v1/work declares them.
WORK_STATES: tuple[WorkState, ...] = get_args(WorkState)

# Told of each interaction an agent accepts (web chat tells its visitor who took it; a
# call is put through to the agent) or completes (web chat tells its visitor the chat ended).
AcceptedListener = Callable[[Interaction, Agent], Awaitable[None]]
CompletedListener = Callable[[Interaction], Awaitable[None]]
# Told of an interaction about to be transferred, before routing has it (a call's caller
# leaves their agent's conference to wait again); raising refuses the transfer.
TransferringListener = Callable[[Interaction], Awaitable[None]]


class AgentWork:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        reader: Reader,
        dispatcher: Dispatcher,
        writer: Writer,
        senders: Mapping[Channel, OutboundSender],
        settings: Settings,
        on_accepted: Sequence[AcceptedListener] = (),
        on_completed: CompletedListener | None = None,
        on_transferring: TransferringListener | None = None,
    ) -> None:
        self._sessions = sessions
        # What only reads (a record, a list) reads plain rows through the Reader.
        self._reader = reader
        self._dispatcher = dispatcher
        self._writer = writer
        self._senders = senders
        self._settings = settings
        self._on_accepted = on_accepted
        self._on_completed = on_completed
        self._on_transferring = on_transferring

    async def interaction(self, agent: Agent, interaction_id: str) -> InteractionBody:
        def read(conn: Connection) -> InteractionBody:
            row = store.interaction_row(conn, interaction_id)
            may_read(conn, agent, interaction_id=row.id)
            return _detail(conn, row)

        return await self._reader.run(read)

    async def attachment(self, agent: Agent, attachment_id: str) -> kept.StoredFile:
        """A file a message carried, for whoever may read its interaction."""

        def read(conn: Connection) -> kept.StoredFile:
            found = kept.stored(conn, attachment_id)
            if found is None:
                raise NotFound(f"no attachment {attachment_id}", code="attachment.not_found")
            may_read(conn, agent, interaction_id=found.interaction_id)
            return found

        return await self._reader.run(read)

    async def customer(
        self, agent: Agent, customer_id: str, before: str | None = None, limit: int = TIMELINE_PAGE
    ) -> CustomerBody:
        """The customer's record: profile, identities, merges, and their interactions newest
        first with messages and events, ``limit`` a page, ``before`` the ``next_before``
        of the page before."""
        cursor = _cursor(before)

        def read(conn: Connection) -> CustomerBody:
            row = customer_records.customer_row(conn, customer_id)
            if row is None:
                raise NotFound(f"no customer {customer_id}", code="customer.not_found")
            may_read(conn, agent, customer_id=row.id)
            interactions = store.for_customer(conn, row.id, cursor, limit)
            ids = [i.id for i in interactions]
            last = interactions[-1] if len(interactions) == limit else None
            return serialize.customer(
                row,
                customer_records.identities_of(conn, [row.id]),
                interactions,
                store.messages(conn, ids),
                store.events(conn, ids),
                customer_records.merges_into(conn, row.id),
                None if last is None else page_cursor(last.created_at, last.id),
            )

        return await self._reader.run(read)

    async def offers(self, agent: Agent) -> list[InteractionBody]:
        """The agent's open offers with their messages and events, so the contact can be
        read before it is accepted (what a caller chose in the IVR is in the events)."""

        def read(conn: Connection) -> list[InteractionBody]:
            rows = store.offered_to(conn, agent.id)
            ids = [row.id for row in rows]
            return serialize.interactions_of(rows, store.messages(conn, ids), store.events(conn, ids))

        return await self._reader.run(read)

    async def accept(self, agent: Agent, offer_id: str) -> InteractionBody:
        interaction_id = await self._dispatcher.accept(agent.id, offer_id)
        # Theirs now: no need to ask whether they may read it.
        async with self._sessions() as session:
            interaction = await store.get(session, interaction_id)
            detail = await in_session(session, lambda conn: _detail(conn, interaction))
        for listener in self._on_accepted:
            await listener(interaction, agent)
        return detail

    async def reply(
        self, agent: Agent, interaction_id: str, body: str, attachments: tuple[Attachment, ...] = ()
    ) -> MessageBody:
        """A message to the customer on the interaction's channel; ``attachments`` go by
        email only."""
        # The message is on record before it leaves, so a crash mid-send still shows it.
        async with self._sessions.begin() as session:
            interaction = await self._held(session, agent, interaction_id)
            channel = Channel(interaction.channel)
            sender = self.sender_for(channel, body)
            if attachments and channel != Channel.EMAIL:
                raise InvalidInput(
                    f"files go by email only; this is a {channel} conversation", code="message.attachments_email_only"
                )
            rows = await in_session(session, lambda conn: store.messages(conn, [interaction.id]))
            inbound = store.first_inbound(rows)
            # A conversation the agent started has no customer message yet: its first says who.
            started = next((row for row in rows if row.direction == Direction.OUTBOUND), None)
            if inbound is not None:
                customer, ours = inbound.from_address, inbound.to_address
            elif started is not None:
                customer, ours = started.to_address, started.from_address
            else:
                raise Conflict("the interaction has no message saying whom to write", code="message.no_recipient")
            if interaction.channel == Channel.SMS:
                await check_not_opted_out(session, customer)
            email = interaction.channel == Channel.EMAIL
            message_id = new_id()
            files, named = kept.rows(attachments, message_id, interaction.id, utcnow())
            message = Message(
                id=message_id,
                interaction_id=interaction.id,
                channel=interaction.channel,
                direction=Direction.OUTBOUND,
                # Email answers from our one configured address, whichever of ours was written to.
                from_address=self._settings.smtp.from_address if email else ours,
                to_address=customer,
                body=body,
                status="sending",
                author_agent_id=agent.id,
                attributes={"attachments": named} if attachments else {},
            )
            session.add(message)
            if files:
                # The message's row first: the files' rows name it.
                await session.flush()
                await in_session(session, lambda conn: kept.add(conn, files))
        outbound = OutboundMessage(
            interaction.id,
            message.to_address,
            message.from_address,
            body,
            subject=str(started.attributes.get("subject", "")) if inbound is None and started is not None else "",
            thread_key=interaction.thread_key,
            message_id=message.id,
            attachments=attachments,
        )
        if email and inbound is not None:
            outbound = threaded(outbound, rows, interaction.thread_key)
        return await self.deliver(agent, sender, message, outbound)

    def sender_for(self, channel: Channel, body: str) -> OutboundSender:
        """The channel's sender, for a message it takes."""
        if not body.strip():
            raise InvalidInput("a message needs a body", code="message.empty")
        sender = self._senders.get(channel)
        if sender is None:
            # Nothing was tried upstream: this service is not set up to send by it (as a
            # call without a Twilio account is voice.not_configured), not a gateway failing.
            raise Conflict(f"the {channel} channel cannot send", code="channel.not_configured")
        limit = MAX_REPLY_CHARS.get(channel)
        if limit is not None and len(body) > limit:
            raise InvalidInput(
                f"a message by {channel} is at most {limit} characters; this one has {len(body)}",
                code="message.too_long",
            )
        return sender

    async def deliver(
        self, agent: Agent, sender: OutboundSender, message: Message, outbound: OutboundMessage
    ) -> MessageBody:
        """Send the stored ``message`` as ``outbound``; its fate recorded either way."""
        try:
            sent = await sender.send(outbound)
        except ChannelError as exc:
            await self._settle(message, agent, status="failed", error=exc.message, external_id=None)
            log.warning("interaction %s: message failed: %s", message.interaction_id, exc.message)
            raise
        await self._settle(message, agent, status=sent.status, error=None, external_id=sent.external_id)
        log.info("interaction %s: message %s sent", message.interaction_id, sent.external_id)
        return serialize.message(message)

    async def complete(self, agent: Agent, interaction_id: str, code: str, note: str | None) -> InteractionBody:
        """Completed with one of its queue's disposition codes and, where the code asks for
        one (or the agent gives one), a wrap-up note; after-contact work follows."""
        async with self._sessions() as session:
            held = await self._held(session, agent, interaction_id)
        allowed = self._settings.dispositions_of(held.queue)
        disposition = next((d for d in allowed if d.code == code), None)
        if disposition is None:
            raise InvalidInput(
                f"{code!r} is not a disposition of queue {held.queue}: one of {', '.join(d.code for d in allowed)}",
                code="disposition.unknown",
            )
        note = note_text(note)
        if disposition.note_required and note is None:
            raise InvalidInput(
                f"{disposition.label!r} needs a note: say what happened", code="disposition.note_required"
            )
        outcome = {"complaint": disposition.complaint, **({"note": note} if note else {})}
        interaction = await self._writer.run(
            lambda conn: assignments.complete(conn, interaction_id, code, outcome, agent.id, utcnow())
        )
        wrap_up = (
            self._settings.queues[interaction.queue].wrap_up_seconds
            if interaction.queue in self._settings.queues
            else 0
        )
        await self._dispatcher.release(interaction.id, wrap_up)
        log.info("interaction %s: completed by agent %s (%s)", interaction.id, agent.id, code)
        if self._on_completed is not None:
            await self._on_completed(interaction)
        return serialize.interaction(interaction)

    async def work(
        self, agent: Agent, channel: Channel | None, state: str | None, before: str | None, limit: int
    ) -> WorkBody:
        """The agent's work list: offered to them, held by them, parked by them, completed
        by them (newest first, ``limit`` a page); ``state`` keeps one of the four,
        ``channel`` one channel."""
        if state not in (None, *WORK_STATES):
            raise InvalidInput(f"state must be one of {', '.join(WORK_STATES)}", code="input.bad_query")
        cursor = _cursor(before)
        parts = WORK_STATES if state is None else (state,)

        def read(conn: Connection) -> tuple[list[WorkRow], ...]:
            return (
                work_store.offered(conn, agent.id, channel) if "offered" in parts else [],
                work_store.held(conn, agent.id, channel) if "assigned" in parts else [],
                work_store.parked(conn, agent.id, channel) if "parked" in parts else [],
                work_store.completed(conn, agent.id, channel, cursor, limit) if "completed" in parts else [],
            )

        offered, held, parked, done = await self._reader.run(read)
        return {
            "offered": [serialize.work_item(row) for row in offered],
            "assigned": [serialize.work_item(row) for row in held],
            "parked": [serialize.work_item(row) for row in parked],
            "recent": [serialize.work_item(row) for row in done],
            "next_before": page_cursor(done[-1].interaction.closed_at, done[-1].interaction.id)
            if len(done) == limit
            else None,
        }

    def dispositions(self) -> DispositionsBody:
        return {
            "queues": {
                queue: [
                    {"code": d.code, "label": d.label, "complaint": d.complaint, "note_required": d.note_required}
                    for d in self._settings.dispositions_of(queue)
                ]
                for queue in self._settings.queues
            }
        }

    async def add_note(self, agent: Agent, interaction_id: str, body: str) -> InteractionBody:
        """An internal note: on the interaction's record for every agent who reads it later,
        never sent to the customer. Whoever may read the interaction may note on it."""
        text = note_text(body)
        if text is None:
            raise InvalidInput("a note needs a body", code="note.empty")
        async with self._sessions.begin() as session:
            interaction = await store.get(session, interaction_id)
            await check_may_read(session, agent, interaction_id=interaction.id)
            store.record_event(session, interaction.id, "note_added", agent_actor(agent.id), {"body": text})
        return await self.interaction(agent, interaction_id)

    async def transfer(
        self, agent: Agent, interaction_id: str, *, queue: str | None, to_agent: str | None, note: str | None = None
    ) -> InteractionBody:
        """Back to routing: into another queue (a fresh place and that queue's SLA), or
        reserved for a named agent for ``routing.transfer_window_seconds``, then anyone in
        the current queue. ``note``: for the next agent, in their offer and the record."""
        async with self._sessions() as session:
            interaction = await self._held(session, agent, interaction_id)
        await self.route_again(agent_actor(agent.id), interaction, queue=queue, to_agent=to_agent, note=note)
        log.info("interaction %s: transferred by agent %s to %s", interaction.id, agent.id, to_agent or queue)
        return await self.interaction(agent, interaction.id)

    async def route_again(
        self, actor: Actor, interaction: Interaction, *, queue: str | None, to_agent: str | None, note: str | None
    ) -> None:
        """An assigned interaction transferred, or a waiting one moved (by a supervisor),
        as ``transfer`` says; the event names ``actor``."""
        if (queue is None) == (to_agent is None):
            raise InvalidInput("give exactly one of 'queue' or 'agent_id'", code="transfer.target")
        if to_agent is not None:
            async with self._sessions() as session:
                named = await agent_store.get(session, to_agent)
            if named is None:
                raise NotFound(f"no agent {to_agent}", code="agent.not_found")
            if not named.active:
                raise Conflict(f"agent {to_agent} is deactivated", code="agent.deactivated")
        target = interaction.queue if queue is None else queue
        settings = self._settings.queues.get(target)
        if settings is None or Channel(interaction.channel) not in settings.channels:
            raise InvalidInput(f"queue {target!r} does not take {interaction.channel}", code="transfer.queue")
        now = time.time()
        sla = settings.sla.get(Channel(interaction.channel))
        entry = QueueEntry(
            interaction_id=interaction.id,
            queue=target,
            channel=interaction.channel,
            enqueued_at=now,
            priority=settings.priority,
            skills=skills_of(settings.skills),
            answer_deadline=None if sla is None else now + sla.answer_seconds,
            preferred_agent=to_agent,
            preferred_until=now + self._settings.routing.transfer_window_seconds if to_agent else 0.0,
        )
        data = {"queue": target, "agent_id": to_agent, "from_queue": interaction.queue}
        if (text := note_text(note)) is not None:
            data["note"] = text
        if interaction.state == InteractionState.QUEUED:
            values = queued_values(entry, data.get("note"))
            if not await self._dispatcher.move(interaction.id, values, data, actor):
                raise StaleState("the interaction was offered or taken meanwhile: read it again")
            return
        if self._on_transferring is not None:
            await self._on_transferring(interaction)
        # Who held it: told (when it was not them) that it is theirs no more.
        data["from_agent_id"] = interaction.assigned_agent_id
        await self._dispatcher.transfer(actor, interaction.id, entry, data, holder=interaction.assigned_agent_id)

    async def _held(self, session: AsyncSession, agent: Agent, interaction_id: str) -> Interaction:
        interaction = await store.get(session, interaction_id)
        assignments.check_held(interaction.state, interaction.assigned_agent_id, agent.id)
        return interaction

    async def _settle(
        self, message: Message, agent: Agent, *, status: str, error: str | None, external_id: str | None
    ) -> None:
        async with self._sessions.begin() as session:
            row = await session.merge(message)
            row.status, row.error, row.external_id = status, error, external_id
            interaction = await store.get(session, row.interaction_id)
            if error is None and interaction.first_responded_at is None:
                interaction.first_responded_at = utcnow()
            store.record_event(
                session,
                row.interaction_id,
                "message_failed" if error else "message_sent",
                agent_actor(agent.id),
                {"message_id": row.id, "status": status, **({"error": error} if error else {})},
            )
        message.status, message.error, message.external_id = status, error, external_id


async def check_not_opted_out(session: AsyncSession, phone: str) -> None:
    recipient = await customers.identity(session, IdentityKind.PHONE, phone)
    if recipient is not None and recipient.opted_out_at is not None:
        raise Conflict(f"{phone} replied STOP: no SMS may be sent until they send START", code="sms.opted_out")


def _cursor(before: str | None) -> tuple[datetime, str] | None:
    if before is None:
        return None
    at, _, interaction_id = before.partition("|")
    closed_at: datetime | None = None
    try:
        parsed = datetime.fromisoformat(at)
        # Into UTC here: a time at the calendar's edge with an offset has no UTC form.
        closed_at = parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):
        pass
    if closed_at is None or not interaction_id:
        raise InvalidInput("before must be a next_before this list gave", code="input.bad_query")
    return closed_at, interaction_id


def note_text(text: str | None) -> str | None:
    """A note as kept: None when blank; refused past ``MAX_NOTE_CHARS``."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(f"a note is at most {MAX_NOTE_CHARS} characters", code="note.too_long")
    return text.strip()


def _detail(conn: Connection, row: InteractionFields) -> InteractionBody:
    """The interaction with its messages and events, as an agent reads it."""
    return serialize.interaction(row, store.messages(conn, [row.id]), store.events(conn, [row.id]))
