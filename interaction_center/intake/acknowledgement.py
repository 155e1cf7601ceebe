"""The optional acknowledgement of a new email contact: a short mail with its reference,
sent after the SMTP 250 (a slow relay never holds up intake) and kept on the interaction
like any message, so the customer's answer to it threads back."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.email.address import thread_token
from channels.email.threads import threaded
from interaction_center.domain.errors import ChannelError
from interaction_center.domain.model import SYSTEM, Direction, OutboundMessage, OutboundSender
from storage import interactions as store
from storage.models import Message
from storage.reader import in_session

log = logging.getLogger(__name__)

# How long shutdown waits for acknowledgements still being sent.
_CLOSE_SECONDS = 5.0

_TEXT = """Thank you for your message. We have received it and will answer as soon as we can.

Your reference: {reference}
Reply to this email to add to the same request.
"""


class Acknowledger:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], sender: OutboundSender, from_address: str) -> None:
        self._sessions = sessions
        self._sender = sender
        self._from = from_address
        self._pending: set[asyncio.Task[None]] = set()

    def schedule(self, interaction_id: str) -> None:
        task = asyncio.create_task(self._run(interaction_id), name=f"acknowledge-{interaction_id}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _run(self, interaction_id: str) -> None:
        try:
            await self._acknowledge(interaction_id)
        except Exception:  # a background courtesy: its failure is logged, never raised into intake
            log.exception("interaction %s: acknowledgement not sent", interaction_id)

    async def _acknowledge(self, interaction_id: str) -> None:
        async with self._sessions.begin() as session:
            interaction = await store.get(session, interaction_id)
            rows = await in_session(session, lambda conn: store.messages(conn, [interaction_id]))
            inbound = store.first_inbound(rows)
            if inbound is None:
                return
            reference = thread_token(interaction.thread_key) or interaction.id
            message = Message(
                interaction_id=interaction_id,
                channel=interaction.channel,
                direction=Direction.OUTBOUND,
                from_address=self._from,
                to_address=inbound.from_address,
                body=_TEXT.format(reference=reference),
                status="sending",
                attributes={"acknowledgement": True},
            )
            session.add(message)
        outbound = OutboundMessage(
            interaction_id, message.to_address, message.from_address, message.body, automated=True
        )
        outbound = threaded(outbound, rows, interaction.thread_key)
        try:
            sent = await self._sender.send(outbound)
        except ChannelError as exc:
            log.warning("interaction %s: acknowledgement failed: %s", interaction_id, exc.message)
            await self._settle(message, "failed", None, exc.message)
            return
        await self._settle(message, sent.status, sent.external_id, None)
        log.info("interaction %s: acknowledged with %s", interaction_id, sent.external_id)

    async def _settle(self, message: Message, status: str, external_id: str | None, error: str | None) -> None:
        async with self._sessions.begin() as session:
            row = await session.merge(message)
            row.status, row.external_id, row.error = status, external_id, error
            data = {"message_id": row.id, "status": status, **({"error": error} if error else {})}
            store.record_event(
                session, row.interaction_id, "acknowledgement_" + ("failed" if error else "sent"), SYSTEM, data
            )

    async def close(self) -> None:
        if self._pending:
            _, late = await asyncio.wait(set(self._pending), timeout=_CLOSE_SECONDS)
            for task in late:
                task.cancel()
