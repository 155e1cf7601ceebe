"""Inbound contacts become interactions: customer resolved, thread continued or opened,
everything committed before the channel acknowledges the sender."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interaction_center.domain.errors import InvalidInput
from interaction_center.domain.model import SYSTEM, Channel, Direction, InboundContact
from interaction_center.domain.stamps import utcnow
from interaction_center.intake import batch as intake_batch
from interaction_center.intake.batch import IntakeResult
from interaction_center.intake.group_commit import GroupCommit
from interaction_center.settings.model import Settings
from storage import interactions as store
from storage.writer import Writer

__all__ = ["Intake", "IntakeResult"]

log = logging.getLogger(__name__)

# Delivery states in the order they happen; the final ones share the last rank.
_DELIVERY_RANK = {
    "accepted": 1, "scheduled": 1, "queued": 2, "sending": 3, "sent": 4,
    "delivered": 5, "undelivered": 5, "failed": 5, "canceled": 5, "read": 6,
}  # fmt: skip

# Identity and open-thread races with another writer surface as unique-key violations; a
# fresh transaction then finds the row the other writer committed.
_ATTEMPTS = 3


def _database_gone(exc: Exception) -> bool:
    """A failure no contact can cause: the connection refused or lost. It fails a whole
    batch at once; any other failure has its batch written again contact by contact,
    since a contact can make the database (or its driver) raise almost anything."""
    return isinstance(exc, OSError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


class Intake:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        writer: Writer,
        settings: Settings,
        writing: Callable[[], None],
        held: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._writer = writer
        self._writing = writing
        self._held = held
        self._settings = settings
        self._batches: GroupCommit[tuple[InboundContact, str], intake_batch.Stored] = GroupCommit(
            self._take_in, after=self._tell_agents, whole_batch=_database_gone
        )

    async def receive(self, contact: InboundContact, queue: str) -> IntakeResult:
        """Store the contact: committed, with the events of what it opened, when this
        returns. Routing reads those events from the log (dispatch.feed), so the sender's
        answer never waits for it."""
        # A held contact waits in no queue until its channel queues it.
        if queue not in self._settings.queues and not (contact.held and queue == ""):
            raise InvalidInput(f"no queue named {queue!r}", code="queue.unknown")
        return (await self._batches.submit((contact, queue))).result

    async def close(self) -> None:
        """Finish what was received: everything acknowledged is committed."""
        await self._batches.close()

    async def _take_in(self, items: Sequence[tuple[InboundContact, str]]) -> list[intake_batch.Stored]:
        attempt = 1
        while True:
            written = self._writer.submit(lambda conn: intake_batch.write(conn, items, self._settings, utcnow()))
            # The log's readers queue their read right behind it: in its transaction when
            # they can, so routing has the contact from the same commit, without another.
            self._writing()
            try:
                stored = await written
                break
            except IntegrityError:
                if attempt == _ATTEMPTS:
                    raise
                attempt += 1
                log.info("a batch of %d contacts raced another writer, retrying", len(items))
        for outcome in stored:
            log.debug("interaction %s: contact %s", outcome.result.interaction_id, _verdict(outcome.result))
        return stored

    async def _tell_agents(self, stored: Sequence[intake_batch.Stored]) -> None:
        """Messages on interactions agents hold: their pushes' read is woken once the
        senders have their answer (the message frames are read from the log)."""
        if any(outcome.held for outcome in stored):
            self._held()

    async def delivery(self, channel: Channel, external_id: str, status: str, error: str | None) -> None:
        """A delivery report for a message we sent. Reports can arrive out of order, so a
        status never moves back (a late "sent" does not undo "delivered"); unknown ids
        are logged and dropped, as the sender cannot do better with them."""
        async with self._sessions.begin() as session:
            message = await store.find_message(session, channel, external_id)
            if message is None or message.direction != Direction.OUTBOUND:
                log.info("delivery report for unknown message %s ignored", external_id)
                return
            if _DELIVERY_RANK.get(status, 0) < _DELIVERY_RANK.get(message.status, 0) or status == message.status:
                return
            message.status, message.status_updated_at = status, utcnow()
            if error is not None:
                message.error = f"{channel} error {error}"
            data = {"message_id": message.id, "status": status, **({"error_code": error} if error else {})}
            store.record_event(session, message.interaction_id, "message_status", SYSTEM, data)


def _verdict(result: IntakeResult) -> str:
    if result.duplicate:
        return "ignored as a duplicate"
    return "opened" if result.created else "filed" if result.filed else "continued"
