"""The agents' live pushes are read from the event log (dispatch/pushes.py): what another
writer commits (another instance, here storage written past this process's dispatcher)
reaches the agent's socket, and what a push says is what storage holds when it is read."""

from __future__ import annotations

from datetime import timedelta

from interaction_center.dispatch.pushes import PUSHED, interaction_frames
from interaction_center.domain.model import SYSTEM, InteractionState
from interaction_center.domain.stamps import utcnow
from interaction_center.web.keys import SERVICES
from storage import agents as agent_store
from storage import events
from storage import interactions as store
from tests.support import Client, accept_first, agent_id, login, next_frame, post_sms, routed, set_status, sms_form


async def test_a_state_another_writer_gives_an_agent_reaches_the_agents_socket(client: Client) -> None:
    alice = await login(client, "alice")
    alice_id = await agent_id(client, alice)
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    sessions = client.app[SERVICES].sessions

    async with sessions.begin() as session:
        agent = await agent_store.get(session, alice_id)
        assert agent is not None
        data = {"from": agent.status, "to": "away", "reason": "supervisor"}
        agent.status, agent.status_reason = "away", "supervisor"
        session.add(events.agent_event(alice_id, "status_changed", SYSTEM, data, utcnow()))

    status = await next_frame(socket, "status")
    place = {"stream": "agents", "seq": status["log"]["seq"]}
    assert status == {"type": "status", "status": "away", "reason": "supervisor", "log": place}
    await socket.close()


async def test_an_offer_another_writer_records_reaches_its_agent_with_its_preview(client: Client) -> None:
    alice = await login(client, "alice")
    alice_id = await agent_id(client, alice)
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    await post_sms(client, sms_form(sender="+15551230001", body="Is my order late?"))
    await routed(client)
    sessions = client.app[SERVICES].sessions
    expires = utcnow() + timedelta(seconds=30)

    async with sessions.begin() as session:
        [interaction] = await store.routable(session)
        offered = {"agent_id": alice_id, "offer_id": "offer-from-elsewhere"}
        store.transition(session, interaction, InteractionState.OFFERED, SYSTEM, "offered", offered)
        interaction.offer_id, interaction.offered_agent_id = "offer-from-elsewhere", alice_id
        interaction.offer_expires_at = expires

    frame = await next_frame(socket, "offer")
    assert frame == {
        "type": "offer",
        "offer_id": "offer-from-elsewhere",
        "interaction_id": interaction.id,
        "channel": "sms",
        "queue": interaction.queue,
        "priority": interaction.priority,
        "expires_at": expires.isoformat(),
        "preview": {"from": "+15551230001", "body": "Is my order late?"},
        "transfer_note": None,
        "log": {"stream": "interactions", "seq": frame["log"]["seq"]},
    }
    await socket.close()


async def test_read_again_the_log_offers_nothing_that_is_no_longer_open(client: Client) -> None:
    """What a consumer behind the log or restarted replays: the offer was accepted since,
    so it is not pushed again; the message that follows on the agent's interaction is."""
    alice = await login(client, "alice")
    alice_id = await agent_id(client, alice)
    await set_status(client, alice, "available")
    await post_sms(client, sms_form(sender="+15551230001", body="first"))
    taken = await accept_first(client, alice)
    await post_sms(client, sms_form(sender="+15551230001", body="second"))
    writer = client.app[SERVICES].writer

    read = await writer.run(lambda conn: events.read(conn, events.INTERACTIONS, 0, 500, PUSHED))
    frames = await writer.run(lambda conn: interaction_frames(conn, read.events))

    assert not [frame for _, frame in frames if frame["type"] == "offer"]
    bodies = [frame["message"]["body"] for to, frame in frames if to == alice_id and frame["type"] == "message"]
    assert "second" in bodies
    assert all(frame.get("interaction_id") == taken["id"] for _, frame in frames)


async def test_an_event_missing_its_fields_is_passed_over_and_the_pushes_go_on(client: Client) -> None:
    """Were it to raise, the reader would try that batch again forever, and no agent would
    hear of anything after it."""
    alice = await login(client, "alice")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    await post_sms(client, sms_form(sender="+15551230001"))
    await routed(client)
    sessions = client.app[SERVICES].sessions
    async with sessions.begin() as session:
        [interaction] = await store.routable(session)
        for kind in ("message_received", "offered", "offer_timed_out"):
            store.record_event(session, interaction.id, kind, SYSTEM, {})

    await set_status(client, alice, "available")

    offer = await next_frame(socket, "offer")
    assert offer["interaction_id"] == interaction.id
    await socket.close()


async def test_the_pushes_reader_records_no_position_another_instance_would_share(client: Client) -> None:
    alice = await login(client, "alice")
    socket = await client.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(socket, "hello")
    await set_status(client, alice, "available")
    await post_sms(client, sms_form())
    await next_frame(socket, "offer")
    writer = client.app[SERVICES].writer

    assert await writer.run(lambda conn: events.position(conn, "agent-pushes")) is None
    assert await writer.run(lambda conn: events.position(conn, "routing")) is not None
    await socket.close()
