"""The agents' live pushes, read from the event log: an offer, an offer closed under them,
a message on an interaction they hold (the interactions stream) and their own state (the
agents stream) reach their sockets from the events that record them, so whatever wrote
an event (this process's dispatcher or intake, or another instance) the agent hears of
it, in the order of the log. The writers wake the readers as they submit their writes
(``AgentPushes``), so a read rides in the same transaction when it can and the push goes
out with that commit; otherwise a read every ``POLL_SECONDS`` finds it.

What a push says is read in the read's own transaction: an offer no longer open (a
replay after a restart, or a consumer behind) is not pushed. A socket that connects
gets its ``hello`` snapshot; the frames are best effort beside it (``AgentHub``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import Connection

from interaction_center import wire
from interaction_center.dispatch.consumer import LogConsumer
from interaction_center.dispatch.notifier import AgentHub
from interaction_center.domain.wire import AgentFrame, offer_closed_frame
from storage import events
from storage import intake_rows as rows
from storage import pushes as reads
from storage.events import LoggedEvent
from storage.writer import Writer

Frames = list[tuple[str, AgentFrame]]

# The events that close an offer under its agent, and what its frame calls the reason. A
# rejected or accepted offer is closed by the agent, who has the answer already.
_CLOSED: dict[str, Literal["timeout", "revoked", "abandoned"]] = {
    "offer_timed_out": "timeout",
    "offer_revoked": "revoked",
    "abandoned": "abandoned",
}


def interaction_frames(conn: Connection, read: Sequence[LoggedEvent]) -> Frames:
    """The frames these interaction events call for, in their order, each to its agent.
    Fields are read with ``get``: an event without one it should have (written by another
    version) is passed over, where a KeyError would stop every agent's pushes at it."""
    offered = [event.subject for event in read if event.type == "offered"]
    still_open = reads.open_offers(conn, offered) if offered else {}
    latest = rows.latest_inbound(conn, still_open) if still_open else {}
    received = [event.data.get("message_id") for event in read if event.type == "message_received"]
    held = reads.held_messages(conn, [m for m in received if isinstance(m, str)]) if received else {}
    frames: Frames = []
    for event in read:
        data = event.data
        agent_id, offer_id = data.get("agent_id"), data.get("offer_id")
        if event.type == "offered" and agent_id:
            offer = still_open.get(event.subject)
            if offer is not None and offer.offer_id == offer_id:
                frames.append((agent_id, wire.offer_frame(event.subject, offer, latest.get(event.subject))))
        elif event.type in _CLOSED and agent_id and offer_id:
            frames.append((agent_id, offer_closed_frame(offer_id, event.subject, _CLOSED[event.type])))
        elif event.type == "message_received" and data.get("message_id") in held:
            holder, message = held[data["message_id"]]
            frames.append((holder, wire.new_message_frame(message)))
    return frames


def status_frames(_: Connection, read: Sequence[LoggedEvent]) -> Frames:
    return [
        (event.subject, wire.status_frame(event.data["to"], event.data.get("reason")))
        for event in read
        if event.type == "status_changed" and event.data.get("to")
    ]


class AgentPushes:
    """The two readers, one a stream; writers call ``wake_interactions`` or
    ``wake_agents`` as they submit a write the agents hear of."""

    def __init__(self, writer: Writer, hub: AgentHub) -> None:
        async def push(frames: Frames) -> None:
            for agent_id, frame in frames:
                hub.push(agent_id, frame)

        # Placed at the head when first started: what came before went to sockets long
        # gone. After a restart each resumes where it got to; a replayed offer that is no
        # longer open is not pushed, and a new socket starts from its snapshot anyway.
        self.interactions = LogConsumer(
            "agent-pushes", events.INTERACTIONS, writer, interaction_frames, push, from_head=True
        )
        self.agents = LogConsumer("agent-status-pushes", events.AGENTS, writer, status_frames, push, from_head=True)

    def wake_interactions(self) -> None:
        self.interactions.wake()

    def wake_agents(self) -> None:
        self.agents.wake()
