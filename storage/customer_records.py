"""Customers as agents find and change them: search by identity or name, identities added,
and merges (with what moved) done and undone."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, CustomerIdentity, CustomerMerge, Interaction


async def by_identity(session: AsyncSession, kind: str, value: str) -> list[Customer]:
    found = await session.scalar(
        select(Customer)
        .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
        .where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
    )
    return [] if found is None else [found]


async def by_name(session: AsyncSession, prefix: str, limit: int) -> list[Customer]:
    """Customers whose name begins with ``prefix`` (a name key): a range on its index."""
    rows = await session.scalars(
        select(Customer)
        .where(Customer.name_key >= prefix, Customer.name_key < prefix + "\U0010ffff", Customer.merged_into.is_(None))
        .order_by(Customer.name_key, Customer.id)
        .limit(limit)
    )
    return list(rows)


async def identities_of(session: AsyncSession, customer_ids: Sequence[str]) -> list[CustomerIdentity]:
    rows = await session.scalars(
        select(CustomerIdentity).where(CustomerIdentity.customer_id.in_(customer_ids)).order_by(CustomerIdentity.id)
    )
    return list(rows)


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


async def merges_into(session: AsyncSession, customer_id: str) -> list[CustomerMerge]:
    rows = await session.scalars(
        select(CustomerMerge).where(CustomerMerge.into_id == customer_id).order_by(CustomerMerge.id)
    )
    return list(rows)


async def merge(session: AsyncSession, merge_id: int) -> CustomerMerge | None:
    return await session.get(CustomerMerge, merge_id, with_for_update=True)
