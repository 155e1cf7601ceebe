"""The rows ``bench.workspace_seed`` writes, made up as the service would have written them:
who the customers are, when each of their interactions happened and how it went. All drawn
from one seeded generator, so the same sizes give the same database."""

from __future__ import annotations

import json
import math
import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.service_config import OUR_NUMBER
from interaction_center.domain.identity import name_key

AGENTS = 200
OUR_ADDRESS = "support@example.com"
TIMELINE_INTERACTIONS = 200
# Open interactions each agent holds (the newest of all, one per customer).
OPEN_PER_AGENT = 3
YEAR = 365 * 86400


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Weighted as real ones are: the first few are far more common than the last.
FIRST_NAMES = _words(
    "james mary john patricia robert jennifer michael linda william elizabeth david barbara richard susan joseph "
    "jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty anthony margaret mark sandra "
    "donald ashley steven kimberly paul emily andrew donna joshua michelle kenneth carol kevin amanda brian dorothy "
    "george melissa timothy deborah ronald stephanie edward rebecca jason sharon jeffrey laura ryan cynthia jacob "
    "kathleen gary amy nicholas angela eric shirley jonathan anna stephen brenda larry pamela justin emma scott "
    "nicole brandon helen benjamin samantha samuel katherine gregory christine alexander debra frank rachel patrick "
    "carolyn raymond janet jack catherine dennis maria jerry heather tyler diane aaron ruth jose julie adam olivia "
    "nathan joyce henry virginia douglas victoria zachary kelly peter lauren kyle christina ethan joan walter "
    "evelyn noah judith jeremy megan christian andrea keith cheryl roger hannah terry jacqueline gerald martha "
    "harold gloria sean teresa austin ann carl sara arthur madison lawrence frances dylan kathryn jesse janice "
    "jordan jean bryan abigail billy alice joe julia bruce judy gabriel sophia logan grace albert denise willie "
    "amber alan doris juan marilyn wayne danielle elijah beverly randy isabella roy theresa vincent diana ralph "
    "natalie eugene brittany russell charlotte bobby marie mason kayla philip alexis louis lori quentin yvonne "
    "xavier ursula"
)
LAST_NAMES = _words(
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson "
    "anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis "
    "robinson walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall rivera "
    "campbell mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins reyes stewart "
    "morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard ramos kim "
    "cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price alvarez castillo "
    "sanders patel myers long ross foster jimenez powell jenkins perry russell sullivan bell coleman butler "
    "henderson barnes gonzales fisher vasquez simmons romero jordan patterson alexander hamilton graham reynolds "
    "griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar stevens murray ford "
    "castro marshall owens harrison fernandez mcdonald woods washington kennedy wells vargas henry chen freeman "
    "webb tucker guzman burns crawford olson simpson porter hunter gordon mendez silva shaw snyder mason dixon "
    "munoz hunt hicks holmes palmer wagner black robertson boyd rose stone salazar fox warren mills meyer rice "
    "schmidt garza daniels ferguson nichols stephens soto weaver ryan gardner payne grant dunn kelley spencer "
    "hawkins arnold pierce vazquez hansen peters santos hart bradley knight elliott cunningham duncan armstrong "
    "hudson carroll lane riley andrews alvarado ray delgado berry perkins hoffman johnston matthews pena richards "
    "contreras willis carpenter lawrence sandoval quinn underwood yates zimmerman"
)
AREAS = _words(
    "212 213 312 415 617 202 305 404 512 206 303 602 702 713 214 215 216 310 323 347 408 510 503 612 614 615 646 "
    "704 718 720 773 786 801 804 813 818 832 858 916 972"
)
SECOND_AREAS = _words("201 203 207 209 231 239 240 248 251 253")
DOMAINS = (
    *("gmail.com",) * 8,
    *("yahoo.com",) * 3,
    *("outlook.com",) * 3,
    *("icloud.com", "aol.com", "proton.me", "hotmail.com", "comcast.net", "acme-corp.com", "mail.example.org"),
)
CUSTOMER_SENTENCES = (
    "Hi, I was charged twice for my last order.",
    "My internet has been down since this morning.",
    "Can you tell me when my package will arrive?",
    "I'd like to change the address on my account.",
    "The app keeps logging me out every few minutes.",
    "Is there a way to upgrade my plan without losing my number?",
    "I never received the refund you promised last week.",
    "Thanks, that fixed it!",
    "Order number is 48213-771, placed on the 3rd.",
    "Could someone call me back after 5pm?",
    "The invoice shows a fee I don't recognise.",
    "I tried resetting the router as the FAQ says but the light is still red.",
    "Please cancel my subscription at the end of this month.",
    "Why was my card declined? It works everywhere else.",
    "I'm moving next month and need to transfer the service.",
    "Hello? Is anyone there?",
)
AGENT_SENTENCES = (
    "Thanks for reaching out, I'm looking into this for you now.",
    "I can see the duplicate charge; the refund is on its way and takes 3-5 business days.",
    "Could you confirm the last four digits of the card on file?",
    "I've updated the address on your account.",
    "Your package left our warehouse yesterday and should arrive on Thursday.",
    "I've escalated this to our technical team, who will call you within 24 hours.",
    "Is there anything else I can help you with today?",
    "I've applied a one-month credit to your account for the trouble.",
    "Please restart the device and let me know if the problem persists.",
    "Your subscription will end on the last day of the month; you won't be charged again.",
)
DISPOSITIONS = ("resolved",) * 16 + ("follow_up",) * 2 + ("no_action", "complaint")
CHANNEL_WEIGHTS = {"sms": 45, "email": 35, "chat": 20}
SLA_SECONDS = {"sms": 300, "email": 3600, "chat": 120}
HANDLE_SECONDS = {"sms": 600.0, "email": 1800.0, "chat": 400.0}


