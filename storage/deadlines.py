"""First-response deadlines as the routing tick checks them, several times a second: one
indexed read of the open, unanswered, unbreached interactions past their deadline, and for
each a conditional UPDATE (on the version just read) with its ``first_response_breached``
event, as one unit of the writer. (Through an ORM session on the event loop each look
made several thread hops and held the loop a millisecond or more, four times a second.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, text

from interaction_center.domain.model import SYSTEM
from storage import intake_rows as rows
from storage.interactions import event_row
from storage.models import FIRST_RESPONSE_PENDING_SQL
from storage.prepared import Prepared

_I = rows.INTERACTIONS
# The partial index ix_interactions_first_response_due's own condition, so the read costs
# what is due.
_OVERDUE = Prepared(
    select(_I.c.id, _I.c.version, _I.c.first_response_deadline, _I.c.queue, _I.c.channel).where(
        _I.c.first_response_deadline < bindparam("now"), text(FIRST_RESPONSE_PENDING_SQL)
    )
)


def record_first_response_breaches(conn: Connection, now: datetime) -> list[str]:
    """Mark every first response overdue at ``now`` breached, with its event; the ids."""
    breached: list[str] = []
    events: list[dict[str, Any]] = []
    for interaction_id, version, deadline, queue, channel in _OVERDUE.rows(conn, {"now": now}):
        change = {"id": interaction_id, "expected_version": version, "first_response_breached_at": now}
        if rows.update_interaction(conn, change):
            data = {"first_response_deadline": deadline.isoformat(), "queue": queue, "channel": channel}
            events.append(event_row(interaction_id, "first_response_breached", SYSTEM, data, now))
            breached.append(interaction_id)
    rows.insert_all(conn, (), (), events)
    return breached
