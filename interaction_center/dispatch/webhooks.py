"""Outbound webhooks: each ``[[webhooks]]`` receiver gets the event log's events of the
types it names, in the log's order, as JSON posted to its URL, one at a time.

- Signed: ``X-IC-Signature: v1=<hex HMAC-SHA256 of "<X-IC-Timestamp>.<body>" with the
  receiver's secret>``; the receiver checks it and the timestamp's age.
- At least once: a failed delivery (no answer within ``timeout_seconds``, or not a 2xx)
  is tried again after ``retry_seconds``, doubling up to five minutes, for as long as it
  takes; the receiver's place in the log is stored only after delivery, so a restart may
  send an event again. Its ``Idempotency-Key`` (``<stream>:<seq>``) is the same each time.
- Each receiver is its own consumer of the log: a slow or dead one holds up no other, nor
  anything of the service's own. With several instances one delivers to it at a time
  (``Membership.alone``); another takes over from the stored position if it dies."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Sequence

import aiohttp
from sqlalchemy import Connection

from interaction_center.dispatch.consumer import LogConsumer
from interaction_center.settings.model import WebhookSettings
from storage import events
from storage.events import LoggedEvent
from storage.writer import Writer

log = logging.getLogger(__name__)

LONGEST_PAUSE = 300.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


class Webhook:
    def __init__(self, settings: WebhookSettings, writer: Writer) -> None:
        self._settings = settings
        self._writer = writer
        self._session: aiohttp.ClientSession | None = None
        self.name = f"webhook:{settings.name}"
        self.consumer = self._consumer()
        # Whether this instance delivers to the receiver now (several take turns).
        self.delivering = False

    def _consumer(self) -> LogConsumer[Sequence[LoggedEvent]]:
        return LogConsumer(
            self.name,
            events.INTERACTIONS,
            frozenset(self._settings.events),
            self._writer,
            _loaded,
            self._deliver_all,
            from_head=True,
        )

    async def run(self) -> None:
        """Deliver until cancelled. Run again (several instances take turns: one delivers at
        a time), it starts from the position stored, where the last to deliver got to."""
        self.consumer = self._consumer()
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout_seconds)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self._session = session
            self.delivering = True
            try:
                await self.consumer.run()
            finally:
                self.delivering = False

    async def _deliver_all(self, batch: Sequence[LoggedEvent]) -> None:
        for event in batch:
            await self._deliver(event)

    async def _deliver(self, event: LoggedEvent) -> None:
        """Until the receiver takes it."""
        body = json.dumps(
            {
                "id": f"{event.stream}:{event.seq}",
                "type": event.type,
                "interaction_id": event.subject,
                "actor": {"kind": event.actor_kind, "id": event.actor_id},
                "data": event.data,
                "at": event.created_at.isoformat(),
            },
            separators=(",", ":"),
        ).encode()
        pause = self._settings.retry_seconds
        while True:
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "Idempotency-Key": f"{event.stream}:{event.seq}",
                "X-IC-Event": event.type,
                "X-IC-Timestamp": timestamp,
                "X-IC-Signature": signature(self._settings.secret, timestamp, body),
            }
            assert self._session is not None
            try:
                async with self._session.post(self._settings.url, data=body, headers=headers) as answer:
                    if 200 <= answer.status < 300:
                        return
                    why = f"HTTP {answer.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                why = str(exc) or type(exc).__name__
            log.warning(
                "webhook %s: event %s:%s not taken (%s); again in %.1f s",
                self._settings.name, event.stream, event.seq, why, pause,
            )  # fmt: skip
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)


def _loaded(conn: Connection, batch: Sequence[LoggedEvent]) -> Sequence[LoggedEvent]:
    return batch
