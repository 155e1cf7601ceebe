"""The one contract every channel adapter implements.

A channel is a subpackage of ``channels`` with an adapter class satisfying
``ChannelAdapter``, its section in the configuration, and one line in the application's
wiring (``interaction_center.services``) that builds it. The adapter translates and holds
nothing else: what arrives becomes an ``InboundContact`` (with the channel's own thread
key) handed to the ``Intake`` it was given; a reply is an ``OutboundMessage`` its sender
puts on the transport, answering a ``SentMessage`` whose status is the first delivery
report; later reports go to ``Intake.delivery``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from interaction_center.domain.model import Channel, InboundContact, OutboundSender


class Intake(Protocol):
    """Where a channel hands what it received; ``receive`` returns once the contact is
    committed (the adapter acknowledges the sender only then)."""

    async def receive(self, contact: InboundContact) -> object: ...

    async def delivery(self, channel: Channel, external_id: str, status: str, error: str | None) -> None: ...


@dataclass(frozen=True)
class Capacity:
    """How the channel counts against an agent's capacity, unless the agent's profile says
    otherwise: ``slots`` contacts at once, and whether one holds the agent alone (a call)."""

    slots: int
    exclusive: bool = False


@dataclass(frozen=True)
class Keywords:
    """Words that are instructions to the service rather than a conversation: a contact
    that is one of them (after trimming, any case) changes the customer's standing (opted
    out, back in) and is kept on their record, but never opens an interaction for an agent."""

    stop: frozenset[str] = frozenset()
    start: frozenset[str] = frozenset()
    help: frozenset[str] = frozenset()

    def of(self, body: str) -> str | None:
        word = body.strip().upper()
        return word if word in self.stop | self.start | self.help else None

    def opt_out(self, keyword: str | None) -> bool | None:
        """True: the sender asked for no more messages; False: asked to resume; None: neither."""
        return True if keyword in self.stop else False if keyword in self.start else None


NO_KEYWORDS = Keywords()


class ChannelAdapter(Protocol):
    @property
    def channel(self) -> Channel: ...

    @property
    def capacity(self) -> Capacity: ...

    @property
    def keywords(self) -> Keywords: ...

    @property
    def sender(self) -> OutboundSender | None:
        """The way replies go out; None when the channel is not set up to send (they are
        then refused with ``channel.not_configured``)."""
        ...

    def register(self, app: web.Application) -> None:
        """Add the channel's HTTP routes (webhooks, sockets, pages), if it has any."""
        ...

    async def start(self) -> None:
        """Start what the channel serves outside the web app (an SMTP server)."""
        ...

    async def stop(self) -> None:
        """Stop taking contacts in, then release what ``start`` and the sender hold."""
        ...
