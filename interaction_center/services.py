"""Wiring in one place: every collaborator built by hand from the settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from channels.chat.adapter import ChatChannel
from channels.chat.rooms import ChatRooms
from channels.contract import Capacity, ChannelAdapter
from channels.email.adapter import EmailChannel
from channels.sandbox.outbox import Outbox
from channels.sandbox.sandbox import Sandbox
from channels.sms.adapter import SmsChannel
from channels.voice.adapter import VoiceChannel
from channels.voice.rest import TwilioVoice
from interaction_center.desk.accounts import Account, Accounts
from interaction_center.desk.admin import AgentAdmin
from interaction_center.desk.audit import AuditLog
from interaction_center.desk.canned import CannedResponses
from interaction_center.desk.chat import ChatDesk
from interaction_center.desk.customers import CustomerDesk
from interaction_center.desk.floor import FloorFeed
from interaction_center.desk.outbound import Conversations
from interaction_center.desk.parking import Parking
from interaction_center.desk.presence import Presence
from interaction_center.desk.shared_throttle import SharedLoginThrottle
from interaction_center.desk.supervise import Supervision
from interaction_center.desk.throttle import LoginThrottle, Throttle
from interaction_center.desk.voice import CallDirectory, VoiceDesk
from interaction_center.desk.voice_bridge import VoiceBridge
from interaction_center.desk.voice_control import CallControl
from interaction_center.desk.voice_wait import VoiceWait
from interaction_center.desk.work import AgentWork
from interaction_center.dispatch.consumer import ExactlyOnceConsumer, LogConsumer
from interaction_center.dispatch.demo_outbox import SharedOutbox
from interaction_center.dispatch.dispatcher import Dispatcher
from interaction_center.dispatch.fanout import Fanout, RedisFanout
from interaction_center.dispatch.feed import Waiting, routing_feed
from interaction_center.dispatch.membership import (
    AGENT,
    CHAT,
    Membership,
    RedisMembership,
    instance_name,
    member,
    owners,
)
from interaction_center.dispatch.notifier import AgentHub
from interaction_center.dispatch.profiles import engine_config
from interaction_center.dispatch.pushes import AgentPushes
from interaction_center.dispatch.statistics import Statistics, statistics_consumer
from interaction_center.dispatch.webhooks import Webhook
from interaction_center.domain.errors import InteractionCenterError, InvalidInput
from interaction_center.domain.model import Channel, InboundContact
from interaction_center.domain.wire import InteractionBody
from interaction_center.intake.acknowledgement import Acknowledger
from interaction_center.intake.service import Intake, IntakeResult
from interaction_center.metrics import Metrics
from interaction_center.settings.model import Settings
from ivr.interpreter import Interpreter
from routing import AgentState, MemoryRoutingBackend, RoutingBackend
from routing.redis import RedisRoutingBackend
from storage import events
from storage.database import create_engine, session_factory
from storage.migrate import check_current
from storage.reader import Reader
from storage.writer import Writer

log = logging.getLogger(__name__)

# How long a stopping service waits for each background task to end once cancelled.
TASK_STOP_SECONDS = 10.0


class ChannelIntake:
    """The way in for every channel adapter (``channels.contract.Intake``): a new
    conversation waits in its channel's queue, and a new email from a person is
    acknowledged when ``smtp.acknowledge`` asks for it."""

    def __init__(self, intake: Intake, settings: Settings, metrics: Metrics) -> None:
        self._intake = intake
        self._settings = settings
        self._metrics = metrics
        self.acknowledger: Acknowledger | None = None

    async def receive(self, contact: InboundContact) -> IntakeResult:
        queue = self._settings.channels.queue_for(contact.channel)
        counted = self._metrics.intake.labels(contact.channel, "refused")
        if queue is None:
            counted.inc()
            raise InvalidInput(f"the {contact.channel} channel takes no contacts here", code="channel.not_configured")
        try:
            result = await self._intake.receive(contact, queue)
        except InteractionCenterError:
            counted.inc()
            raise
        self._metrics.intake.labels(contact.channel, _outcome(result)).inc()
        # Machines get no acknowledgement: two auto-responders would answer each other forever.
        acknowledger = self.acknowledger if contact.channel == Channel.EMAIL else None
        if acknowledger is not None and result.created and not contact.automated:
            acknowledger.schedule(result.interaction_id)
        return result

    async def delivery(self, channel: Channel, external_id: str, status: str, error: str | None) -> None:
        await self._intake.delivery(channel, external_id, status, error)


def _outcome(result: IntakeResult) -> str:
    if result.duplicate:
        return "duplicate"
    if result.filed:
        return "filed"
    return "created" if result.created else "continued"


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    routing: RoutingBackend
    hub: AgentHub
    dispatcher: Dispatcher
    writer: Writer
    reader: Reader
    intake: Intake
    accounts: Accounts
    presence: Presence
    membership: Membership
    fanout: Fanout
    admin: AgentAdmin
    audit: AuditLog
    canned: CannedResponses
    customers: CustomerDesk
    conversations: Conversations
    floor: FloorFeed
    work: AgentWork
    parking: Parking
    supervision: Supervision
    chat: ChatDesk
    voice: VoiceDesk
    statistics: Statistics
    feed: LogConsumer[list[Waiting]]
    counting: ExactlyOnceConsumer
    pushes: AgentPushes
    channels: dict[Channel, ChannelAdapter] = field(default_factory=dict)
    acknowledger: Acknowledger | None = None
    metrics: Metrics = field(default_factory=Metrics)
    webhooks: list[Webhook] = field(default_factory=list)
    # DEMO ONLY ([demo] sandbox): where replies go instead of Twilio and a mail relay.
    sandbox: Sandbox | None = None

    async def metrics_exposition(self) -> bytes:
        """The metrics, with the gauges read now: queues and agents from routing, open
        sockets, and each log consumer's distance from its stream's head."""
        metrics = self.metrics
        for stats in await self.dispatcher.stats():
            metrics.queue_depth.labels(stats.queue, stats.channel).set(stats.waiting)
            metrics.oldest_wait.labels(stats.queue, stats.channel).set(stats.longest_wait_seconds)
        states = Counter(agent.status for agent in await self.accounts.all() if agent.active)
        for state in AgentState:
            metrics.agents.labels(state).set(states.get(state, 0))
        metrics.sockets.labels("agent").set(self.hub.count())
        metrics.sockets.labels("chat").set(self.chat.rooms.count())
        consumers: list[LogConsumer[Any]] = [self.feed, self.counting, self.pushes.reader]
        # A receiver another instance delivers to is that instance's to report.
        consumers += [webhook.consumer for webhook in self.webhooks if webhook.delivering]
        heads = await self.reader.run(lambda conn: {c.stream: events.head(conn, c.stream) for c in consumers})
        for consumer in consumers:
            metrics.lag.labels(consumer.name).set(max(0, heads[consumer.stream] - consumer.reached))
        for webhook in self.webhooks:
            if not webhook.delivering:
                # Older prometheus-client releases raise for a label never set.
                with contextlib.suppress(KeyError):
                    metrics.lag.remove(webhook.name)
        return metrics.exposition()

    def _holding(self) -> list[str]:
        """Whose sockets this instance holds (``dispatch/membership.py``)."""
        return [member(AGENT, a) for a in self.hub.owners()] + [member(CHAT, s) for s in self.chat.rooms.owners()]

    async def _gone(self, members: list[str]) -> None:
        """Another instance died holding these sockets' owners, connected nowhere else."""
        await self.presence.instance_gone(owners(AGENT, members))
        await self.chat.instance_gone(owners(CHAT, members))

    async def _rejoined(self, members: list[str]) -> None:
        await self.presence.rejoined(owners(AGENT, members))

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
        await self.voice.bridge.recover()
        ticker = asyncio.create_task(self.dispatcher.run_ticker(), name="routing-ticker")
        feed = asyncio.create_task(self.feed.run(), name="routing-feed")
        counting = asyncio.create_task(self.counting.run(), name="statistics-consumer")
        pushes = asyncio.create_task(self.pushes.reader.run(), name="agent-pushes")
        chat_updates = asyncio.create_task(self.chat.run_queue_updates(), name="chat-queue-updates")
        callbacks = asyncio.create_task(self.voice.bridge.run_callbacks(), name="voice-callbacks")
        floor = asyncio.create_task(self.floor.run(), name="supervisors-floor")
        snoozes = asyncio.create_task(self.parking.run(), name="snoozes")
        lease = asyncio.create_task(self.membership.run(self._gone, self._holding, self._rejoined), name="lease")
        sweeps = asyncio.create_task(self.presence.run_sweeps(), name="presence-sweeps")
        handlers = {"agent": self.hub.relayed, "chat": self.chat.rooms.relayed, CLOSING: self.presence.closed_elsewhere}
        fanout = asyncio.create_task(self.fanout.run(handlers, self.pushes.heard), name="fanout")
        # One instance delivers each receiver's events, or it would get each once per instance.
        webhooks = [
            asyncio.create_task(self.membership.alone(w.name, w.run), name=f"webhook-{w.name}") for w in self.webhooks
        ]
        try:
            if self.sandbox is not None:
                await self.sandbox.start()
            for adapter in self.channels.values():
                await adapter.start()
            yield
        finally:
            # Channels stop first: nothing is taken in that could not be committed.
            for adapter in self.channels.values():
                await adapter.stop()
            await self.intake.close()
            tasks = (
                feed,
                counting,
                pushes,
                ticker,
                chat_updates,
                callbacks,
                floor,
                snoozes,
                lease,
                sweeps,
                fanout,
                *webhooks,
            )
            for task in tasks:
                task.cancel()
            # Waited for, with a bound: one that swallowed its cancel would hold the stop
            # for ever (a ticker once did: see RedisRoutingBackend.decisions).
            stopped, stuck = await asyncio.wait(tasks, timeout=TASK_STOP_SECONDS)
            for task in stuck:
                log.error("%s did not stop within %.0f s of its cancel; left", task.get_name(), TASK_STOP_SECONDS)
            for task in stopped:
                if not task.cancelled() and task.exception() is not None:
                    # It had stopped on an error: said, and the rest still stops.
                    log.error("%s had stopped on an error", task.get_name(), exc_info=task.exception())
            await self.chat.close()
            if self.sandbox is not None:
                await self.sandbox.close()
            if self.acknowledger is not None:
                await self.acknowledger.close()
            await self.hub.close()
            await self.presence.close()
            await self.membership.close()
            await self.fanout.close()
            await self.accounts.throttle.close()
            await self.routing.close()
            await self.writer.close()
            await self.reader.close()
            await self.engine.dispose()


