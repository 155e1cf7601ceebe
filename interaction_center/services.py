"""Wiring in one place: every collaborator built by hand from the settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from channels.chat.rooms import ChatRooms, ChatSender
from channels.email.inbound import SmtpServer
from channels.email.outbound import SmtpEmailSender
from channels.twilio.rest import TwilioSmsSender
from interaction_center.desk.accounts import Accounts
from interaction_center.desk.chat import ChatDesk
from interaction_center.desk.work import AgentWork
from interaction_center.dispatch.dispatcher import Dispatcher
from interaction_center.dispatch.notifier import AgentHub
from interaction_center.dispatch.profiles import engine_config
from interaction_center.domain.model import Channel, InboundContact, OutboundSender
from interaction_center.intake.acknowledgement import Acknowledger
from interaction_center.intake.service import Intake, IntakeResult
from interaction_center.settings.model import Settings
from routing import MemoryRoutingBackend, RoutingBackend
from storage.database import create_engine, session_factory
from storage.migrate import check_current
from storage.writer import Writer

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    routing: RoutingBackend
    hub: AgentHub
    dispatcher: Dispatcher
    writer: Writer
    intake: Intake
    accounts: Accounts
    work: AgentWork
    chat: ChatDesk
    senders: dict[Channel, OutboundSender] = field(default_factory=dict)
    # Set when smtp.domains lists what we take mail for.
    mail: SmtpServer | None = None
    acknowledger: Acknowledger | None = None

    async def receive_email(self, contact: InboundContact) -> IntakeResult:
        result = await self.intake.receive(contact, self.settings.channels.email_queue)
        # Machines get no acknowledgement: two auto-responders would answer each other forever.
        if result.created and not contact.automated and self.acknowledger is not None:
            self.acknowledger.schedule(result.interaction_id)
        return result

    async def receive_sms(self, contact: InboundContact) -> IntakeResult:
        return await self.intake.receive(contact, self.settings.channels.sms_queue)

    async def sms_delivery(self, external_id: str, status: str, error: str | None) -> None:
        await self.intake.delivery(Channel.SMS, external_id, status, error)

    async def close_live_sockets(self) -> None:
        """Agents' and chat visitors' sockets, closed as the service starts to stop: a
        socket's handler ends only when its socket does, and the web server waits for
        every handler to end (a minute, by default) before the rest can stop."""
        await self.hub.close()
        await self.chat.rooms.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Start: check the schema, seed the roster, rebuild routing from storage, start
        the offer ticker. Stop: the reverse, releasing every connection."""
        await check_current(self.engine)
        await self.accounts.sync_roster(self.settings.agents)
        await self.dispatcher.recover()
        await self.chat.recover()
        ticker = asyncio.create_task(self.dispatcher.run_ticker(), name="routing-ticker")
        chat_updates = asyncio.create_task(self.chat.run_queue_updates(), name="chat-queue-updates")
        try:
            if self.mail is not None:
                await self.mail.start()
            yield
        finally:
            # Mail stops first: nothing is taken in that could not be committed.
            if self.mail is not None:
                await self.mail.close()
            await self.intake.close()
            for task in (ticker, chat_updates):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.chat.close()
            if self.acknowledger is not None:
                await self.acknowledger.close()
            await self.hub.close()
            for sender in self.senders.values():
                await sender.close()
            await self.routing.close()
            await self.writer.close()
            await self.engine.dispose()


def build_services(settings: Settings) -> Services:
    engine = create_engine(settings.database.url)
    sessions = session_factory(engine)
    routing = MemoryRoutingBackend(engine_config(settings))
    hub = AgentHub()
    writer = Writer(engine)
    dispatcher = Dispatcher(sessions, writer, routing, hub, settings.routing)
    rooms = ChatRooms()
    senders: dict[Channel, OutboundSender] = {Channel.CHAT: ChatSender(rooms)}
    if settings.twilio.account_sid:
        senders[Channel.SMS] = TwilioSmsSender(settings.twilio, settings.public_base_url + "/twilio/sms/status")
    else:
        log.warning("twilio.account_sid is not set: inbound SMS works, replies by SMS are refused")
    smtp = settings.smtp
    if smtp.relay_host:
        senders[Channel.EMAIL] = SmtpEmailSender(smtp)
    elif smtp.domains:
        log.warning("smtp.relay_host is not set: inbound email works, replies by email are refused")
    intake = Intake(sessions, writer, dispatcher, hub, settings)
    chat = ChatDesk(sessions, intake, dispatcher, routing, hub, rooms, settings)
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        routing=routing,
        hub=hub,
        dispatcher=dispatcher,
        writer=writer,
        intake=intake,
        accounts=Accounts(sessions, settings.auth.token_ttl_seconds),
        work=AgentWork(sessions, dispatcher, senders, settings, on_accepted=chat.assigned, on_completed=chat.completed),
        chat=chat,
        senders=senders,
    )
    if smtp.domains:
        services.mail = SmtpServer(smtp, services.receive_email)
    if smtp.acknowledge and Channel.EMAIL in senders:
        services.acknowledger = Acknowledger(sessions, senders[Channel.EMAIL], smtp.from_address)
    return services
