"""Translating between the product's records and the routing engine's values: the engine
config from the settings, an agent's profile, a stored interaction's queue entry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from channels.contract import Capacity
from interaction_center.settings.model import Settings
from routing import (
    AgentProfile,
    EngineConfig,
    EscalationStep,
    QueueEntry,
    QueueMembership,
    QueuePolicy,
    Strategy,
    skills_of,
)
from storage.models import Agent


def _timestamp(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        queues={
            name: QueuePolicy(
                name=name,
                channels=tuple(queue.channels),
                strategy=Strategy(queue.strategy),
                skills=tuple(queue.skills),
                escalation=tuple(
                    EscalationStep(step.after_seconds, step.raise_priority, step.relax_skills, step.overflow_to)
                    for step in queue.escalation
                ),
                max_size=queue.max_size,
                preferred_agent_seconds=queue.preferred_agent_seconds,
            )
            for name, queue in settings.queues.items()
        },
        offer_timeouts={str(channel): seconds for channel, seconds in settings.routing.offer_timeouts.items()},
        default_offer_timeout=settings.routing.offer_timeout_seconds,
        max_missed_offers=settings.routing.max_missed_offers,
    )


def agent_profile(agent: Agent, capacities: Mapping[str, Capacity]) -> AgentProfile:
    """The agent's routing profile; channels their profile leaves out count as the
    channel says (``capacities``, from each channel adapter)."""
    defaults = {channel: capacity.slots for channel, capacity in capacities.items()}
    return AgentProfile(
        agent_id=agent.id,
        queues=tuple(
            QueueMembership(item["queue"], int(item.get("priority", 1)), float(item.get("delay_seconds", 0)))
            for item in agent.queues
        ),
        skills=skills_of(agent.skills),
        capacity=tuple(sorted((defaults | agent.capacity).items())),
        exclusive=tuple(sorted(channel for channel, capacity in capacities.items() if capacity.exclusive)),
    )


class Queued(Protocol):
    """What routing needs of an interaction: a stored one, or one being written."""

    @property
    def id(self) -> str: ...
    @property
    def queue(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def enqueued_at(self) -> datetime | None: ...
    @property
    def priority(self) -> int: ...
    @property
    def required_skills(self) -> dict[str, int]: ...
    @property
    def answer_deadline(self) -> datetime | None: ...
    @property
    def preferred_agent_id(self) -> str | None: ...
    @property
    def preferred_until(self) -> datetime | None: ...
    @property
    def escalation_level(self) -> int: ...
    @property
    def sla_breached_at(self) -> datetime | None: ...


def entry_for(interaction: Queued) -> QueueEntry:
    enqueued_at = interaction.enqueued_at or interaction.created_at
    return QueueEntry(
        interaction_id=interaction.id,
        queue=interaction.queue,
        channel=interaction.channel,
        enqueued_at=enqueued_at.timestamp(),
        priority=interaction.priority,
        skills=skills_of(interaction.required_skills),
        answer_deadline=_timestamp(interaction.answer_deadline),
        preferred_agent=interaction.preferred_agent_id,
        preferred_until=_timestamp(interaction.preferred_until) or 0.0,
        escalations_done=interaction.escalation_level,
        breached=interaction.sla_breached_at is not None,
    )
