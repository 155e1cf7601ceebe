"""A customer's record as the wire carries it: each interaction with its own messages and
events, in the order storage read them, however many interactions there are."""

from __future__ import annotations

from interaction_center import wire
from interaction_center.domain.stamps import new_id, utcnow
from storage.models import Customer, Interaction, InteractionEvent, Message


def _interaction(customer: Customer) -> Interaction:
    return Interaction(id=new_id(), customer_id=customer.id, channel="sms", state="completed", queue="support",
                       thread_key=new_id(), created_at=utcnow())  # fmt: skip


def _message(interaction: Interaction, body: str) -> Message:
    return Message(id=new_id(), interaction_id=interaction.id, channel="sms", direction="inbound", body=body,
                   from_address="+15551230001", to_address="+15005550006", status="received", attributes={},
                   created_at=utcnow())  # fmt: skip


def _event(interaction: Interaction, n: int) -> InteractionEvent:
    return InteractionEvent(id=n, interaction_id=interaction.id, type="created", actor_kind="system", data={},
                            created_at=utcnow())  # fmt: skip


def test_each_interaction_carries_its_own_messages_and_events_in_order() -> None:
    customer = Customer(id=new_id(), display_name="Ann", created_at=utcnow())
    first, second, quiet = (_interaction(customer) for _ in range(3))
    messages = [_message(first, "1"), _message(second, "2"), _message(first, "3"), _message(second, "4")]
    events = [_event(second, 1), _event(first, 2), _event(second, 3)]

    body = wire.customer(customer, [], [first, second, quiet], messages, events)

    by_id = {i["id"]: i for i in body["interactions"]}
    assert [i["id"] for i in body["interactions"]] == [first.id, second.id, quiet.id]
    assert [m["body"] for m in by_id[first.id]["messages"]] == ["1", "3"]
    assert [m["body"] for m in by_id[second.id]["messages"]] == ["2", "4"]
    assert [e["id"] for e in by_id[first.id]["events"]] == [2]
    assert [e["id"] for e in by_id[second.id]["events"]] == [1, 3]
    assert (by_id[quiet.id]["messages"], by_id[quiet.id]["events"]) == ([], [])
