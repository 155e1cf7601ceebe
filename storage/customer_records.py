"""Customers as agents find and change them: search by identity or name, identities added,
and merges (with what moved) done and undone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, CustomerIdentity, CustomerMerge, Interaction
from storage.prepared import Prepared
from storage.rows import CustomerFields, IdentityFields, MergeFields

# Searches and the customer's record read plain rows (storage.rows) on the Reader's
# connection: nothing they find is changed. A search is little more than its statements'
# cost to run, so they are prepared (storage.prepared).
_BY_IDENTITY = Prepared(
    select(Customer.__table__)
    .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
    .where(CustomerIdentity.kind == bindparam("kind"), CustomerIdentity.value == bindparam("value"))
)
_BY_NAME = Prepared(
    select(Customer.__table__)
    .where(
        Customer.name_key >= bindparam("prefix"),
        Customer.name_key < bindparam("beyond"),
        Customer.merged_into.is_(None),
    )
    .order_by(Customer.name_key, Customer.id)
    .limit(bindparam("limit"))
)
_IDENTITIES_OF = Prepared(
    select(CustomerIdentity.__table__)
    .where(CustomerIdentity.customer_id.in_(bindparam("ids", expanding=True)))
    .order_by(CustomerIdentity.id)
)


def by_identity(conn: Connection, kind: str, value: str) -> Sequence[CustomerFields]:
    return _BY_IDENTITY.records(conn, {"kind": kind, "value": value})


def by_name(conn: Connection, prefix: str, limit: int) -> Sequence[CustomerFields]:
    """Customers whose name begins with ``prefix`` (a name key): a range on its index."""
    return _BY_NAME.records(conn, {"prefix": prefix, "beyond": prefix + "\U0010ffff", "limit": limit})


def identities_of(conn: Connection, customer_ids: Sequence[str]) -> Sequence[IdentityFields]:
    return _IDENTITIES_OF.records(conn, {"ids": list(customer_ids)})


async def interaction_ids(session: AsyncSession, customer_id: str) -> list[str]:
    return list(await session.scalars(select(Interaction.id).where(Interaction.customer_id == customer_id)))


async def move(session: AsyncSession, identity_ids: Sequence[int], interaction_ids: Sequence[str], to: str) -> None:
    await _move(session, identity_ids, interaction_ids, to, None)


async def move_back(
    session: AsyncSession, identity_ids: Sequence[int], interaction_ids: Sequence[str], held_by: str, to: str
) -> None:
    """Those of the rows ``held_by`` still has: what a merge moved, less what left since."""
    await _move(session, identity_ids, interaction_ids, to, held_by)


async def _move(
    session: AsyncSession, identity_ids: Sequence[int], interaction_ids: Sequence[str], to: str, held_by: str | None
) -> None:
    if identity_ids:
        query = update(CustomerIdentity).where(CustomerIdentity.id.in_(identity_ids))
        if held_by is not None:
            query = query.where(CustomerIdentity.customer_id == held_by)
        await session.execute(query.values(customer_id=to))
    if interaction_ids:
        # Their version moves on, as any change of an interaction's does: a writer that read
        # one before the move finds it changed.
        moved = update(Interaction).where(Interaction.id.in_(interaction_ids))
        if held_by is not None:
            moved = moved.where(Interaction.customer_id == held_by)
        await session.execute(
            moved.values(customer_id=to, version=Interaction.version + 1).execution_options(synchronize_session=False)
        )


_MERGES_INTO = Prepared(
    select(CustomerMerge.__table__).where(CustomerMerge.into_id == bindparam("id")).order_by(CustomerMerge.id)
)
_CUSTOMER = Prepared(select(Customer.__table__).where(Customer.id == bindparam("id")))


def merges_into(conn: Connection, customer_id: str) -> Sequence[MergeFields]:
    return _MERGES_INTO.records(conn, {"id": customer_id})


def customer_row(conn: Connection, customer_id: str) -> CustomerFields | None:
    found = _CUSTOMER.records(conn, {"id": customer_id})
    return cast(CustomerFields, found[0]) if found else None


async def merge(session: AsyncSession, merge_id: int) -> CustomerMerge | None:
    return await session.get(CustomerMerge, merge_id, with_for_update=True)
