"""Offers as storage records them and agents hear of them: the one transaction that
turns a batch of routing decisions into state changes with their events, and the frames."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from interaction_center.dispatch.profiles import to_datetime
from interaction_center.domain.model import SYSTEM, InteractionState
from routing import Offer
from storage import intake_rows as rows
from storage import interactions as store
from storage.models import Agent

PREVIEW_CHARS = 160


def offers_recorded(conn: Connection, offers: Sequence[Offer], now: datetime) -> dict[str, dict[str, Any]]:
    """Record the offers that still apply; their previews by interaction. Each is one
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
    latest = rows.latest_inbound(conn, landed)
    previews: dict[str, dict[str, Any]] = {interaction_id: {} for interaction_id in landed}
    for interaction_id, (sender, body) in latest.items():
        previews[interaction_id] = {"from": sender, "body": body[:PREVIEW_CHARS]}
    return previews


def status_frame(agent: Agent) -> dict[str, Any]:
    return {"type": "status", "status": agent.status, "reason": agent.status_reason}


def offer_frame(offer: Offer, preview: dict[str, Any]) -> dict[str, object]:
    return {
        "preview": preview,
        "type": "offer",
        "offer_id": offer.offer_id,
        "interaction_id": offer.interaction_id,
        "channel": offer.entry.channel,
        "queue": offer.entry.queue,
        "priority": offer.entry.priority,
        "expires_at": to_datetime(offer.expires_at).isoformat(),
    }
