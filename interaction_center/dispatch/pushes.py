"""The agents' live pushes, read from the event log: an offer, an offer closed under them,
a message on an interaction they hold, a supervisor's own leg on a call put on or ended
(the interactions stream) and their own state (the agents stream) reach their sockets
from the events that record them, so whatever wrote an event (this process's dispatcher
or intake, or another instance) the agent hears of it. Writers wake the reader as they
submit their writes (``AgentPushes.wake``), so a read rides in the same transaction when
it can and the push goes out with that commit; otherwise a read every ``POLL_SECONDS``
finds it.

One reader takes both streams in one transaction and pushes a read's state changes
before its interaction frames: an agent hears it is available again before it hears of
the offer that made. What a frame says is read in the same transaction: an offer no
longer open is not pushed. Pushes are this process's own (its sockets), so the reader
starts at the head at every start and records no position (``durable=False``); a socket
starts from its ``hello`` snapshot.

Each frame names the event it was made of (``log``: stream and number), and every
``POSITION_SECONDS`` each socket is told how far the pushes have gone (a ``position``
frame), so a quiet agent's place moves too. A socket that reconnects naming the last of
each stream it saw gets the frames of the events since, read from the log, before any
live one, as long as they are within the last ``REPLAY_EVENTS`` of each stream; further
behind, its desk reads its state again."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from sqlalchemy import Connection

from interaction_center import wire
from interaction_center.dispatch.consumer import BATCH, LogConsumer
from interaction_center.dispatch.notifier import AgentHub
from interaction_center.domain.wire import (
    AgentFrame,
    LogPlace,
    LogPositions,
    customer_ended_frame,
    monitor_frame,
    offer_closed_frame,
    position_frame,
    work_taken_frame,
)
from storage import events
from storage import intake_rows as rows
from storage import pushes as reads
from storage.events import LoggedEvent
from storage.models import Message
from storage.pushes import OpenOffer
from storage.writer import Writer

log = logging.getLogger(__name__)

Frames = list[tuple[str, AgentFrame]]

# The events that close an offer under its agent, and what its frame calls the reason. A
# rejected or accepted offer is closed by the agent, who has the answer already.
_CLOSED: dict[str, Literal["timeout", "revoked", "abandoned"]] = {
    "offer_timed_out": "timeout",
    "offer_revoked": "revoked",
    "abandoned": "abandoned",
}
# What the reader reads of each stream.
# The customer leaving what an agent holds: a chat ended, a call hung up.
_ENDED = frozenset({"customer_ended", "call_ended"})
# A supervisor's leg on a call: put on it (or its mode changed), ended. Told to the
# supervisor, whose dashboard shows how they are on it.
_MONITORING = frozenset({"call_monitored", "call_monitor_ended"})
# An interaction taken from its agent by someone else: a supervisor's take-over or move.
_TAKEN = frozenset({"taken_over", "transferred"})
PUSHED = frozenset({"offered", "message_received", *_ENDED, *_CLOSED, *_MONITORING, *_TAKEN})
_STATES = frozenset({"status_changed"})
# How far behind a reconnecting socket may be, in events of each stream, and still be
# sent what it missed: a few minutes of a busy centre, read in one go.
REPLAY_EVENTS = 2000
# How often each socket is told where the pushes stand: a place minutes old is far
# behind at a busy centre, and an agent who hears of nothing would keep theirs.
POSITION_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class _Named:
    """What the interaction events of one read name, as storage holds it now."""

    offers: dict[str, OpenOffer]
    latest: dict[str, tuple[str, str]]
    held: dict[str, tuple[str, Message]]


def interaction_frames(conn: Connection, read: Sequence[LoggedEvent]) -> Frames:
    """The frames these interaction events call for, in their order, each to its agent.
    An event a frame cannot be made of (a field missing, written by another version) is
    logged and passed over: pushes are best effort, and a reader retrying it would stop
    every agent's pushes there."""
    offered = [event.subject for event in read if event.type == "offered"]
    offers = reads.open_offers(conn, offered) if offered else {}
    received = [event.data.get("message_id") for event in read if event.type == "message_received"]
    named = _Named(
        offers,
        rows.latest_inbound(conn, offers) if offers else {},
        reads.held_messages(conn, [m for m in received if isinstance(m, str)]) if received else {},
    )
    frames: Frames = []
    for event in read:
        try:
            frame = _frame(event, named)
        except Exception:
            log.exception("agents' pushes: no frame made of event %s (%s)", event.seq, event.type)
            continue
        if frame is not None:
            frames.append(frame)
    return frames


def _place(event: LoggedEvent) -> LogPlace:
    return {"stream": cast(Literal["interactions", "agents"], event.stream), "seq": event.seq}


def _frame(event: LoggedEvent, named: _Named) -> tuple[str, AgentFrame] | None:
    data, place = event.data, _place(event)
    if event.type == "offered":
        offer = named.offers.get(event.subject)
        if offer is None or offer.offer_id != data["offer_id"]:
            return None
        return data["agent_id"], wire.offer_frame(event.subject, offer, named.latest.get(event.subject), place)
    if event.type in _CLOSED and "offer_id" in data:
        return data["agent_id"], offer_closed_frame(data["offer_id"], event.subject, _CLOSED[event.type], place)
    if event.type == "message_received" and data.get("message_id") in named.held:
        agent_id, message = named.held[data["message_id"]]
        return agent_id, wire.new_message_frame(message, place)
    if event.type in _ENDED and "agent_id" in data:
        return data["agent_id"], customer_ended_frame(event.subject, place)
    if event.type in _MONITORING and isinstance(data.get("supervisor"), str):
        mode = data["mode"] if event.type == "call_monitored" else None
        return data["supervisor"], monitor_frame(event.subject, mode, place)
    taken_from = data.get("from_agent_id")
    if event.type in _TAKEN and isinstance(taken_from, str) and taken_from != event.actor_id:
        # An agent who transferred their own interaction knows; one who lost it to
        # another's hand hears of it.
        reason = cast(Literal["taken_over", "transferred"], event.type)
        return taken_from, work_taken_frame(event.subject, reason, event.actor_id, place)
    return None


