"""Customers and the identities (phone, email, chat visitor) that lead to them."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Connection, Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Customer, CustomerIdentity, Interaction
from storage.prepared import Prepared


async def get(session: AsyncSession, customer_id: str) -> Customer | None:
    return await session.get(Customer, customer_id)


async def identity(session: AsyncSession, kind: str, value: str) -> CustomerIdentity | None:
    return await session.scalar(
        select(CustomerIdentity).where(CustomerIdentity.kind == kind, CustomerIdentity.value == value)
    )


# The IVR's lookup, one statement each: the identity's customer, and whether they have a
# second interaction (counted no further than two, on the customer's index).
_IDENTITY = cast(Table, CustomerIdentity.__table__)
_INTERACTIONS = cast(Table, Interaction.__table__)
_BY_ACCOUNT = Prepared(
    select(_IDENTITY.c.customer_id).where(
        _IDENTITY.c.kind == bindparam("kind"), _IDENTITY.c.value == bindparam("value")
    )
)
_EARLIER = (
    select(func.count())
    .select_from(
        select(_INTERACTIONS.c.id)
        .where(_INTERACTIONS.c.customer_id == _IDENTITY.c.customer_id)
        .limit(2)
        .correlate(_IDENTITY)
        .subquery()
    )
    .scalar_subquery()
)
_RETURNING = Prepared(
    select(_IDENTITY.c.customer_id).where(
        _IDENTITY.c.kind == "phone", _IDENTITY.c.value == bindparam("value"), _EARLIER > 1
    )
)


def _returning(conn: Connection, phone: str) -> str | None:
    """The customer who calls from ``phone``, if they were in touch before (more than the
    one interaction their current call opened)."""
    rows = _RETURNING.rows(conn, {"value": phone})
    return str(rows[0][0]) if rows else None


def find_caller(conn: Connection, caller: str, account: str | None) -> str | None:
    """The IVR's lookup: the customer holding the account number ``account`` if one does,
    else the returning caller from ``caller`` (see ``_returning``)."""
    if account:
        rows = _BY_ACCOUNT.rows(conn, {"kind": "account", "value": account})
        if rows:
            return str(rows[0][0])
    return _returning(conn, caller) if caller else None
