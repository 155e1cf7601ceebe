"""What an email we send answers: the conversation's subject, the customer's last message
and its ancestry, read from the attributes ``channels.email.parse`` stored."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

from interaction_center.domain.model import Direction, OutboundMessage


class ThreadMessage(Protocol):
    """What threading reads of a stored message (the storage row has these)."""

    @property
    def direction(self) -> str: ...
    @property
    def external_id(self) -> str | None: ...
    @property
    def attributes(self) -> dict[str, Any]: ...


def threaded(outbound: OutboundMessage, rows: Sequence[ThreadMessage], thread_key: str) -> OutboundMessage:
    """``outbound`` as a reply in the thread of ``rows`` (the interaction's messages, in order)."""
    inbound = [row for row in rows if row.direction == Direction.INBOUND]
    if not inbound:
        return dataclasses.replace(outbound, thread_key=thread_key)
    # An out-of-office note on the thread is not what the agent answers.
    answered = next((row for row in reversed(inbound) if "automated" not in row.attributes), inbound[-1])
    references = answered.attributes.get("references")
    return dataclasses.replace(
        outbound,
        subject=str(inbound[0].attributes.get("subject") or ""),
        in_reply_to=answered.external_id,
        references=tuple(ref for ref in references if isinstance(ref, str)) if isinstance(references, list) else (),
        thread_key=thread_key,
    )
