"""Web chat's use cases: a visitor's session (start, resume with its token), their
messages through the intake, typing both ways, their place in the queue, and the
abandonment of a waiting chat whose visitor left and did not come back in time."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Collection, Coroutine, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from yarl import URL

from channels.chat.rooms import ChatRooms, session_of, thread_key
from channels.chat.service import Resumed, Visitor
from interaction_center import wire
from interaction_center.dispatch.dispatcher import Dispatcher
from interaction_center.dispatch.membership import CHAT, Membership, member
from interaction_center.dispatch.notifier import AgentHub
from interaction_center.dispatch.statistics import Statistics
from interaction_center.domain.errors import Forbidden, InvalidInput, StaleState, Unauthorized
from interaction_center.domain.identity import normalize_email, normalize_phone
from interaction_center.domain.model import (
    Actor,
    ActorKind,
    Attachment,
    Channel,
    IdentityKind,
    InboundContact,
    InteractionState,
)
from interaction_center.domain.stamps import new_id, utcnow
from interaction_center.domain.wire import (
    QueuedFrame,
    agent_typing_frame,
    assigned_frame,
    customer_typing_frame,
    ended_frame,
    queued_frame,
)
from interaction_center.intake.service import Intake, IntakeResult
from interaction_center.settings.model import Settings
from routing import RoutingBackend
from storage import agents as agent_store
from storage import chat as chat_store
from storage import interactions as store
from storage.models import Agent, ChatSession, Interaction
from storage.reader import in_session
from storage.rows import MessageFields

log = logging.getLogger(__name__)

# How often waiting visitors are told their (changed) place in the queue.
QUEUE_UPDATE_SECONDS = 1.0
MAX_NAME_CHARS = 200


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _opened(session: AsyncSession, token: str) -> ChatSession:
    """The session the token opens; ``chat.bad_token`` for none."""
    row = await chat_store.by_token_hash(session, token_digest(token))
    if row is None:
        raise Unauthorized("this chat token is not valid", code="chat.bad_token")
    return row


def _visitor(row: ChatSession) -> Visitor:
    return Visitor(row.id, row.display_name, row.email, row.phone)


class ChatDesk:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        intake: Intake,
        dispatcher: Dispatcher,
        statistics: Statistics,
        routing: RoutingBackend,
        hub: AgentHub,
        wake_pushes: Callable[[], None],
        rooms: ChatRooms,
        settings: Settings,
        membership: Membership,
    ) -> None:
        self._sessions = sessions
        self._membership = membership
        # Records of sockets opened and closed, made in the background: a socket's
        # opening and closing are not awaited by its handler.
        self._recording: set[asyncio.Task[None]] = set()
        self._intake = intake
        self._dispatcher = dispatcher
        self._statistics = statistics
        self._routing = routing
        self._hub = hub
        self._wake_pushes = wake_pushes
        self.rooms = rooms
        self._settings = settings
        # The interaction each live session is on, and what it was last told of its place.
        self._current: dict[str, str] = {}
        self._told: dict[str, tuple[int, int | None]] = {}
        self._abandoning: dict[str, asyncio.Task[None]] = {}
        # Sessions to be told their place on the loop's next turn, and the task telling them.
        self._to_tell: set[str] = set()
        self._telling: asyncio.Task[None] | None = None
        # Each chat queue's average speed of answer, and when it was read.
        self._speeds: tuple[float, dict[str, float | None]] = (-QUEUE_UPDATE_SECONDS, {})

    @property
    def enabled(self) -> bool:
        return self._settings.channels.chat_queue is not None

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        # The public address's own origin too: behind a proxy the request's may differ.
        base = self._settings.public_base_url
        return (*self._settings.channels.chat_allowed_origins, str(URL(base).origin()))

    async def start(self, name: str, email: str | None, phone: str | None) -> tuple[str, Visitor]:
        """A new session and its token; only the token's digest is stored."""
        if len(name) > MAX_NAME_CHARS:
            raise InvalidInput(f"a name is at most {MAX_NAME_CHARS} characters", code="chat.bad_frame")
        visitor = Visitor(
            session_id=new_id(),
            display_name=name.strip(),
            email=None if not email else normalize_email(email),
            phone=None if not phone else normalize_phone(phone, self._settings.twilio.default_region),
        )
        token = secrets.token_urlsafe(32)
        async with self._sessions.begin() as session:
            session.add(
                ChatSession(
                    id=visitor.session_id,
                    token_hash=token_digest(token),
                    display_name=visitor.display_name,
                    email=visitor.email,
                    phone=visitor.phone,
                )
            )
        log.info("chat %s: session started", visitor.session_id)
        return token, visitor

    async def resume(self, token: str) -> Resumed:
        """The session the token opens, with its latest interaction, that one's messages and
        the display name of the agent who has it."""
        async with self._sessions() as session:
            row = await _opened(session, token)
            interaction = await chat_store.latest_interaction(session, thread_key(row.id))
            messages: Sequence[MessageFields] = []
            if interaction is not None:
                interaction_id = interaction.id
                messages = await in_session(session, lambda conn: store.messages(conn, [interaction_id]))
            rated = interaction is not None and await chat_store.rated(session, interaction.id)
            # Named only while the agent has the chat: a completed one keeps its agent's id.
            agent = None
            if interaction is not None and interaction.state == InteractionState.ASSIGNED:
                agent_id = interaction.assigned_agent_id
                agent = None if agent_id is None else await agent_store.get(session, agent_id)
        if interaction is not None and InteractionState(interaction.state).is_open:
            self._current[row.id] = interaction.id
        return Resumed(
            _visitor(row),
            interaction_id=None if interaction is None else interaction.id,
            state=None if interaction is None else interaction.state,
            agent_name=None if agent is None else agent.display_name,
            rated=rated,
            messages=wire.chat_history(messages),
        )

    async def visitor(self, token: str) -> Visitor:
        async with self._sessions() as session:
            return _visitor(await _opened(session, token))

    async def receive(
        self, visitor: Visitor, client_id: str, body: str, files: tuple[Attachment, ...] = ()
    ) -> IntakeResult:
        queue = self._settings.channels.chat_queue
        assert queue is not None  # the adapter serves nothing while chat is off
        # The email (else the phone, else the session) names the customer and the rest join
        # that record, so one person writing on several channels is one customer, in any
        # order. Anyone can type anyone's address, though: the contact says so, and a chat
        # that lands on an existing record that way is flagged for the agent to verify the
        # person before telling them anything from it.
        given = ((IdentityKind.EMAIL, visitor.email), (IdentityKind.PHONE, visitor.phone))
        typed = [(kind, value) for kind, value in given if value]
        (kind, address), *linked = [*typed, (IdentityKind.CHAT, visitor.session_id)]
        attributes: dict[str, Any] = {"client_id": client_id}
        if visitor.display_name:
            attributes["name"] = visitor.display_name
        if typed:
            attributes["unverified_identities"] = {kind.value: value for kind, value in typed}
        contact = InboundContact(
            channel=Channel.CHAT,
            # Scoped to the session: two visitors' client ids never meet.
            external_id=f"{visitor.session_id}:{client_id}",
            identity_kind=kind,
            from_address=address,
            to_address="chat",
            body=body,
            thread_key=thread_key(visitor.session_id),
            attributes=attributes,
            files=files,
            linked_identities=tuple(linked),
            sender_name=visitor.display_name,
            verified=kind is IdentityKind.CHAT,
        )
        result = await self._intake.receive(contact, queue)
        self._current[visitor.session_id] = result.interaction_id
        return result

    async def customer_typing(self, visitor: Visitor) -> None:
        interaction_id = self._current.get(visitor.session_id)
        if interaction_id is None:
            return
        async with self._sessions() as session:
            interaction = await store.get(session, interaction_id)
        if interaction.assigned_agent_id is not None:
            self._hub.push_everywhere(interaction.assigned_agent_id, customer_typing_frame(interaction_id))

    async def end(self, visitor: Visitor) -> None:
        """The visitor ends their chat. Still waiting, it is abandoned (reason
        ``customer_ended``); with an agent, it stays theirs to complete with a disposition,
        and a ``customer_ended`` event tells them (dispatch/pushes.py) the visitor has gone."""
        interaction_id = self._current.pop(visitor.session_id, None)
        if interaction_id is None:
            raise InvalidInput("there is no open chat to end", code="chat.no_chat")
        if not await self._dispatcher.abandon(interaction_id, {"reason": "customer_ended"}):
            async with self._sessions.begin() as session:
                interaction = await store.get(session, interaction_id)
                if interaction.state == InteractionState.ASSIGNED:
                    customer = Actor(ActorKind.CUSTOMER, interaction.customer_id)
                    data = {"agent_id": interaction.assigned_agent_id}
                    store.record_event(session, interaction_id, "customer_ended", customer, data)
            self._wake_pushes()
        log.info("chat %s: ended by the visitor", visitor.session_id)
        self.rooms.push_everywhere(visitor.session_id, ended_frame(interaction_id))

    async def rate(self, visitor: Visitor, score: int, comment: str | None) -> str:
        """The visitor's rating of their latest interaction, once: a ``rated`` event on it,
        so it shows in its timeline and the customer's. Like any change to an interaction
        it is written on condition of the version it was read at: of two ratings sent at
        once (two tabs), both of which found it unrated, one finds it changed, reads it
        once more, and finds it rated (another change meanwhile is read past the same
        way, once)."""
        try:
            return await self._rated(visitor, score, comment)
        except StaleState:
            return await self._rated(visitor, score, comment)

    async def _rated(self, visitor: Visitor, score: int, comment: str | None) -> str:
        async with self._sessions.begin() as session:
            interaction = await chat_store.latest_interaction(session, thread_key(visitor.session_id))
            if interaction is None:
                raise InvalidInput("there is no chat to rate yet", code="chat.no_chat")
            if await chat_store.rated(session, interaction.id):
                raise InvalidInput("this chat is rated already", code="chat.already_rated")
            customer = Actor(ActorKind.CUSTOMER, interaction.customer_id)
            store.record_event(session, interaction.id, "rated", customer, {"score": score, "comment": comment})
            # A change to the interaction's row, written on condition of its version: what
            # lets only one of two ratings read before either was written through.
            interaction.updated_at = utcnow()
        log.info("interaction %s: rated %d by the visitor", interaction.id, score)
        return interaction.id

    async def agent_typing(self, agent_id: str, interaction_id: str) -> None:
        async with self._sessions() as session:
            interaction = await store.get(session, interaction_id)
        if interaction.assigned_agent_id != agent_id:
            raise Forbidden("the interaction is not assigned to you", code="interaction.not_yours")
        session_id = session_of(interaction.thread_key)
        if interaction.channel == Channel.CHAT and session_id is not None:
            self.rooms.push_everywhere(session_id, agent_typing_frame())

    async def assigned(self, interaction: Interaction, agent: Agent) -> None:
        """An agent took the chat: its visitor hears who, by display name only (the
        username and id are for the staff)."""
        session_id = session_of(interaction.thread_key)
        if interaction.channel != Channel.CHAT or session_id is None:
            return
        self.rooms.push_everywhere(session_id, assigned_frame(interaction.id, agent.display_name))

    async def completed(self, interaction: Interaction) -> None:
        """An agent completed the interaction: its visitor hears the chat ended."""
        session_id = session_of(interaction.thread_key)
        if interaction.channel != Channel.CHAT or session_id is None:
            return
        self._current.pop(session_id, None)
        self.rooms.push_everywhere(session_id, ended_frame(interaction.id))

    def connected(self, visitor: Visitor, socket: Any) -> None:
        """A socket of the visitor opened: a pending abandonment is called off."""
        self.rooms.attach(visitor.session_id, socket)
        self._record(self._membership.held(member(CHAT, visitor.session_id)))
        pending = self._abandoning.pop(visitor.session_id, None)
        if pending is not None:
            pending.cancel()
            log.info("chat %s: visitor back within the grace period", visitor.session_id)

    def left(self, visitor: Visitor, socket: Any) -> None:
        """A socket closed. When it was the visitor's last and their chat still waits, it
        is abandoned after ``channels.chat.abandon_after_seconds`` unless they come back."""
        self.rooms.detach(visitor.session_id, socket)
        if not self.rooms.connected(visitor.session_id):
            self._record(self._membership.released(member(CHAT, visitor.session_id)))
        self._told.pop(visitor.session_id, None)
        interaction_id = self._current.get(visitor.session_id)
        if interaction_id is not None:
            self._abandon_unless_back(visitor.session_id, interaction_id)

    def _record(self, change: Coroutine[Any, Any, None]) -> None:
        recording = asyncio.create_task(_logged(change))
        self._recording.add(recording)
        recording.add_done_callback(self._recording.discard)

    async def instance_gone(self, session_ids: list[str]) -> None:
        """Another instance died holding these visitors' sockets (open on no other): their
        waiting chats get the grace period to be resumed, as after a restart."""
        await self.recover(only=frozenset(session_ids))

    async def recover(self, only: frozenset[str] | None = None) -> int:
        """After a (re)start no visitor is connected here: each chat still waiting (of the
        sessions ``only``, if given) gets the full grace period, counted from now, to be
        resumed before it is abandoned, unless its visitor is then connected here or to
        another instance. (When the visitor was last seen is not stored; counting from the
        start never cuts a visitor short whose socket the restart itself closed.) Returns
        how many were armed."""
        async with self._sessions() as session:
            waiting = await chat_store.waiting(session)
        armed = 0
        for interaction_id, key in waiting:
            session_id = session_of(key)
            if session_id is not None and (only is None or session_id in only):
                self._current[session_id] = interaction_id
                armed += self._abandon_unless_back(session_id, interaction_id)
        if armed:
            log.info("%d waiting chats will be abandoned unless their visitors return", armed)
        return armed

    def _abandon_unless_back(self, session_id: str, interaction_id: str) -> bool:
        """Arm the abandonment of a waiting chat whose visitor has no socket open."""
        if self.rooms.connected(session_id) or session_id in self._abandoning:
            return False
        self._abandoning[session_id] = asyncio.create_task(self._abandon_later(session_id, interaction_id))
        return True

    async def _abandon_later(self, session_id: str, interaction_id: str) -> None:
        try:
            await asyncio.sleep(self._settings.channels.chat_abandon_after_seconds)
            connected = self.rooms.connected(session_id) or await self._membership.elsewhere(member(CHAT, session_id))
            if not connected:
                # Forgotten either way, so sessions nobody returns to hold no memory; a
                # resume finds the interaction again.
                self._current.pop(session_id, None)
                await self._dispatcher.abandon(interaction_id, {"reason": "customer_left"})
        except Exception:
            log.exception("chat %s: abandonment of interaction %s failed", session_id, interaction_id)
        finally:
            if self._abandoning.get(session_id) is asyncio.current_task():
                del self._abandoning[session_id]

    def tell_place(self, session_id: str) -> None:
        """Send the session its place in the queue now: on the loop's next turn, with those
        of every other session that asked meanwhile, so that a burst of new chats costs one
        look at the queues, not one each."""
        self._to_tell.add(session_id)
        if self._telling is None or self._telling.done():
            self._telling = asyncio.create_task(self._tell_places())

    async def _tell_places(self) -> None:
        try:
            while self._to_tell:
                sessions, self._to_tell = self._to_tell, set()
                for session_id, frame in (await self.queue_frames(only=sessions)).items():
                    self.rooms.push(session_id, frame)
        except Exception:
            log.exception("telling chat visitors their places failed")

    async def queue_frames(self, only: Collection[str] | None = None) -> dict[str, QueuedFrame]:
        """``queued`` frames for the live sessions whose place changed since they were told
        (for ``only``: those sessions', whether or not it changed)."""
        # Only live sessions: one that left before its turn came is not remembered again.
        sessions = [s for s in only if self.rooms.connected(s)] if only is not None else self.rooms.owners()
        if not sessions:
            # Nobody to tell: the queues (which may hold thousands of other contacts) are
            # not walked every second for nothing.
            return {}
        places: dict[str, tuple[str, int]] = {}
        for name, settings in self._settings.queues.items():
            if Channel.CHAT in settings.channels:
                for index, entry in enumerate(await self._routing.waiting(name)):
                    places[entry.interaction_id] = (name, index + 1)
        speed = await self._answer_speeds()
        frames: dict[str, QueuedFrame] = {}
        for session_id in sessions:
            place = places.get(self._current.get(session_id, ""))
            if place is None:
                continue
            queue, position = place
            wait = self._expected_wait(queue, position, speed.get(queue))
            if only is None and self._told.get(session_id) == (position, wait):
                continue
            self._told[session_id] = (position, wait)
            frames[session_id] = queued_frame(position, wait)
        return frames

    async def _answer_speeds(self) -> dict[str, float | None]:
        """Read from the day's statistics at most once an update: each is a look at the
        database, and each new chat asks for its place at once."""
        read_at, speeds = self._speeds
        now = time.monotonic()
        if now - read_at >= QUEUE_UPDATE_SECONDS:
            today = await self._statistics.today()
            speeds = {
                q: t.average_speed_of_answer_seconds for (q, channel), t in today.items() if channel == Channel.CHAT
            }
            self._speeds = (now, speeds)
        return speeds

    def _expected_wait(self, queue: str, position: int, average_answer: float | None) -> int | None:
        """A simple estimate: the queue's average speed of answer for chat, once for each
        contact up to this one; before anything was answered, the queue's answer target."""
        if average_answer is not None:
            return round(average_answer * position)
        target = self._settings.queues[queue].sla.get(Channel.CHAT)
        return None if target is None else target.answer_seconds

    async def run_queue_updates(self) -> None:
        while True:
            await asyncio.sleep(QUEUE_UPDATE_SECONDS)
            try:
                for session_id, frame in (await self.queue_frames()).items():
                    self.rooms.push(session_id, frame)
            except Exception:
                log.exception("chat queue update failed")

    async def close(self) -> None:
        stopping = [*self._abandoning.values(), *([self._telling] if self._telling is not None else [])]
        for task in stopping:
            task.cancel()
        if stopping:
            await asyncio.wait(stopping)
        self._abandoning.clear()
        await asyncio.gather(*self._recording, return_exceptions=True)
        await self.rooms.close()


async def _logged(change: Coroutine[Any, Any, None]) -> None:
    """A record of a visitor's socket, which nothing awaits: a failure (Redis away) is
    logged; the visitor's chat is then judged on this instance's sockets alone."""
    try:
        await change
    except Exception:
        log.exception("chat: a visitor's socket could not be recorded")