def _sandbox(settings: Settings) -> Sandbox:
    """DEMO ONLY: the stand-ins, reached on this machine at the service's own HTTP port; what
    they keep is this instance's, or shared in Redis by every instance on it."""
    redis = settings.redis
    outbox = SharedOutbox(redis.url, redis.prefix) if redis.url else Outbox()
    return Sandbox(settings.twilio, settings.smtp, settings.local_base_url, settings.public_base_url, outbox)


def _routing(settings: Settings) -> RoutingBackend:
    """In this process for one instance; in Redis, shared, for several."""
    config = engine_config(settings)
    if settings.redis.url:
        return RedisRoutingBackend(settings.redis.url, config, prefix=settings.redis.prefix)
    return MemoryRoutingBackend(config)


# The fan-out's kind for an agent's sockets closed everywhere (``Presence.closed_elsewhere``).
CLOSING = "agent-close"


def _sharing(settings: Settings) -> tuple[Membership, Fanout]:
    """What instances on one Redis share besides routing: who holds which desks, and the
    frames and notices handed between them. Alone, nothing."""
    if not settings.redis.url:
        return Membership(), Fanout()
    instance = instance_name()
    redis = settings.redis
    return RedisMembership(redis.url, redis.prefix, redis.lease_seconds, instance), RedisFanout(
        redis.url, redis.prefix, instance
    )


