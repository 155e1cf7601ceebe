"""Customers and the identities (phone, email, chat visitor) that lead to them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, CustomerIdentity, new_id


async def resolve(session: AsyncSession, kind: str, value: str) -> Customer:
    """The customer owning this identity, created with it when unknown. Two racing
    creations meet on the identity's unique key; the caller retries the transaction."""
    found = await session.scalar(
        select(Customer)
        .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
        .where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
    )
    if found is not None:
        return found
    # Ids are minted here, so both rows wait for the commit's one flush.
    customer = Customer(id=new_id(), display_name=value)
    session.add_all([customer, CustomerIdentity(customer_id=customer.id, kind=kind, value=value)])
    return customer


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


async def link(session: AsyncSession, customer_id: str, kind: str, value: str) -> str | None:
    """Give the customer one more identity. Returns the id of the customer who already
    holds it (None when it is now, or already was, this customer's): two existing records
    are never merged behind a person's back."""
    found = await identity(session, kind, value)
    if found is None:
        session.add(CustomerIdentity(customer_id=customer_id, kind=kind, value=value))
        return None
    return None if found.customer_id == customer_id else found.customer_id
