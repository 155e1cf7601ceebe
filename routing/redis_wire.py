"""What the Redis backend's scripts take and give, as strings: entries, offers, profiles and
the configuration packed for Lua, and the scripts' replies read back into ``routing.types``.

Floats are written by ``repr`` here and ``%.17g`` in Lua, both exact, so a time read back is
the time written. An optional value is "" for None; a reason is "" for None and "+" before
the text otherwise, as a reason may be "". A record's fields are joined by \\0, a reply's
records by \\1 and a list inside a field by \\2 (one string is read far faster than nested
arrays): ids, names and skills never hold those characters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from hashlib import sha1
from typing import Any

from routing.types import (
    AgentProfile,
    AgentSnapshot,
    AgentState,
    EngineConfig,
    Escalated,
    FiredClaim,
    Offer,
    OfferLapsed,
    OfferRevoked,
    PreferenceExpired,
    QueueEntry,
    QueuePolicy,
    QueueStats,
    RoutingEvent,
    SlaBreached,
    WrapUpEnded,
)

ENTRY_FIELDS = 12
OFFER_FIELDS = 3 + ENTRY_FIELDS


FIELD, RECORD, ITEM = "\0", "\1", "\2"


def each(reply: str) -> list[str]:
    """A reply's records, each one string."""
    return reply.split(RECORD) if reply else []


def records(reply: str) -> list[list[str]]:
    return [item.split(FIELD) for item in each(reply)]


def _optional(value: float | str | None) -> str:
    return "" if value is None else value if isinstance(value, str) else repr(value)


def pack_entry(entry: QueueEntry) -> str:
    return FIELD.join(
        [
            entry.interaction_id,
            entry.queue,
            entry.channel,
            repr(entry.enqueued_at),
            str(entry.priority),
            json.dumps([list(pair) for pair in entry.skills]),
            _optional(entry.answer_deadline),
            _optional(entry.preferred_agent),
            repr(entry.preferred_until),
            str(entry.escalations_done),
            "1" if entry.breached else "0",
            _optional(entry.escalation_base),
        ]
    )


def entry_of(w: Sequence[str]) -> QueueEntry:
    return QueueEntry(
        w[0],
        w[1],
        w[2],
        float(w[3]),
        priority=int(w[4]),
        skills=tuple((name, int(level)) for name, level in json.loads(w[5])),
        answer_deadline=float(w[6]) if w[6] else None,
        preferred_agent=w[7] or None,
        preferred_until=float(w[8]),
        escalations_done=int(w[9]),
        breached=w[10] == "1",
        escalation_base=float(w[11]) if w[11] else None,
    )


def offer_of(w: Sequence[str]) -> Offer:
    return Offer(w[0], w[1], entry_of(w[3:OFFER_FIELDS]), float(w[2]))


# Views read the same entries and offers again and again: a record read once is not parsed
# again (the values are frozen, so one may be handed out many times).
@lru_cache(maxsize=4096)
def entry_record(record: str) -> QueueEntry:
    return entry_of(record.split(FIELD))


@lru_cache(maxsize=4096)
def offer_record(record: str) -> Offer:
    return offer_of(record.split(FIELD))


def pack_reason(reason: str | None) -> str:
    return "" if reason is None else "+" + reason


def reason_of(packed: str) -> str | None:
    return packed[1:] if packed else None


def pack_profile(profile: AgentProfile) -> str:
    """The profile as JSON, each mapping as the in-memory engine reads it (the last of
    repeated queues, skills or channels wins): the same profile gives the same text."""
    memberships = {m.queue: m for m in profile.queues}
    return json.dumps(
        {
            "queues": [[m.queue, m.priority, m.delay_seconds] for m in memberships.values()],
            "skills": [list(pair) for pair in dict(profile.skills).items()],
            "capacity": [list(pair) for pair in dict(profile.capacity).items()],
            "exclusive": list(profile.exclusive),
        }
    )


def _pack_policy(policy: QueuePolicy) -> dict[str, Any]:
    steps = []
    for step in policy.escalation:
        packed: dict[str, Any] = {"after": step.after_seconds, "raise": step.raise_priority, "relax": step.relax_skills}
        if step.overflow_to is not None:
            packed["overflow"] = step.overflow_to
        steps.append(packed)
    packed_policy: dict[str, Any] = {
        "strategy": policy.strategy.value,
        "skills": list(policy.skills),
        "escalation": steps,
    }
    if policy.max_size is not None:
        packed_policy["max_size"] = policy.max_size
    return packed_policy


def pack_config(config: EngineConfig) -> dict[str, str]:
    """The configuration as the scripts read it, by part (the fields of its key, each JSON
    that cjson reads): what the in-memory engine makes of what it is not given too, an
    unnamed queue's policy and a new agent's profile. A script reads only the parts it uses:
    a queue's policy, not every queue's."""
    engine = {
        "offer_timeouts": config.offer_timeouts,
        "default_offer_timeout": config.default_offer_timeout,
        "max_missed_offers": config.max_missed_offers,
        "refuse_when_full": list(config.refuse_when_full),
        "default_profile": pack_profile(AgentProfile("", ())),
    }
    parts = {
        "engine": engine,
        "default_policy": _pack_policy(QueuePolicy("")),
        # The (queue, channel) pairs statistics always report.
        "stat_pairs": [[p.name, channel] for p in config.queues.values() for channel in p.channels],
    }
    policies = {f"policy:{name}": _pack_policy(policy) for name, policy in config.queues.items()}
    return {field: json.dumps(part) for field, part in (parts | policies).items()}


def config_id(packed: dict[str, str]) -> str:
    """What names a packed configuration: the same configuration, the same id, in every
    instance and after every restart."""
    return sha1(json.dumps(packed, sort_keys=True).encode()).hexdigest()


def snapshot_of(agent_id: str, w: Sequence[str]) -> AgentSnapshot:
    state, reason, idle_since, holding, missed, wrap_up_until = w
    held = tuple(holding.split(ITEM)) if holding else ()
    return AgentSnapshot(
        agent_id, AgentState(state), reason_of(reason), float(idle_since), held, int(missed), float(wrap_up_until)
    )


def event_of(w: Sequence[str]) -> RoutingEvent:
    kind, rest = w[0], w[1:]
    if kind == "lapsed":
        return OfferLapsed(offer_of(rest[1:]), agent_set_away=rest[0] == "1")
    if kind == "revoked":
        return OfferRevoked(offer_of(rest))
    if kind == "breached":
        return SlaBreached(entry_of(rest))
    if kind == "escalated":
        return Escalated(entry_of(rest[:ENTRY_FIELDS]), entry_of(rest[ENTRY_FIELDS:]))
    if kind == "preference":
        return PreferenceExpired(entry_of(rest))
    return WrapUpEnded(rest[0])


def claim_of(claim: str, kept: str) -> FiredClaim:
    """A claim as tick.lua keeps it: the time it fired, then its events, as records (nothing
    at all should the key have lost it)."""
    fired_at, _, events = kept.partition(RECORD)
    return FiredClaim(claim, float(fired_at or 0), [event_of(w) for w in records(events)])


def stats_of(w: Sequence[str]) -> QueueStats:
    queue, channel, waiting, longest, *by_state, occupancy = w
    agents = {by_state[i]: int(by_state[i + 1]) for i in range(0, len(by_state), 2)}
    return QueueStats(queue, channel, int(waiting), float(longest), agents, float(occupancy) if occupancy else None)
