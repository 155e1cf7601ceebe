"""Customers and the identities (phone, email, chat visitor) that lead to them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, CustomerIdentity


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
