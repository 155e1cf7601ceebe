"""The frequent transitions of one interaction as plain statements for the writer: an offer
accepted, an offer returned to its queue, an interaction completed. Each is one
conditional UPDATE (on the version read in the same transaction, in the state it must be
in) with its events, so a second writer loses cleanly, and several of them share one
commit (see ``storage.writer``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select

from interaction_center.domain.errors import Conflict, Forbidden, NotFound, StaleState
from interaction_center.domain.model import Actor, ActorKind, InteractionState
from storage import intake_rows as rows
from storage.interactions import event_row, transition_data, transition_values, waiting_facts
from storage.models import Interaction

_I = rows.INTERACTIONS

# Built once: building and keying a statement cost more than running it (see intake_rows).
_ROW = select(_I).where(_I.c.id == bindparam("row_id"))
_OFFER_HELD = select(
    _I.c.offered_agent_id, _I.c.version, _I.c.queue, _I.c.channel, _I.c.enqueued_at, _I.c.answer_deadline
).where(_I.c.id == bindparam("row_id"), _I.c.state == InteractionState.OFFERED, _I.c.offer_id == bindparam("held"))
_NO_OFFER = {"offer_id": None, "offered_agent_id": None, "offer_expires_at": None}


def accept(conn: Connection, interaction_id: str, offer_id: str, agent_id: str, now: datetime) -> None:
    """The offer ``offer_id`` of the interaction taken by the agent; Conflict when the
    interaction no longer holds that offer (lapsed, withdrawn, taken)."""
    taken = _out_of_offer(conn, interaction_id, offer_id, InteractionState.ASSIGNED, now, assigned_agent_id=agent_id)
    if taken is None:
        raise Conflict("the offer is no longer open", code="offer.closed")
    waited = waiting_facts(taken.queue, taken.channel, taken.enqueued_at, taken.answer_deadline)
    data = transition_data(InteractionState.OFFERED, InteractionState.ASSIGNED, {"offer_id": offer_id, **waited})
    rows.insert_all(conn, (), (), [event_row(interaction_id, "accepted", Actor(ActorKind.AGENT, agent_id), data, now)])


def complete(
    conn: Connection, interaction_id: str, disposition: str, outcome: dict[str, Any], agent_id: str, now: datetime
) -> Interaction:
    """The interaction the agent holds, completed through wrap-up with its disposition
    (``outcome``: what the completed event says beside it, a note, a complaint); the
    interaction as it now stands (detached: a record to answer with)."""
    held = conn.execute(_ROW, {"row_id": interaction_id}).mappings().one_or_none()
    if held is None:
        raise NotFound(f"no interaction {interaction_id}", code="interaction.not_found")
    check_held(held["state"], held["assigned_agent_id"], agent_id)
    values: dict[str, Any] = {
        **transition_values(InteractionState.WRAP_UP, InteractionState.COMPLETED, now),
        "disposition": disposition,
    }
    _landed(rows.update_interaction(conn, {"id": interaction_id, "expected_version": held["version"], **values}))
    actor = Actor(ActorKind.AGENT, agent_id)
    wrap_up = transition_data(InteractionState.ASSIGNED, InteractionState.WRAP_UP, None)
    completed = transition_data(
        InteractionState.WRAP_UP, InteractionState.COMPLETED, {"disposition": disposition, **outcome}
    )
    rows.insert_all(
        conn,
        (),
        (),
        [
            event_row(interaction_id, "wrap_up_started", actor, wrap_up, now),
            event_row(interaction_id, "completed", actor, completed, now),
        ],
    )
    return Interaction(**{**held, **values, "version": held["version"] + 1})


def requeue(
    conn: Connection, interaction_id: str, offer_id: str | None, event: str, actor: Actor, now: datetime
) -> bool:
    """The offer closed, the interaction queued again, with ``event``; False, and nothing
    written, when the interaction no longer holds that offer (an accept or a close got
    there first)."""
    held = _out_of_offer(conn, interaction_id, offer_id, InteractionState.QUEUED, now)
    if held is None:
        return False
    data = transition_data(
        InteractionState.OFFERED, InteractionState.QUEUED, {"agent_id": held.offered_agent_id, "offer_id": offer_id}
    )
    rows.insert_all(conn, (), (), [event_row(interaction_id, event, actor, data, now)])
    return True


def _out_of_offer(
    conn: Connection,
    interaction_id: str,
    offer_id: str | None,
    target: InteractionState,
    now: datetime,
    **columns: Any,
) -> Row[str | None, int, str, str, datetime | None, datetime | None] | None:
    """The interaction moved from the offer ``offer_id`` to ``target`` (with ``columns``),
    the offer cleared; what it held (the agent offered to, the version, where it waited
    and its answer target), or None, and nothing written, when the interaction no longer
    holds that offer."""
    held = conn.execute(_OFFER_HELD, {"row_id": interaction_id, "held": offer_id}).one_or_none()
    if held is None:
        return None
    values = {**transition_values(InteractionState.OFFERED, target, now), **_NO_OFFER, **columns}
    _landed(rows.update_interaction(conn, {"id": interaction_id, "expected_version": held.version, **values}))
    return held


def _landed(moved: bool) -> None:
    # Never on SQLite, whose writer holds the write lock from its first read; on
    # PostgreSQL another instance's transaction can move the row between read and write.
    if not moved:
        raise StaleState("someone else changed this in the meantime; nothing was written")


def check_held(state: str, assigned_agent_id: str | None, agent_id: str) -> None:
    """Raises unless the interaction is assigned to ``agent_id``: what an agent may work on."""
    if assigned_agent_id != agent_id:
        raise Forbidden("the interaction is not assigned to you", code="interaction.not_yours")
    if state != InteractionState.ASSIGNED:
        raise Conflict(f"the interaction is {state}", code="interaction.not_assigned")
