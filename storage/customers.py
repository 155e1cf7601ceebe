"""Customers and the identities (phone, email, chat visitor) that lead to them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, CustomerIdentity, Interaction


async def get(session: AsyncSession, customer_id: str) -> Customer | None:
    return await session.get(Customer, customer_id)


async def identities(session: AsyncSession, customer_id: str) -> list[CustomerIdentity]:
    rows = await session.scalars(
        select(CustomerIdentity).where(CustomerIdentity.customer_id == customer_id).order_by(CustomerIdentity.id)
    )
    return list(rows)


async def identity(session: AsyncSession, kind: str, value: str) -> CustomerIdentity | None:
    return await session.scalar(
        select(CustomerIdentity).where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
    )


async def returning_caller(session: AsyncSession, phone: str) -> str | None:
    """The customer who calls from ``phone``, if they were in touch before (more than the
    one interaction their current call opened)."""
    found = await identity(session, "phone", phone)
    if found is None:
        return None
    count = await session.scalar(
        select(func.count()).select_from(Interaction).where(Interaction.customer_id == found.customer_id)
    )
    return found.customer_id if (count or 0) > 1 else None