def _throttle(settings: Settings) -> Throttle:
    """Failed logins counted in this process alone, or in Redis for every instance on it."""
    if settings.redis.url:
        return SharedLoginThrottle(settings.redis.url, settings.redis.prefix)
    return LoginThrottle()


def build_services(settings: Settings) -> Services:
    engine = create_engine(settings.database.url)
    sessions = session_factory(engine)
    sandbox = _sandbox(settings) if settings.demo.sandbox else None
    routing = _routing(settings)
    membership, fanout = _sharing(settings)
    hub = AgentHub()
    writer = Writer(engine)
    reader = Reader(engine)
    # Filled from the channels below (the chat channel needs the desk, which needs the
    # dispatcher); read when agents' profiles are loaded, once the service starts.
    capacities: dict[str, Capacity] = {}
    pushes = AgentPushes(writer, hub)
    pushes.moved = fanout.log_moved
    metrics = Metrics()
    dispatcher = Dispatcher(sessions, writer, routing, pushes, settings.routing, capacities, metrics)
    feed = routing_feed(writer, dispatcher)
    intake = Intake(sessions, writer, settings, writing=feed.wake, held=pushes.wake)
    port = ChannelIntake(intake, settings, metrics)
    rooms = ChatRooms()
    hub.relay, rooms.relay = fanout.relay("agent"), fanout.relay("chat")
    targets = {
        (queue.name, channel.value): sla.answer_seconds
        for queue in settings.queues.values()
        for channel, sla in queue.sla.items()
    }
    statistics = Statistics(sessions, dispatcher, ZoneInfo(settings.routing.time_zone), targets)
    chat = ChatDesk(sessions, intake, dispatcher, statistics, routing, hub, pushes.wake, rooms, settings, membership)
    voice = _voice_desk(settings, sessions, writer, reader, intake, dispatcher, routing, feed.wake, metrics)
    # Every channel the service speaks: adding one is its subpackage, its configuration
    # section and one line here.
    # The demo sandbox stands in for Twilio's REST API where SMS replies go.
    sms_twilio = settings.twilio if sandbox is None else sandbox.twilio(settings.twilio)
    adapters: list[ChannelAdapter] = [
        SmsChannel(sms_twilio, port, settings.public_base_url),
        EmailChannel(settings.smtp, port),
        ChatChannel(chat, rooms),
        VoiceChannel(settings.twilio, voice, voice.bridge.rest, settings.public_base_url),
    ]
    capacities.update({adapter.channel: adapter.capacity for adapter in adapters})
    senders = {adapter.channel: adapter.sender for adapter in adapters if adapter.sender is not None}
    accounts = Accounts(sessions, reader, settings.auth.token_ttl_seconds, _throttle(settings))
    work = AgentWork(
        sessions,
        reader,
        dispatcher,
        writer,
        senders,
        settings,
        on_accepted=[chat.assigned, voice.bridge.assigned],
        on_completed=chat.completed,
        on_transferring=voice.control.transferring,
    )
    presence = Presence(dispatcher, hub, settings.routing.disconnect_grace_seconds, membership)
    presence.relay_close = fanout.relay(CLOSING)
    services = Services(
        webhooks=[Webhook(webhook, writer) for webhook in settings.webhooks],
        metrics=metrics,
        sandbox=sandbox,
        settings=settings,
        engine=engine,
        sessions=sessions,
        routing=routing,
        hub=hub,
        dispatcher=dispatcher,
        writer=writer,
        reader=reader,
        intake=intake,
        accounts=accounts,
        presence=presence,
        membership=membership,
        fanout=fanout,
        admin=AgentAdmin(sessions, accounts, settings, presence),
        audit=AuditLog(sessions),
        canned=CannedResponses(sessions, settings),
        customers=CustomerDesk(sessions, reader, settings),
        conversations=Conversations(sessions, work, dispatcher, settings),
        floor=FloorFeed(statistics, accounts, hub),
        work=work,
        parking=Parking(sessions, reader, writer, dispatcher, work, settings, routing_woken=feed.wake),
        supervision=Supervision(sessions, dispatcher, work, on_taken=[chat.assigned]),
        chat=chat,
        voice=voice,
        statistics=statistics,
        feed=feed,
        counting=statistics_consumer(writer, settings.routing.short_abandon_seconds),
        pushes=pushes,
        channels={adapter.channel: adapter for adapter in adapters},
    )
    work = services.work

    async def hand_over(agent: Account, interaction_id: str, to_agent: str) -> InteractionBody:
        return await work.transfer(agent, interaction_id, queue=None, to_agent=to_agent)

    voice.control.hand_over = hand_over
    if settings.smtp.acknowledge and Channel.EMAIL in senders:
        services.acknowledger = port.acknowledger = Acknowledger(
            sessions, senders[Channel.EMAIL], settings.smtp.from_address
        )
    return services


def _voice_desk(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    writer: Writer,
    reader: Reader,
    intake: Intake,
    dispatcher: Dispatcher,
    routing: RoutingBackend,
    queued: Callable[[], None],
    metrics: Metrics,
) -> VoiceDesk:
    # Without an account no call can be put through: the demo's stand-in says so on the
    # interaction (desk.voice_bridge).
    rest = TwilioVoice(settings.twilio, settings.public_base_url) if settings.twilio.account_sid else None
    hours = {name: queue.hours for name, queue in settings.queues.items() if queue.hours is not None}
    interpreter = Interpreter(settings.voice.flows, hours, CallDirectory(reader))
    wait = VoiceWait(sessions, writer, reader, dispatcher, routing, settings)
    bridge = VoiceBridge(sessions, dispatcher, rest, settings)
    control = CallControl(sessions, bridge, settings)
    return VoiceDesk(
        sessions, writer, reader, intake, dispatcher, interpreter, wait, bridge, control, settings, queued, metrics
    )
