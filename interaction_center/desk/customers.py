"""Customers as agents find and keep them: search by phone (any format), email, account
number (the company's own id) or the beginning of a name; a record's name edited and
identities added; two records of one person merged (identities and history move, and the
merge is recorded with what moved) and a merge undone from that record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from interaction_center import wire as serialize
from interaction_center.desk.access import check_may_read
from interaction_center.domain.errors import Conflict, InvalidInput, NotFound
from interaction_center.domain.identity import name_key, normalize_email, normalize_phone
from interaction_center.domain.model import IdentityKind
from interaction_center.domain.stamps import utcnow
from interaction_center.domain.wire import CustomersBody
from interaction_center.settings.model import Settings
from storage import customer_records as records
from storage import customers as customer_store
from storage.models import Agent, Customer, CustomerIdentity, CustomerMerge
from storage.reader import Reader, in_session
from storage.rows import CustomerFields

SEARCH_LIMIT = 20
# What a search names, and the identity kind it looks up (a name is searched apart).
_BY_IDENTITY = {"phone": IdentityKind.PHONE, "email": IdentityKind.EMAIL, "external_id": IdentityKind.ACCOUNT}
EDITABLE = ("display_name", "add_identities")
SEARCH_BY = (*_BY_IDENTITY, "name")


class CustomerDesk:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], reader: Reader, settings: Settings) -> None:
        self._sessions = sessions
        self._reader = reader
        self._region = settings.twilio.default_region

    async def search(self, by: str, value: str) -> CustomersBody:
        """Every agent may search: a customer on the phone must be found by whoever answers."""
        if by == "name":
            key = name_key(value)
            if not key:
                raise InvalidInput("name: give the beginning of a name", code="customer.bad_search")

            def find(conn: Connection) -> Sequence[CustomerFields]:
                return records.by_name(conn, key, SEARCH_LIMIT)
        elif by in _BY_IDENTITY:
            kind = _BY_IDENTITY[by]
            identity = self._identity_value(kind, value)

            def find(conn: Connection) -> Sequence[CustomerFields]:
                return records.by_identity(conn, kind, identity)
        else:
            raise InvalidInput(
                f"search by one of phone, email, external_id, name; not {by!r}", code="customer.bad_search"
            )

        def read(conn: Connection) -> CustomersBody:
            found = find(conn)
            return serialize.customers(found, records.identities_of(conn, [c.id for c in found]))

        return await self._reader.run(read)

    async def edit(self, agent: Agent, customer_id: str, changes: dict[str, Any]) -> Customer:
        """``display_name``; ``add_identities``: [{kind, value}] (phone, email, account),
        each not another customer's (that is a merge)."""
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown or not changes:
            raise InvalidInput(f"an edit changes {' and '.join(EDITABLE)}", code="customer.bad_edit")
        name = changes.get("display_name")
        if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 200):
            raise InvalidInput("display_name: a name of 1 to 200 characters", code="customer.bad_edit")
        items = changes.get("add_identities", [])
        if not isinstance(items, list):
            raise InvalidInput("add_identities: a list of {kind, value}", code="customer.bad_identity")
        added = [self._identity(item) for item in items]
        async with self._sessions.begin() as session:
            customer = await self._readable(session, agent, customer_id)
            for kind, value in added:
                owner = await customer_store.identity(session, kind, value)
                if owner is not None and owner.customer_id != customer.id:
                    raise Conflict(
                        f"{kind} {value} is customer {owner.customer_id}'s: merge the two records instead",
                        code="customer.identity_taken",
                    )
                if owner is None:
                    session.add(CustomerIdentity(customer_id=customer.id, kind=kind, value=value))
            if name is not None:
                customer.display_name, customer.name_key = name.strip(), name_key(name)
        return customer

    async def merge(self, agent: Agent, into_id: str, from_id: str) -> int:
        """``from_id``'s identities and interactions become ``into_id``'s; the merge's id."""
        if into_id == from_id:
            raise InvalidInput("a customer is not merged into themselves", code="customer.bad_merge")
        async with self._sessions.begin() as session:
            into = await self._readable(session, agent, into_id)
            other = await self._readable(session, agent, from_id)
            if into.merged_into is not None or other.merged_into is not None:
                raise Conflict("one of the two was merged into another customer already", code="customer.merged")
            moved = await in_session(session, lambda conn: records.identities_of(conn, [other.id]))
            identity_ids = [i.id for i in moved]
            interaction_ids = await records.interaction_ids(session, other.id)
            await records.move(session, identity_ids, interaction_ids, into.id)
            other.merged_into = into.id
            merge = CustomerMerge(
                into_id=into.id,
                from_id=other.id,
                identity_ids=identity_ids,
                interaction_ids=interaction_ids,
                merged_by=agent.id,
                merged_at=utcnow(),
            )
            session.add(merge)
            await session.flush()
            return merge.id

    async def unmerge(self, agent: Agent, into_id: str, merge_id: int) -> None:
        """What the merge moved goes back; what was added to the record since stays."""
        async with self._sessions.begin() as session:
            into = await self._readable(session, agent, into_id)
            if into.merged_into is not None:
                # Its rows are another's now: undo that merge first, or this one would
                # take them from there.
                raise Conflict(
                    f"customer {into_id} was merged into {into.merged_into} since: unmerge that first",
                    code="customer.merged",
                )
            merge = await records.merge(session, merge_id)
            if merge is None or merge.into_id != into_id:
                raise NotFound(f"customer {into_id} has no merge {merge_id}", code="customer.no_merge")
            if merge.unmerged_at is not None:
                raise Conflict("that merge was undone already", code="customer.unmerged")
            other = await customer_store.get(session, merge.from_id)
            assert other is not None  # a merge's customers are never deleted
            await records.move_back(session, merge.identity_ids, merge.interaction_ids, into.id, other.id)
            other.merged_into = None
            merge.unmerged_by, merge.unmerged_at = agent.id, utcnow()

    async def _readable(self, session: AsyncSession, agent: Agent, customer_id: str) -> Customer:
        customer = await customer_store.get(session, customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id}", code="customer.not_found")
        await check_may_read(session, agent, customer_id=customer.id)
        return customer

    def _identity(self, item: Any) -> tuple[str, str]:
        if not isinstance(item, dict) or set(item) != {"kind", "value"} or not isinstance(item["value"], str):
            raise InvalidInput("an identity is {kind, value}", code="customer.bad_identity")
        kind = item["kind"]
        if kind not in _BY_IDENTITY.values():
            raise InvalidInput("an identity's kind is phone, email or account", code="customer.bad_identity")
        return kind, self._identity_value(kind, item["value"])

    def _identity_value(self, kind: str, value: str) -> str:
        """As intake stores it: E.164 numbers, lower-case addresses."""
        value = value.strip()
        if kind == IdentityKind.PHONE:
            return normalize_phone(value, self._region)
        if kind == IdentityKind.EMAIL:
            return normalize_email(value)
        if not value or len(value) > 100:
            raise InvalidInput("an account number of 1 to 100 characters", code="customer.bad_identity")
        return value
