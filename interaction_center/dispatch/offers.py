"""Offers as storage records them: the one transaction that turns a batch of routing
decisions into state changes with their events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from interaction_center.domain.model import SYSTEM, InteractionState
from interaction_center.domain.stamps import to_datetime
from routing import Offer
from storage import intake_rows as rows
from storage import interactions as store


def offers_recorded(conn: Connection, offers: Sequence[Offer], now: datetime) -> set[str]:
    """Record the offers that still apply; the interactions whose offer landed. Each is one
    conditional write on the version read here, so an offer made by routing for an
    interaction someone else changed meanwhile (closed, offered by another instance) is
    left out, not recorded over theirs: its offer is then withdrawn, and the batch's
    other offers stand."""
    current = rows.states(conn, [offer.interaction_id for offer in offers])
    found = [
        offer
        for offer in offers
        if offer.interaction_id in current and current[offer.interaction_id][0] == InteractionState.QUEUED
    ]
    changes = []
    for offer in found:
        changes.append(
            {
                "id": offer.interaction_id,
                "expected_version": current[offer.interaction_id][1],
                **store.transition_values(InteractionState.QUEUED, InteractionState.OFFERED, now),
                "offer_id": offer.offer_id,
                "offered_agent_id": offer.agent_id,
                "offer_expires_at": to_datetime(offer.expires_at),
            }
        )
    rows.update_interactions(conn, changes)
    landed = rows.holding(conn, {offer.interaction_id: offer.offer_id for offer in found})
    events = []
    for offer in found:
        if offer.interaction_id in landed:
            offered = {"agent_id": offer.agent_id, "offer_id": offer.offer_id}
            data = store.transition_data(InteractionState.QUEUED, InteractionState.OFFERED, offered)
            events.append(store.event_row(offer.interaction_id, "offered", SYSTEM, data, now))
    rows.insert_all(conn, (), (), events)
    return landed