def status_frames(read: Sequence[LoggedEvent]) -> Frames:
    return [
        (event.subject, wire.status_frame(event.data["to"], event.data.get("reason"), _place(event)))
        for event in read
        if event.type == "status_changed" and "to" in event.data
    ]


def missed_frames(conn: Connection, agent_id: str, since: LogPositions, upto: LogPositions) -> Frames | None:
    """The agent's frames of the events after ``since`` up to ``upto`` (where the live
    pushes are), status first, as the reader sends them; None when ``since`` is not within
    the last ``REPLAY_EVENTS`` of a stream (or not a position of this log)."""
    streams = (
        (events.AGENTS, since["agents"], upto["agents"], _STATES),
        (events.INTERACTIONS, since["interactions"], upto["interactions"], PUSHED),
    )
    read: list[list[LoggedEvent]] = []
    for stream, after, last, types in streams:
        if not 0 <= last - after <= REPLAY_EVENTS:
            return None
        page = events.read(conn, stream, after, REPLAY_EVENTS, types)
        read.append([event for event in page.events if event.seq <= last])
    states, happened = read
    # Only the events that may name the agent are made into frames: a window of a busy
    # centre's is thousands of other agents' offers and messages.
    theirs = [event for event in happened if _names(event, agent_id)]
    frames = status_frames([event for event in states if event.subject == agent_id]) + interaction_frames(conn, theirs)
    return [(owner, frame) for owner, frame in frames if owner == agent_id]


def _names(event: LoggedEvent, agent_id: str) -> bool:
    """Whether the event's frame could be the agent's: it names them (a message names
    none, and is theirs when they hold its interaction, which the frame reads)."""
    return event.type == "message_received" or agent_id in (
        event.data.get("agent_id"),
        event.data.get("supervisor"),
        event.data.get("from_agent_id"),
    )


class AgentPushes:
    """The reader of both streams; writers call ``wake`` as they submit a write the agents
    hear of."""

    def __init__(self, writer: Writer, hub: AgentHub) -> None:
        # The agents stream's place: moved on the event loop once a read's frames are out,
        # so a read that failed is read again from where the last one ended.
        self._agents_after: int | None = None
        self.reader = LogConsumer(
            "agent-pushes", events.INTERACTIONS, PUSHED, writer, self._read, self._push, from_head=True, durable=False
        )
        self._writer = writer
        self._hub = hub
        # How far the pushes have gone (None before the first read), and when the sockets
        # were last told so.
        self._pushed: LogPositions | None = None
        self._told: tuple[LogPositions | None, float] = (None, 0.0)
        # Set by the wiring when other instances read the log too: told how far this one's
        # pushes went, so they read on at once (dispatch/fanout.py).
        self.moved: Callable[[LogPositions], None] | None = None
        # The furthest another instance said it read: only a read past it is news to them.
        self._heard: LogPositions = {"interactions": 0, "agents": 0}

    def wake(self) -> None:
        self.reader.wake()

    def heard(self, positions: LogPositions) -> None:
        """Another instance's pushes read the log up to ``positions``: read on."""
        self._heard = {
            "interactions": max(self._heard["interactions"], positions["interactions"]),
            "agents": max(self._heard["agents"], positions["agents"]),
        }
        self.reader.wake()

    @property
    def position(self) -> LogPositions | None:
        """How far the pushes have gone: a socket attached (held) in the same step as this
        is read gets every later frame, and was sent none of the earlier ones."""
        return self._pushed

    async def missed(self, agent_id: str, since: LogPositions, upto: LogPositions) -> Frames | None:
        """``missed_frames``, read by the writer."""
        return await self._writer.submit(lambda conn: missed_frames(conn, agent_id, since, upto))

    def _read(self, conn: Connection, read: Sequence[LoggedEvent]) -> tuple[Frames, int, bool]:
        """The read's frames, the agents stream's place after it, and whether more of that
        stream is waiting (a full batch)."""
        after = events.head(conn, events.AGENTS) if self._agents_after is None else self._agents_after
        states = events.read(conn, events.AGENTS, after, BATCH, _STATES)
        frames = status_frames(states.events) + interaction_frames(conn, read)
        return frames, states.to, len(states.events) == BATCH

    async def _push(self, read: tuple[Frames, int, bool]) -> None:
        # One step, with no await: a socket joining sees the position before these frames
        # or after them, never between.
        frames, self._agents_after, more = read
        for agent_id, frame in frames:
            self._hub.push(agent_id, frame)
        # The interactions stream's part of this read ends where its next one starts.
        pushed = self._pushed = {"interactions": self.reader.reading_to, "agents": self._agents_after}
        news = any(pushed[stream] > self._heard[stream] for stream in ("interactions", "agents"))
        if news and self.moved is not None:
            self._heard = pushed
            self.moved(pushed)
        told, at = self._told
        if self._pushed != told and time.monotonic() - at >= POSITION_SECONDS:
            for owner in self._hub.owners():
                self._hub.push(owner, position_frame(self._pushed))
            self._told = (self._pushed, time.monotonic())
        if more:
            self.reader.wake()
