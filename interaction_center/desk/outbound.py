"""Conversations an agent starts: an SMS or an email to a customer (found by the number or
address, or made for it, as intake would) becomes an interaction assigned to the agent, in
the channel's queue, threaded so the customer's answer continues it. A number that replied
STOP is refused; so is one whose conversation on that channel is still open (answer it
there)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.email.address import new_thread_key
from channels.sms.webhook import thread_key as sms_thread_key
from interaction_center.desk.work import AgentWork, check_not_opted_out
from interaction_center.dispatch.dispatcher import Dispatcher, agent_actor
from interaction_center.domain.errors import Conflict, InvalidInput
from interaction_center.domain.identity import name_key, normalize_email, normalize_phone
from interaction_center.domain.model import Channel, Direction, IdentityKind, InteractionState, OutboundMessage
from interaction_center.domain.stamps import utcnow
from interaction_center.domain.wire import InteractionBody
from interaction_center.settings.model import Settings
from storage import customers
from storage import interactions as store
from storage.models import Agent, Customer, CustomerIdentity, Interaction, Message

MAX_SUBJECT = 200


class Conversations:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], work: AgentWork, dispatcher: Dispatcher, settings: Settings
    ) -> None:
        self._sessions = sessions
        self._work = work
        self._dispatcher = dispatcher
        self._settings = settings

    async def start(self, agent: Agent, channel: Channel, to: str, body: str, subject: str) -> InteractionBody:
        if channel not in (Channel.SMS, Channel.EMAIL):
            raise InvalidInput("a conversation is started by sms or email", code="outbound.channel")
        queue = self._settings.channels.queue_for(channel)
        if queue is None:
            raise InvalidInput(f"the {channel} channel takes no conversations here", code="channel.not_configured")
        sender = self._work.sender_for(channel, body)
        email = channel == Channel.EMAIL
        if email and (not subject.strip() or len(subject) > MAX_SUBJECT):
            raise InvalidInput(f"an email needs a subject of 1 to {MAX_SUBJECT} characters", code="outbound.subject")
        kind = IdentityKind.EMAIL if email else IdentityKind.PHONE
        address = normalize_email(to) if email else normalize_phone(to, self._settings.twilio.default_region)
        ours = self._settings.smtp.from_address if email else self._settings.twilio.phone_number
        now = utcnow()
        try:
            async with self._sessions.begin() as session:
                if not email:
                    await check_not_opted_out(session, address)
                customer_id = await self._customer(session, kind, address)
                interaction = Interaction(
                    customer_id=customer_id,
                    channel=channel,
                    state=InteractionState.ASSIGNED,
                    queue=queue,
                    # As intake keys the channel's threads: the customer's answer continues it.
                    thread_key=new_thread_key() if email else sms_thread_key(ours, address),
                    assigned_agent_id=agent.id,
                    enqueued_at=now,
                    created_at=now,
                    updated_at=now,
                )
                session.add(interaction)
                await session.flush()
                data = {"channel": channel, "to": address, "queue": queue}
                store.record_event(session, interaction.id, "outbound_started", agent_actor(agent.id), data)
                message = Message(
                    interaction_id=interaction.id,
                    channel=channel,
                    direction=Direction.OUTBOUND,
                    from_address=ours,
                    to_address=address,
                    body=body,
                    status="sending",
                    author_agent_id=agent.id,
                    attributes={"subject": subject} if email else {},
                )
                session.add(message)
        except IntegrityError as exc:
            raise Conflict(
                f"a conversation with {address} on {channel} is open: answer it there", code="outbound.open_thread"
            ) from exc
        await self._dispatcher.assigned_outbound(interaction)
        outbound = OutboundMessage(
            interaction.id,
            address,
            ours,
            body,
            subject=subject,
            thread_key=interaction.thread_key,
            message_id=message.id,
        )
        await self._work.deliver(agent, sender, message, outbound)
        return await self._work.interaction(agent, interaction.id)

    @staticmethod
    async def _customer(session: AsyncSession, kind: str, address: str) -> str:
        """Whose the number or address is, or a new customer for it (named by it, as intake names one)."""
        known = await customers.identity(session, kind, address)
        if known is not None:
            return known.customer_id
        customer = Customer(display_name=address[:200], name_key=name_key(address))
        session.add(customer)
        await session.flush()
        session.add(CustomerIdentity(customer_id=customer.id, kind=kind, value=address))
        return customer.id