def stamp(seconds: float) -> str:
    """A time as the service stores it on SQLite (UTC, microseconds, no offset)."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(" ", "microseconds")[:-6]


def iso(seconds: float) -> str:
    """A time as the service writes it in an event's data."""
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def uuid7(seconds: float, rng: random.Random) -> str:
    """An id as ``new_id`` would have minted it at ``seconds``."""
    value = int(seconds * 1000) << 80 | rng.getrandbits(80) & _RANDOM_BITS | _VERSION_7
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_RANDOM_BITS = (0xFFF << 64) | ((1 << 62) - 1)
_VERSION_7 = (0x7 << 76) | (0b10 << 62)


def geometric(rng: random.Random, mean: float) -> int:
    """1, 2, 3... with P(k) falling geometrically, of mean ``mean`` (> 1)."""
    return 1 + int(math.log(1.0 - rng.random()) / math.log(1.0 - 1.0 / mean))


def _zipf_weights(count: int) -> list[float]:
    return [1.0 / (rank + 1) ** 0.8 for rank in range(count)]


@dataclass
class Plan:
    """Who is who and what happened when; the rows are made from it."""

    customer_ids: list[str]
    customer_at: array[float]
    first: array[int]  # index into FIRST_NAMES, per customer
    last: array[int]
    agent_ids: list[str]
    agent_weights: list[float]
    # Per interaction, in time order: when it began and whose it is.
    at: array[float]
    order: array[int]
    timeline: list[int]  # customers with exactly TIMELINE_INTERACTIONS interactions
    heavy: list[int]
    held: dict[int, int] = field(default_factory=dict)  # position -> agent index, the open ones

    def phone(self, k: int) -> str | None:
        """The customer's phone (E.164), if they have one; every number distinct."""
        if _share(k, 1) >= 85 and _share(k, 2) < 70:
            return None  # they have an email address instead
        area, rest = AREAS[k % len(AREAS)], k // len(AREAS)
        return f"+1{area}{2_000_000 + (rest * 1_234_567 + 7_654_321) % 8_000_000:07d}"

    def second_phone(self, k: int) -> str | None:
        if _share(k, 3) >= 5:
            return None
        area, rest = SECOND_AREAS[k % len(SECOND_AREAS)], k // len(SECOND_AREAS)
        return f"+1{area}{2_000_000 + (rest * 2_345_679 + 1_234_321) % 8_000_000:07d}"

    def email(self, k: int) -> str | None:
        if _share(k, 2) >= 70:
            return None
        first, last = FIRST_NAMES[self.first[k]], LAST_NAMES[self.last[k]]
        domain = DOMAINS[_share(k, 4) % len(DOMAINS)]
        style = _share(k, 5) % 3
        local = f"{first}.{last}{k}" if style == 0 else f"{first[0]}{last}{k}" if style == 1 else f"{first}{k}"
        return f"{local}@{domain}"

    def name(self, k: int) -> str:
        return f"{FIRST_NAMES[self.first[k]].title()} {LAST_NAMES[self.last[k]].title()}"


def _share(k: int, salt: int) -> int:
    """0..99, fixed per customer and salt: who has a phone, an email... without storing it."""
    return (k * 2_654_435_761 + salt * 40_503) % 4_294_967_296 * 100 // 4_294_967_296


