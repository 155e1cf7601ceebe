"""Every key the Redis routing backend keeps: ``KEYS`` below gives each one's pattern, Redis
type, what it holds and when it is deleted.

All keys start with the backend's prefix (one per deployment; the tests give each backend
its own). The Lua scripts build them from the prefix by the functions ``lua_prelude``
renders from ``KEYS``, so this table is the only place a key is spelled.

"lex" sorted sets hold members of equal score, ordered by their bytes: a member made of
fixed-width sortable numbers (routing/lua/codec.lua ``enc``) and an id orders as the
in-memory engine's tuples do.

Timers are as the in-memory engine's (routing/timers.py): a member per (subject, time),
never cancelled, checked as it fires (is it still the entry's deadline?); escalation steps'
carry the queue and step they were set at, one per placing.

Configuration is stored by content: each call passes the id of the caller's ``EngineConfig``
(ARGV 2), the hash of what the ``config`` key holds, so a script never acts on a
configuration its caller did not give, and reads only the parts it uses (decoding the whole
of it at every call cost more than most decisions).

Scripts name keys from the prefix (ARGV 1) rather than KEYS: they reach keys they learn
as they go (an agent's queues, a queue's buckets), which one Redis allows; a cluster would
need every key in one slot (a ``{hash tag}`` prefix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Key:
    name: str  # the Lua function is k_<name>
    pattern: str  # literal text and {parameters}
    type: str
    holds: str
    deleted: str


KEYS = (
    Key(
        "entry",
        "entry:{iid}",
        "hash",
        "a routed interaction: its entry (data), status (waiting, offered, assigned), where it waits "
        "(slot, member, bucket, holder), its offer and agent",
        "when released or cancelled; transfer writes it afresh",
    ),
    Key("declined", "declined:{iid}", "set", "agents that rejected it or let it lapse", "at accept, release or cancel"),
    Key(
        "offer",
        "offer:{offer_id}",
        "hash",
        "an open offer: agent, iid, expires_at",
        "accepted, rejected, lapsed, revoked or cancelled",
    ),
    Key(
        "agent",
        "agent:{agent_id}",
        "hash",
        "profile (JSON), state, reason, idle_since, missed, wrap_up_until, last_seq, what it holds",
        "never, as the in-memory engine keeps its agents",
    ),
    Key("agents", "agents", "zset", "every agent, scored by the order it was made in", "never"),
    Key("agent_seq", "agent_seq", "string", "the counter that orders agents", "never"),
    Key(
        "delayed",
        "delayed",
        "zset",
        "agents with a membership delay (scored as in agents): tick lets the available ones look again",
        "when its profile has no delay left",
    ),
    Key("members", "members:{queue}", "set", "the agents serving the queue", "as profiles change"),
    Key("delays", "delays:{queue}", "hash", "membership delay -> how many members have it", "a field at zero"),
    Key(
        "ranks",
        "ranks:{agent_id}",
        "hash",
        "queue -> 'delay|member': where the agent sits in that queue's ready pools",
        "rewritten at every change of the agent",
    ),
    Key(
        "pools",
        "pools:{queue}",
        "hash",
        "pool id (channel|skills) -> [channel, skills]: the pools entries of the queue asked for",
        "never: a pool once asked for is kept up",
    ),
    Key(
        "ready",
        "ready:{queue}:{pool}:{delay}",
        "zset (lex)",
        "the agents ready there with that membership delay, by the queue's strategy, then id",
        "a member as its agent changes",
    ),
    Key(
        "buckets",
        "buckets:{queue}",
        "hash",
        "bucket id (channel|priority|skills) -> [channel, priority, skills] of its nonempty buckets",
        "a field when its bucket empties",
    ),
    Key("bucket", "bucket:{queue}:{bucket}", "zset", "waiting entries by enqueued_at, then id", "when empty"),
    Key(
        "reserved",
        "reserved:{agent_id}:{queue}:{channel}",
        "zset (lex)",
        "entries held for an agent, by (-priority, enqueued_at, id)",
        "when empty",
    ),
    Key(
        "reserved_lines",
        "reserved_lines:{agent_id}",
        "hash",
        "'queue|channel' -> [queue, channel] of the agent's nonempty reserved lines",
        "a field when its line empties",
    ),
    Key("reserved_in", "reserved_in:{queue}", "set", "ids of the queue's entries held for an agent", "when empty"),
    Key("sizes", "sizes", "hash", "queue -> its waiting entries", "a field at zero"),
    Key("counts", "counts", "hash", "'queue\\0channel' -> its waiting entries", "a field at zero"),
    Key(
        "pending_entries",
        "pending_entries",
        "zset (lex)",
        "entries to find an agent for, one member per push (then push_seq), by (-priority, enqueued_at, id)",
        "each popped as an offer is looked for (next_offer, next_offers)",
    ),
    Key(
        "pending_agents",
        "pending_agents",
        "list",
        "agents to find work for",
        "each popped as an offer is looked for (next_offer, next_offers)",
    ),
    Key("offer_seq", "offer_seq", "string", "offers made: round robin's rank", "never"),
    Key("offer_timers", "timers:offer", "zset", "offer id\\0expires_at, by expires_at", "fired"),
    Key("answer_timers", "timers:answer", "zset", "interaction id\\0deadline, by answer deadline (SLA)", "fired"),
    Key(
        "escalation_timers",
        "timers:escalation",
        "zset",
        "one member per placing of an entry with a next escalation step (its id, queue, step, then "
        "push_seq), by the step's due time",
        "fired (void ones too: as the in-memory engine's, they count in tick's budget)",
    ),
    Key(
        "push_seq", "push_seq", "string", "pushes to pending_entries and escalation timers: members' suffixes", "never"
    ),
    Key(
        "preference_timers",
        "timers:preference",
        "zset",
        "interaction id\\0preferred_until, by preferred_until",
        "fired",
    ),
    Key("wrap_up_timers", "timers:wrap_up", "zset", "agent id\\0wrap_up_until, by the end of its wrap-up", "fired"),
    Key(
        "fired",
        "fired",
        "hash",
        "claim -> the time a tick fired, then the events it fired under it (as tick returns them), kept "
        "until the instance that fired them has recorded them in storage, for another to take up should "
        "it die first",
        "when recorded (routing/lua/commands/recorded.lua)",
    ),
    Key(
        "fired_at", "fired_at", "zset", "the claims in fired, by when made or last taken up", "with its claim in fired"
    ),
    Key(
        "config",
        "config:{config_id}",
        "hash",
        "an EngineConfig by part, each JSON (routing/redis_wire.py pack_config): 'engine' (offer timeouts, "
        "missed offers, refusals, a new agent's profile), 'policy:{queue}', 'default_policy', 'stat_pairs'; "
        "{config_id} is the hash of its contents, so instances with one configuration share one",
        "never: one per configuration used, a few KB each; written again by the first call that finds it gone",
    ),
    Key(
        "restored",
        "restored",
        "string",
        "set (to when) once an instance rebuilt the state from storage: later ones keep the state",
        "never (gone with the server's data, whereupon the next instance to look rebuilds)",
    ),
    Key(
        "decisions",
        "decisions",
        "string",
        "the token of the instance deciding and recording now (redis-py's lock, set by Python)",
        "at release, or when its time-to-live ends (its holder died)",
    ),
    Key(
        "decisions_next",
        "decisions:next",
        "string",
        "the token of the instance whose turn at ``decisions`` is next: the first to find it held; "
        "while it waits, no other instance takes the lock",
        "when that instance takes the lock or gives up waiting (cancelled), or 250 ms after its last try",
    ),
    Key(
        "instances",
        "instances",
        "set",
        "the service instances on this state that have not been found gone (interaction_center/dispatch/membership.py)",
        "a member when its instance stops, or when another finds its lease lapsed",
    ),
    Key(
        "lease",
        "lease:{instance}",
        "string",
        "an instance's lease: it lives while the key does (a time to live it renews)",
        "when its time to live ends unrenewed (the instance died or stalled), or when it stops",
    ),
    Key(
        "sockets",
        "sockets:{instance}",
        "hash",
        "agent id -> 1 for each agent whose desk's socket the instance holds",
        "a field as the agent's last socket there closes; the key with its instance",
    ),
    Key(
        "alone",
        "alone:{work}",
        "string",
        "the instance running work one instance of them all must do (webhook:{receiver}: delivering "
        "that receiver's events), renewed as its lease is (interaction_center/dispatch/membership.py)",
        "when that instance stops it, or its time to live ends unrenewed (then another takes the work)",
    ),
    Key(
        "login_failures",
        "login_failures:{kind}:{who}",
        "hash",
        "failed logins (count, last: epoch seconds) of a username (kind user, case-folded) or from an "
        "address (kind address), shared by the instances' login throttle "
        "(interaction_center/desk/shared_throttle.py)",
        "an hour after its last failure (its time to live), or a username's at its next success",
    ),
    Key(
        "fanout",
        "fanout",
        "stream",
        "what one instance pushes that sockets on the others must get (a chat reply, typing, a chat "
        "ended) and notices that the event log moved (interaction_center/dispatch/fanout.py)",
        "trimmed to about its last 10,000 entries as entries are added",
    ),
    Key(
        "demo_outbox",
        "demo_outbox",
        "list",
        "DEMO ONLY: what the demo sandbox kept instead of sending, shared by the instances: each entry "
        "its number, a space, and JSON [channel, to, from, body] (interaction_center/dispatch/demo_outbox.py)",
        "trimmed to its last 500 entries as entries are added",
    ),
    Key(
        "demo_outbox_number",
        "demo_outbox_number",
        "string",
        "DEMO ONLY: the number of the demo outbox's last entry",
        "never: a demo's Redis goes with it",
    ),
)


def named(prefix: str, name: str, **params: str) -> str:
    """The key ``name`` of the table under ``prefix``, its parameters filled in."""
    (key,) = (key for key in KEYS if key.name == name)
    return prefix + key.pattern.format(**params)


def _lua_function(key: Key) -> str:
    parts = re.split(r"\{(\w+)\}", key.pattern)
    literals, params = parts[0::2], parts[1::2]
    pieces = ["P"]
    for n, literal in enumerate(literals):
        if literal:
            pieces.append(repr(literal))
        if n < len(params):
            pieces.append(params[n])
    return f"local function k_{key.name}({', '.join(params)}) return {' .. '.join(pieces)} end"


def lua_prelude() -> str:
    """The scripts' first lines: the prefix and one function per key."""
    return "\n".join(["local P = ARGV[1]", *map(_lua_function, KEYS)]) + "\n"
