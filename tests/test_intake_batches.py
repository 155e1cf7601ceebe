"""Contacts taken in together (one group commit) are decided as if they had come one after
another: order, threads, replies and identities as in separate transactions. On SQLite and
PostgreSQL, through the service's own intake."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import update

from interaction_center.domain.model import Channel, IdentityKind, InboundContact, InteractionState
from interaction_center.domain.stamps import utcnow
from interaction_center.intake import batch as intake_batch
from interaction_center.services import Services
from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from storage import interactions as store
from storage.models import Interaction
from storage.reader import in_session
from tests.support import AppFactory, Client, login, mail, offered, post_sms, set_status, sms, sms_form


async def together(services: Services, *contacts: InboundContact) -> list[intake_batch.IntakeResult]:
    """Submitted before the writer runs, so they are one batch."""
    return list(await asyncio.gather(*(services.intake.receive(c, "support") for c in contacts)))


async def service(app_factory: AppFactory, settings_factory: Callable[..., Settings]) -> Client:
    return await app_factory(settings_factory(support_channels='["sms", "email", "chat"]'))


async def test_messages_of_one_thread_taken_together_keep_their_order(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    services = (await service(app_factory, settings_factory)).app[SERVICES]
    results = await together(services, *(sms(body=f"part {n}") for n in range(10)))
    [interaction_id] = {r.interaction_id for r in results}
    async with services.sessions() as session:
        messages = await in_session(session, lambda conn: store.messages(conn, [interaction_id]))
    assert [m.body for m in messages] == [f"part {n}" for n in range(10)]


async def test_a_reply_taken_together_with_the_mail_it_answers_continues_it(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    services = (await service(app_factory, settings_factory)).app[SERVICES]
    first, reply = await together(
        services, mail("<a@customer.test>"), mail("<b@customer.test>", ("<a@customer.test>",))
    )
    assert first.created and not reply.created
    assert reply.interaction_id == first.interaction_id


async def test_identities_and_keywords_take_effect_in_arrival_order(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    """A chat giving a phone nobody holds, then an SMS from that phone, in one batch: one
    customer, as one after the other. STOP between two texts: its event between theirs."""
    services = (await service(app_factory, settings_factory)).app[SERVICES]
    chat = InboundContact(
        channel=Channel.CHAT,
        external_id="session-1:c1",
        identity_kind=IdentityKind.CHAT,
        from_address="session-1",
        to_address="chat",
        body="Hi, I will text you too",
        thread_key="chat:session-1",
        linked_identities=((IdentityKind.PHONE, "+15551230077"),),
    )
    texts = [sms("+15551230077", "first"), sms("+15551230077", "STOP"), sms("+15551230077", "last")]
    chatted, *texted = await together(services, chat, *texts)
    async with services.sessions() as session:
        chat_row = await store.get(session, chatted.interaction_id)
        sms_row = await store.get(session, texted[0].interaction_id)
        events = await in_session(session, lambda conn: store.events(conn, [sms_row.id]))
    assert chat_row.customer_id == sms_row.customer_id
    kinds = [e.type for e in events if e.type in ("message_received", "opted_out")]
    assert kinds == ["message_received", "message_received", "opted_out", "message_received"]


async def test_a_contact_committed_without_a_word_to_routing_is_queued_from_the_log(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    """As when another process committed it, or this one crashed between its commit and
    routing: nothing tells routing, and the interaction still joins its queue, from its
    event in the log. Delivered again, it is a duplicate and is not queued twice."""
    services = (await service(app_factory, settings_factory)).app[SERVICES]
    contact = sms()
    [stored] = await services.writer.run(
        lambda conn: intake_batch.write(conn, [(contact, "support")], services.settings, utcnow())
    )

    async def waiting() -> int:
        return sum(s.waiting for s in await services.dispatcher.stats() if s.queue == "support")

    for _ in range(200):
        if await waiting():
            break
        await asyncio.sleep(0.01)
    assert await waiting() == 1
    again = await services.intake.receive(contact, "support")
    assert again.duplicate and again.interaction_id == stored.result.interaction_id
    assert await waiting() == 1


async def test_an_interaction_closed_behind_routings_back_does_not_hold_up_the_offers_made_with_it(
    app_factory: AppFactory, settings_factory: Callable[..., Settings]
) -> None:
    client = await service(app_factory, settings_factory)
    services = client.app[SERVICES]
    for sender in ("+15551230001", "+15551230002"):
        assert (await post_sms(client, sms_form(sender=sender))).status == 200
    async with services.sessions() as session:
        rows = {i.customer_id: i.id for i in await store.routable(session)}
    gone, kept = list(rows.values())
    async with services.sessions.begin() as session:
        await session.execute(
            update(Interaction).where(Interaction.id == gone).values(state=InteractionState.COMPLETED)
        )
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    assert [offer["id"] for offer in await offered(client, alice)] == [kept]
    assert sum(s.waiting for s in await services.dispatcher.stats()) == 0