def plan_interactions(rng: random.Random, customers: int, interactions: int, now: float) -> Plan:
    if interactions < customers:
        raise ValueError("every customer has at least one interaction: give at least as many interactions")
    start = now - 3 * YEAR
    span = now - 86400 - start
    customer_at = array("d", (start + span * k / customers for k in range(customers)))
    first = array("H", rng.choices(range(len(FIRST_NAMES)), weights=_zipf_weights(len(FIRST_NAMES)), k=customers))
    last = array("H", rng.choices(range(len(LAST_NAMES)), weights=_zipf_weights(len(LAST_NAMES)), k=customers))
    customer_ids = [uuid7(at, rng) for at in customer_at]
    # Exactly TIMELINE_INTERACTIONS for a few early customers, and a hundred heavy ones, as
    # many as the sizes leave room for; geometric counts for everyone else, summed exactly.
    spare = interactions - customers
    n_timeline = max(0, min(20, spare // (2 * TIMELINE_INTERACTIONS), customers // 50))
    chosen = rng.sample(range(max(customers // 10, n_timeline)), n_timeline)
    counts = array("i", [0]) * customers
    for k in chosen:
        counts[k] = TIMELINE_INTERACTIONS
    spare -= n_timeline * (TIMELINE_INTERACTIONS - 1)
    heavy = [k for k in rng.sample(range(customers // 2 or 1), min(100, customers // 100)) if not counts[k]]
    heavy = heavy[: max(0, spare // 2000)]
    for k in heavy:
        counts[k] = rng.randint(TIMELINE_INTERACTIONS + 1, 1000)
        spare -= counts[k] - 1
    others = [k for k in range(customers) if not counts[k]]
    mean = 1 + spare / len(others)
    for k in others:
        counts[k] = geometric(rng, mean) if mean > 1 else 1
    excess = sum(counts) - interactions
    while excess > 0:
        k = others[rng.randrange(len(others))]
        if counts[k] > 1:
            counts[k] -= 1
            excess -= 1
    while excess < 0:
        counts[others[rng.randrange(len(others))]] += 1
        excess += 1
    at = array("d")
    owner = array("i")
    for k in range(customers):
        at.append(customer_at[k])
        owner.append(k)
        for _ in range(counts[k] - 1):
            at.append(rng.uniform(customer_at[k], now - 600))
            owner.append(k)
    by_time = sorted(range(len(at)), key=at.__getitem__)
    plan = Plan(
        customer_ids=customer_ids,
        customer_at=customer_at,
        first=first,
        last=last,
        agent_ids=[uuid7(start - YEAR + n, rng) for n in range(AGENTS)],
        agent_weights=[rng.uniform(0.4, 1.6) for _ in range(AGENTS)],
        at=array("d", (at[i] for i in by_time)),
        order=array("i", (owner[i] for i in by_time)),
        timeline=sorted(chosen),
        heavy=heavy,
    )
    # The newest interactions are the open ones: one per customer, OPEN_PER_AGENT per agent.
    seen: set[int] = set()
    position = len(plan.order) - 1
    wanted = min(OPEN_PER_AGENT * AGENTS, interactions // 10)
    while len(plan.held) < wanted and position >= 0:
        k = plan.order[position]
        if k not in seen:
            seen.add(k)
            plan.held[position] = len(plan.held) % AGENTS
        position -= 1
    return plan


def customer_rows(
    plan: Plan, rng: random.Random, batch: int
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """(customers, identities) rows, ``batch`` customers at a time."""
    identity_id = 0
    for begin in range(0, len(plan.customer_ids), batch):
        customers: list[tuple[Any, ...]] = []
        identities: list[tuple[Any, ...]] = []
        for k in range(begin, min(begin + batch, len(plan.customer_ids))):
            at = stamp(plan.customer_at[k])
            name = plan.name(k)
            customers.append((plan.customer_ids[k], name, name_key(name), None, at))
            for kind, value in (("phone", plan.phone(k)), ("email", plan.email(k)), ("phone", plan.second_phone(k))):
                if value is not None:
                    identity_id += 1
                    opted_out = at if kind == "phone" and rng.random() < 0.01 else None
                    identities.append((identity_id, plan.customer_ids[k], kind, value, opted_out, at))
        yield customers, identities


class InteractionRows:
    """Interactions with their messages and events, in time order, a batch at a time."""

    columns: dict[str, tuple[str, ...]] = {  # noqa: RUF012 (read only)
        "interactions": (
            "id", "customer_id", "channel", "state", "queue", "thread_key", "enqueued_at", "priority",
            "required_skills", "escalation_level", "answer_deadline", "sla_breached_at", "first_response_deadline",
            "first_responded_at", "first_response_breached_at", "preferred_agent_id", "preferred_until",
            "assigned_agent_id", "offer_id", "offered_agent_id", "offer_expires_at", "disposition", "transfer_note",
            "parked_until", "created_at", "updated_at", "closed_at", "version",
        ),
        "messages": (
            "id", "interaction_id", "channel", "direction", "external_id", "from_address", "to_address", "body",
            "status", "status_updated_at", "error", "author_agent_id", "attributes", "created_at",
        ),
        "interaction_events": ("id", "seq", "interaction_id", "type", "actor_kind", "actor_id", "data", "created_at"),
    }  # fmt: skip

    def __init__(self, plan: Plan, rng: random.Random, now: float) -> None:
        self.plan, self.rng, self.now = plan, rng, now
        self._event_id = 0
        self._external = 0
        self._agents = range(len(plan.agent_ids))
        self._cumulative = list(_accumulate(plan.agent_weights))

    def batches(self, size: int) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        for begin in range(0, len(self.plan.order), size):
            out: dict[str, list[tuple[Any, ...]]] = {table: [] for table in self.columns}
            for position in range(begin, min(begin + size, len(self.plan.order))):
                self._one(position, out)
            yield out

    def _one(self, position: int, out: dict[str, list[tuple[Any, ...]]]) -> None:
        plan, rng = self.plan, self.rng
        t, k = plan.at[position], plan.order[position]
        customer_id = plan.customer_ids[k]
        phone, email = plan.phone(k), plan.email(k)
        channels = [c for c in CHANNEL_WEIGHTS if (c != "sms" or phone) and (c != "email" or email)]
        channel = rng.choices(channels, weights=[CHANNEL_WEIGHTS[c] for c in channels])[0]
        address = phone if channel == "sms" else email if channel == "email" else f"visitor:{customer_id[-12:]}"
        assert address is not None
        held = plan.held.get(position)
        roll = rng.random()
        state = "assigned" if held is not None else "abandoned" if roll < 0.05 else "cancelled" if roll < 0.08 else ""
        state = state or "completed"
        agent_index = held if held is not None else rng.choices(self._agents, cum_weights=self._cumulative)[0]
        agent = plan.agent_ids[agent_index] if state in ("assigned", "completed") else None
        interaction_id = uuid7(t, rng)
        queue = "support" if rng.random() < 0.85 else "sales"
        sla = SLA_SECONDS[channel]
        # The times of its life, squeezed to end before now.
        wait = min(rng.expovariate(1 / 45), 4 * sla)
        handle = rng.expovariate(1 / HANDLE_SECONDS[channel]) + 30
        total = wait + 20 + handle + 30
        scale = min(1.0, (self.now - 60 - t) / total) if state != "assigned" else 1.0
        offered_at, accepted_at = t + wait * scale, t + (wait + 12) * scale
        closed = t + total * scale
        inbound = rng.choices((1, 2, 3, 4), weights=(65, 25, 7, 3))[0] if state != "cancelled" else 1
        replies = inbound - (1 if state == "assigned" else 0) if agent else 0
        events: list[tuple[str, str, str | None, dict[str, Any], float]] = []
        customer = ("customer", customer_id)
        events.append(("created", *customer, {"channel": channel}, t))
        deadline = iso(t + sla)
        if state == "cancelled":
            events.append(("filed", "system", None, {"from": "new", "to": "cancelled", "reason": "automated"}, t))
        else:
            queued = {"from": "new", "to": "queued", "queue": queue, "answer_deadline": deadline}
            events.append(("queued", "system", None, queued, t))
        # Messages: the customer's first; with an agent, each answered in turn (the last of an
        # open one not yet); the offer and its acceptance after the first.
        ours_list: list[bool] = []
        for n in range(inbound):
            ours_list.append(False)
            if n < replies:
                ours_list.append(True)
        begin = accepted_at if agent else t
        step = (closed - begin) / (len(ours_list) + 1)
        times = [t] + [begin + step * (n + 1) for n in range(len(ours_list) - 1)]
        first_reply: float | None = None
        subject = rng.choice(CUSTOMER_SENTENCES)[:60]
        waited = {"queue": queue, "channel": channel, "enqueued_at": iso(t), "answer_deadline": deadline}
        for n, (at, ours) in enumerate(zip(times, ours_list, strict=True)):
            message_id = self._message(out, interaction_id, channel, address, ours, agent, subject, at)
            if ours:
                first_reply = first_reply or at
                status = "queued" if channel == "sms" else "sent"
                events.append(("message_sent", "agent", agent, {"message_id": message_id, "status": status}, at))
                if channel == "sms":
                    data = {"message_id": message_id, "status": "delivered"}
                    events.append(("message_status", "system", None, data, at + 2))
            else:
                events.append(("message_received", *customer, {"message_id": message_id}, at))
            if n == 0 and agent is not None:
                offer_id = uuid7(offered_at, rng)
                offered = {"from": "queued", "to": "offered", "agent_id": agent, "offer_id": offer_id}
                events.append(("offered", "system", None, offered, offered_at))
                taken = {"from": "offered", "to": "assigned", "offer_id": offer_id, **waited}
                events.append(("accepted", "agent", agent, taken, accepted_at))
        disposition = None
        if state == "completed":
            disposition = rng.choice(DISPOSITIONS)
            done: dict[str, Any] = {"from": "wrap_up", "to": "completed", "disposition": disposition}
            done["complaint"] = disposition == "complaint"
            if disposition in ("follow_up", "complaint"):
                done["note"] = rng.choice(AGENT_SENTENCES)
            events.append(
                ("wrap_up_started", "agent", agent, {"from": "assigned", "to": "wrap_up"}, closed - 30 * scale)
            )
            events.append(("completed", "agent", agent, done, closed))
        elif state == "abandoned":
            events.append(("abandoned", *customer, {"from": "queued", "to": "abandoned", **waited}, closed))
        is_open, filed = state == "assigned", state == "cancelled"
        closed_at = None if is_open else stamp(closed)
        thread = f"sms:{OUR_NUMBER}:{address}" if channel == "sms" else f"{channel}:{interaction_id[-16:]}"
        out["interactions"].append(
            (
                *(interaction_id, customer_id, channel, state, "" if filed else queue, thread),
                *(None if filed else stamp(t), 0, "{}", 0, None if filed else stamp(t + sla), None, None),
                *(None if first_reply is None else stamp(first_reply), None, None, None, agent, None, None, None),
                *(disposition, None, None, stamp(t), stamp(times[-1] if is_open else closed), closed_at),
                {"completed": 6, "assigned": 3, "abandoned": 2, "cancelled": 1}[state],
            )
        )
        for type_, actor_kind, actor_id, data, at in events:
            self._event_id += 1
            out["interaction_events"].append(
                (
                    self._event_id,
                    self._event_id,
                    interaction_id,
                    type_,
                    actor_kind,
                    actor_id,
                    json.dumps(data),
                    stamp(at),
                )
            )

    def _message(
        self,
        out: dict[str, list[tuple[Any, ...]]],
        interaction_id: str,
        channel: str,
        address: str,
        ours: bool,
        agent: str | None,
        subject: str,
        at: float,
    ) -> str:
        rng = self.rng
        self._external += 1
        message_id = uuid7(at, rng)
        sentences = AGENT_SENTENCES if ours else CUSTOMER_SENTENCES
        count = rng.randint(3, 8) if channel == "email" else rng.randint(1, 2)
        body = " ".join(rng.choice(sentences) for _ in range(count))
        if channel == "email":
            body = (
                ("Hello,\n\n" if ours else "Hi,\n\n") + body + ("\n\nBest regards,\nSupport" if ours else "\n\nThanks")
            )
            external: str | None = f"<{self._external:x}.{message_id[-12:]}@{'example.com' if ours else 'mail.test'}>"
            attributes: dict[str, Any] = {"subject": ("Re: " if ours else "") + subject}
            if not ours:
                attributes |= {"from_name": "", "recipients": [OUR_ADDRESS], "in_reply_to": [], "references": []}
        elif channel == "sms":
            external, attributes = f"SM{self._external:032x}", {} if ours else {"num_segments": "1"}
        else:
            external, attributes = (None if ours else f"chat-{self._external}"), {}
        ours_address = OUR_NUMBER if channel == "sms" else OUR_ADDRESS if channel == "email" else "chat"
        sender, recipient = (ours_address, address) if ours else (address, ours_address)
        status = ("delivered" if channel == "sms" else "sent") if ours else "received"
        out["messages"].append(
            (
                *(message_id, interaction_id, channel, "outbound" if ours else "inbound", external, sender, recipient),
                *(body, status, stamp(at + 2) if ours else None, None, agent if ours else None, json.dumps(attributes)),
                stamp(at),
            )
        )
        return message_id


def _accumulate(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total
