"""The desk's frequent transitions as plain statements for the writer: an offer accepted,
an interaction completed. Each is one conditional UPDATE (the state it must be in, the
version it was read at) with its events in the same transaction, so a second writer loses
cleanly, and several of them share one commit (see ``storage.writer``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from interaction_center.domain.errors import Conflict, Forbidden, NotFound, StaleState
from interaction_center.domain.model import Actor, ActorKind, InteractionState, check_transition
from storage import intake_rows as rows
from storage.interactions import event_row, transition_data, transition_values
from storage.models import Interaction

_I = rows.INTERACTIONS


def accept(conn: Connection, interaction_id: str, offer_id: str, agent_id: str, now: datetime) -> None:
    """The offer ``offer_id`` of the interaction taken by the agent; Conflict when the
    interaction no longer holds that offer (lapsed, withdrawn, taken)."""
    moved = conn.execute(
        update(_I)
        .where(_I.c.id == interaction_id, _I.c.state == InteractionState.OFFERED, _I.c.offer_id == offer_id)
        .values(
            **transition_values(InteractionState.OFFERED, InteractionState.ASSIGNED, now),
            assigned_agent_id=agent_id,
            offer_id=None,
            offered_agent_id=None,
            offer_expires_at=None,
            version=_I.c.version + 1,
        )
    ).rowcount
    if moved != 1:
        raise Conflict("the offer is no longer open", code="offer.closed")
    data = transition_data(InteractionState.OFFERED, InteractionState.ASSIGNED, {"offer_id": offer_id})
    rows.insert_all(conn, (), (), [event_row(interaction_id, "accepted", Actor(ActorKind.AGENT, agent_id), data, now)])


def complete(conn: Connection, interaction_id: str, disposition: str, agent_id: str, now: datetime) -> Interaction:
    """The interaction the agent holds, completed through wrap-up with its
    disposition; the interaction as it now stands (detached: a record to answer with)."""
    held = conn.execute(select(_I).where(_I.c.id == interaction_id)).mappings().one_or_none()
    if held is None:
        raise NotFound(f"no interaction {interaction_id}", code="interaction.not_found")
    check_held(held["state"], held["assigned_agent_id"], agent_id)
    values: dict[str, Any] = {
        **transition_values(InteractionState.WRAP_UP, InteractionState.COMPLETED, now),
        "disposition": disposition,
        "version": held["version"] + 1,
    }
    check_transition(InteractionState(held["state"]), InteractionState.WRAP_UP)
    moved = conn.execute(
        update(_I).where(_I.c.id == interaction_id, _I.c.version == held["version"]).values(values)
    ).rowcount
    if moved != 1:
        raise StaleState("someone else changed this in the meantime; nothing was written")
    actor = Actor(ActorKind.AGENT, agent_id)
    wrap_up = transition_data(InteractionState.ASSIGNED, InteractionState.WRAP_UP, None)
    completed = transition_data(InteractionState.WRAP_UP, InteractionState.COMPLETED, {"disposition": disposition})
    rows.insert_all(
        conn,
        (),
        (),
        [
            event_row(interaction_id, "wrap_up_started", actor, wrap_up, now),
            event_row(interaction_id, "completed", actor, completed, now),
        ],
    )
    return Interaction(**{**held, **values})


def check_held(state: str, assigned_agent_id: str | None, agent_id: str) -> None:
    """Raises unless the interaction is assigned to ``agent_id``: what an agent may work on."""
    if assigned_agent_id != agent_id:
        raise Forbidden("the interaction is not assigned to you", code="interaction.not_yours")
    if state != InteractionState.ASSIGNED:
        raise Conflict(f"the interaction is {state}", code="interaction.not_assigned")


def requeue(
    conn: Connection, interaction_id: str, offer_id: str | None, event: str, actor: Actor, now: datetime
) -> bool:
    """The offer closed, the interaction queued again, with ``event``; False, and nothing
    written, when the interaction no longer holds that offer (an accept or a close got
    there first)."""
    held = conn.execute(
        select(_I.c.offered_agent_id, _I.c.version).where(
            _I.c.id == interaction_id, _I.c.state == InteractionState.OFFERED, _I.c.offer_id == offer_id
        )
    ).one_or_none()
    if held is None:
        return False
    moved = conn.execute(
        update(_I)
        .where(_I.c.id == interaction_id, _I.c.version == held.version)
        .values(
            **transition_values(InteractionState.OFFERED, InteractionState.QUEUED, now),
            offer_id=None,
            offered_agent_id=None,
            offer_expires_at=None,
            version=held.version + 1,
        )
    ).rowcount
    if moved != 1:
        raise StaleState("someone else changed this in the meantime; nothing was written")
    data = transition_data(
        InteractionState.OFFERED, InteractionState.QUEUED, {"agent_id": held.offered_agent_id, "offer_id": offer_id}
    )
    rows.insert_all(conn, (), (), [event_row(interaction_id, event, actor, data, now)])
    return True
