"""Canned responses: the shared ones of the configuration (``[[canned]]``) and each agent's
own, found by shortcut or title and, for an interaction, filled from its customer's record
(``domain.templates``): what the agent then sends as a reply of theirs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interaction_center.desk.access import check_may_read
from interaction_center.domain import templates
from interaction_center.domain.errors import Conflict, InvalidInput, NotFound
from interaction_center.domain.model import IdentityKind
from interaction_center.domain.wire import CannedBody, CannedListBody
from interaction_center.settings.canned import checked
from interaction_center.settings.model import Settings
from storage import canned as canned_store
from storage import customer_records, customers
from storage import interactions as store
from storage.models import Agent, CannedText
from storage.reader import in_session

SHARED, MINE = "shared", "mine"


class CannedResponses:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings

    async def find(self, agent: Agent, query: str, interaction_id: str | None) -> CannedListBody:
        """The agent's own, then the shared ones, whose shortcut starts with ``query`` or
        whose title holds it; for an interaction, only its queue's, each filled in."""
        wanted = query.strip().lower()
        async with self._sessions() as session:
            values, queue = {}, None
            if interaction_id is not None:
                interaction = await store.get(session, interaction_id)
                await check_may_read(session, agent, interaction_id=interaction.id)
                queue = interaction.queue
                values = await _values(session, agent, interaction.customer_id, queue)
            own = await canned_store.of_agent(session, agent.id)
        found: list[CannedBody] = [_body(MINE, row.id, row.shortcut, row.title, row.body) for row in own]
        found += [
            _body(SHARED, None, c.shortcut, c.title, c.body)
            for c in self._settings.canned
            if queue is None or not c.queues or queue in c.queues
        ]
        matching = [c for c in found if c["shortcut"].startswith(wanted) or wanted in c["title"].lower()]
        if interaction_id is not None:
            for item in matching:
                item["text"] = templates.render(item["body"], values)
        return {"responses": matching}

    async def create(self, agent: Agent, spec: dict[str, Any]) -> CannedBody:
        shortcut, title, body = _checked(spec)
        row = CannedText(agent_id=agent.id, shortcut=shortcut, title=title.strip(), body=body)
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError as exc:
            raise Conflict(f"you have a canned response {shortcut!r}", code="canned.exists") from exc
        return _body(MINE, row.id, row.shortcut, row.title, row.body)

    async def edit(self, agent: Agent, canned_id: str, changes: dict[str, Any]) -> CannedBody:
        try:
            async with self._sessions.begin() as session:
                row = await self._own(session, agent, canned_id)
                spec = {"shortcut": row.shortcut, "title": row.title, "body": row.body, **changes}
                row.shortcut, row.title, row.body = _checked(spec)
        except IntegrityError as exc:
            raise Conflict(f"you have a canned response {changes.get('shortcut')!r}", code="canned.exists") from exc
        return _body(MINE, row.id, row.shortcut, row.title, row.body)

    async def delete(self, agent: Agent, canned_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.delete(await self._own(session, agent, canned_id))

    @staticmethod
    async def _own(session: AsyncSession, agent: Agent, canned_id: str) -> CannedText:
        row = await canned_store.get(session, agent.id, canned_id)
        if row is None:
            raise NotFound(f"you have no canned response {canned_id}", code="canned.not_found")
        return row


def _checked(spec: dict[str, Any]) -> tuple[str, str, str]:
    unknown = set(spec) - {"shortcut", "title", "body"}
    why = f"unknown fields: {', '.join(sorted(unknown))}" if unknown else None
    shortcut, title, body = spec.get("shortcut"), spec.get("title"), spec.get("body")
    why = why or checked(shortcut, title, body)
    if why is not None:
        raise InvalidInput(why, code="canned.invalid")
    assert isinstance(shortcut, str) and isinstance(title, str) and isinstance(body, str)
    return shortcut, title, body


def _body(source: str, canned_id: str | None, shortcut: str, title: str, body: str) -> CannedBody:
    return {"id": canned_id, "source": source, "shortcut": shortcut, "title": title, "body": body, "text": None}


async def _values(session: AsyncSession, agent: Agent, customer_id: str, queue: str) -> dict[str, str]:
    """What a template may name, from the customer's record, the agent and the queue."""
    customer = await customers.get(session, customer_id)
    identities = await in_session(session, lambda conn: customer_records.identities_of(conn, [customer_id]))
    first = {kind: next((i.value for i in identities if i.kind == kind), "") for kind in IdentityKind}
    name = customer.display_name if customer is not None else ""
    return {
        # Intake names a customer it knows nothing of by their number or address: no name
        # to greet them by.
        "customer.name": "" if name in {i.value for i in identities} else name,
        "customer.phone": first[IdentityKind.PHONE],
        "customer.email": first[IdentityKind.EMAIL],
        "agent.name": agent.display_name,
        "queue": queue,
    }
