"""Every state change is one conditional write: of two writers that read the same state,
one wins and the other gets StaleState with nothing written. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncEngine

from interaction_center.dispatch.offers import offers_recorded
from interaction_center.domain.errors import StaleState
from interaction_center.domain.model import Actor, ActorKind, InteractionState
from interaction_center.domain.stamps import new_id, utcnow
from routing import Offer, QueueEntry
from storage import interactions as store
from storage.database import create_engine, session_factory
from storage.models import Agent, Customer, Interaction, InteractionEvent
from storage.writer import Writer


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url)
    yield engine
    await engine.dispose()


async def _interaction(engine: AsyncEngine, state: InteractionState) -> tuple[str, list[str]]:
    """An interaction in ``state`` (offered to the first agent when offered), and two agents."""
    agents = [new_id(), new_id()]
    interaction_id = new_id()
    async with session_factory(engine).begin() as session:
        session.add_all(
            Agent(id=agent_id, username=agent_id, display_name="A", password_hash="x", role="agent")
            for agent_id in agents
        )
        customer = Customer(id=new_id())
        session.add(customer)
        await session.flush()
        session.add(
            Interaction(
                id=interaction_id,
                customer_id=customer.id,
                channel="sms",
                state=state,
                queue="support",
                thread_key=f"sms:{interaction_id}",
                enqueued_at=utcnow(),
                offer_id="offer-1" if state == InteractionState.OFFERED else None,
                offered_agent_id=agents[0] if state == InteractionState.OFFERED else None,
            )
        )
    return interaction_id, agents


async def test_two_accepts_racing_on_one_offer_one_wins_the_other_gets_a_clear_error(engine: AsyncEngine) -> None:
    interaction_id, agents = await _interaction(engine, InteractionState.OFFERED)
    sessions = session_factory(engine)
    read = asyncio.Event()
    readers = 0

    async def accept(agent_id: str) -> str:
        nonlocal readers
        async with sessions.begin() as session:
            interaction = await store.get(session, interaction_id)
            readers += 1
            if readers == 2:
                read.set()
            # Both have read the offer before either writes.
            await read.wait()
            actor = Actor(ActorKind.AGENT, agent_id)
            store.transition(
                session, interaction, InteractionState.ASSIGNED, actor, "accepted", {"offer_id": "offer-1"}
            )
            interaction.assigned_agent_id = agent_id
        return agent_id

    outcomes = await asyncio.gather(*(accept(agent_id) for agent_id in agents), return_exceptions=True)
    [winner] = [outcome for outcome in outcomes if isinstance(outcome, str)]
    [loser] = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert isinstance(loser, StaleState) and loser.code == "state.changed" and loser.status == 409
    async with sessions() as session:
        stored = await store.get(session, interaction_id)
        accepted = (await session.scalars(select(InteractionEvent).where(InteractionEvent.type == "accepted"))).all()
    assert (stored.state, stored.assigned_agent_id, stored.version) == ("assigned", winner, 2)
    # The loser's event went with its change: the history tells one story.
    assert [event.actor_id for event in accepted] == [winner]


async def test_two_routers_offering_one_interaction_record_one_offer(engine: AsyncEngine) -> None:
    """As two instances' routing would: each made its own offer of the same queued
    interaction; storage keeps the first and leaves the second out, with no event."""
    interaction_id, agents = await _interaction(engine, InteractionState.QUEUED)
    writer = Writer(engine)
    entry = QueueEntry(interaction_id, "support", "sms", utcnow().timestamp())
    expires = (utcnow() + timedelta(seconds=30)).timestamp()
    offers = [Offer(f"offer-{n}", agent_id, entry, expires) for n, agent_id in enumerate(agents)]

    def record(offer: Offer) -> Callable[[Connection], set[str]]:
        return lambda conn: offers_recorded(conn, [offer], utcnow())

    try:
        first, second = await asyncio.gather(*(writer.run(record(offer)) for offer in offers))
    finally:
        await writer.close()
    assert (interaction_id in first) != (interaction_id in second)
    async with session_factory(engine)() as session:
        stored = await store.get(session, interaction_id)
        offered = (await session.scalars(select(InteractionEvent).where(InteractionEvent.type == "offered"))).all()
    winner = offers[0] if interaction_id in first else offers[1]
    assert (stored.state, stored.offer_id, stored.offered_agent_id) == ("offered", winner.offer_id, winner.agent_id)
    assert [event.data["offer_id"] for event in offered] == [winner.offer_id]


async def test_events_are_numbered_in_commit_order_without_gaps(engine: AsyncEngine) -> None:
    interaction_id, _ = await _interaction(engine, InteractionState.QUEUED)
    sessions = session_factory(engine)

    async def note(n: int) -> None:
        async with sessions.begin() as session:
            store.record_event(session, interaction_id, "note", Actor(ActorKind.SYSTEM), {"n": n})
            store.record_event(session, interaction_id, "note", Actor(ActorKind.SYSTEM), {"n": n, "second": True})

    await asyncio.gather(*(note(n) for n in range(20)))
    async with sessions() as session:
        rows = (await session.scalars(select(InteractionEvent).order_by(InteractionEvent.seq))).all()
    assert [row.seq for row in rows] == list(range(1, 41))
    # A transaction's events are numbered together, in the order they were added.
    for first, second in zip(rows[::2], rows[1::2], strict=True):
        assert first.data["n"] == second.data["n"] and second.data.get("second")
