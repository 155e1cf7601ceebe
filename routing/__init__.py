"""Queues, agent availability, matching and offers.

The routing engine works on ids and attributes only: it imports nothing of the other
packages, so a backend can be swapped (in-memory now, Redis later) without touching them.
"""

from routing.backend import RoutingBackend
from routing.memory import MemoryRoutingBackend
from routing.types import AgentProfile, Offer, OfferEnd, QueueEntry

__all__ = ["AgentProfile", "MemoryRoutingBackend", "Offer", "OfferEnd", "QueueEntry", "RoutingBackend"]
