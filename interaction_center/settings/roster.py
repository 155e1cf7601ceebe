"""Parsing the structured parts of the configuration: queues (skills, SLA, escalation)
and agents (queues with priority and delay, skill levels, capacity). Problems are
reported through the loader's ``problem`` callback, never raised."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from interaction_center.domain.model import Channel, Role
from interaction_center.settings.model import (
    AgentSeed,
    EscalationSettings,
    QueueMembershipSettings,
    QueueSettings,
    SlaTarget,
)
from interaction_center.settings.voice import check_wait_branches, queue_hours, queue_voice

Problem = Callable[[str, str], None]
STRATEGIES = ("longest_idle", "most_skilled", "least_occupied", "round_robin")
_QUEUE_KEYS = {
    "channels", "skills", "priority", "strategy", "sla", "escalation", "max_size",
    "preferred_agent_seconds", "wrap_up_seconds", "hours", "voice", "dispositions",
}  # fmt: skip
_AGENT_KEYS = {"username", "display_name", "role", "queues", "skills", "capacity", "password", "phone"}
# Interactions of one channel an agent may hold at once, at most: more is a typing slip
# (a thousand chats), which would have routing offer them all to one person.
MAX_CAPACITY = 100
# An agent's phone is written as Twilio dials it: E.164.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_STEP_KEYS = {"after_seconds", "raise_priority", "relax_skills", "overflow_to"}


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return (is_int(value) or isinstance(value, float)) and value == value and abs(value) != float("inf")


def tables(problem: Problem, section: str, items: Any, keys: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The tables of an array of tables (``[[section]]``) that hold only ``keys``, each
    with its key for problems (``section[2]``); the others reported."""
    if not isinstance(items, list):
        problem(section, f"must be an array of tables ([[{section}]])")
        return
    for index, spec in enumerate(items):
        key = f"{section}[{index}]"
        if not isinstance(spec, dict) or set(spec) - keys:
            problem(key, f"must be a table of {', '.join(sorted(keys))}")
            continue
        yield key, spec


class RosterParser:
    def __init__(self, problem: Problem, skills: set[str]) -> None:
        self.problem = problem
        self.skills = skills

    def known_table(self, key: str, spec: Any, known: set[str]) -> bool:
        """Whether ``spec`` is a table; each key it has beyond ``known`` is reported."""
        if not isinstance(spec, dict):
            self.problem(key, "must be a table")
            return False
        for extra in set(spec) - known:
            self.problem(f"{key}.{extra}", "unknown key")
        return True

    def strings(self, key: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.problem(key, "must be a list of non-empty strings")
            return []
        return list(value)

    def channel_list(self, key: str, value: Any) -> list[Channel]:
        channels = []
        for name in self.strings(key, value):
            if name in Channel.__members__.values():
                channels.append(Channel(name))
            else:
                self.problem(key, f"unknown channel {name!r} (known: {', '.join(Channel)})")
        return channels

    def skill_levels(self, key: str, value: Any) -> dict[str, int]:
        if not isinstance(value, dict):
            self.problem(key, "must be a table of skill = level (1-10)")
            return {}
        levels = {}
        for skill, level in value.items():
            if skill not in self.skills:
                self.problem(f"{key}.{skill}", "not declared in the top-level skills list")
            elif not is_int(level) or not 1 <= level <= 10:
                self.problem(f"{key}.{skill}", f"a skill level is a whole number from 1 to 10, not {level!r}")
            else:
                levels[skill] = level
        return levels

    def number(
        self,
        key: str,
        value: Any,
        *,
        whole: bool = False,
        minimum: float = 0,
        above: bool = False,
        maximum: float | None = None,
    ) -> Any:
        """The value if it is a (whole) number at or ``above`` the minimum (and at most the
        maximum), as an int or a float; None, with the problem reported, otherwise."""
        ok = is_int(value) if whole else is_number(value)
        if not ok or value < minimum or (above and value == minimum) or (maximum is not None and value > maximum):
            kind = "a whole number" if whole else "a number"
            bound = f"above {minimum}" if above else f"of at least {minimum}"
            most = "" if maximum is None else f" and at most {maximum:g}"
            self.problem(key, f"must be {kind} {bound}{most}, not {value!r}")
            return None
        return int(value) if whole else float(value)

    def queues(self, table: Any) -> dict[str, QueueSettings]:
        if not isinstance(table, dict):
            self.problem("queues", "must be a table of queues")
            return {}
        queues = {}
        for name, spec in table.items():
            key = f"queues.{name}"
            if not self.known_table(key, spec, _QUEUE_KEYS):
                continue
            channels = self.channel_list(f"{key}.channels", spec.get("channels", []))
            if not channels:
                self.problem(f"{key}.channels", "a queue must accept at least one channel")
            strategy = spec.get("strategy", "longest_idle")
            if strategy not in STRATEGIES:
                self.problem(f"{key}.strategy", f"unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
                strategy = "longest_idle"
            max_size = spec.get("max_size")
            queues[name] = QueueSettings(
                name=name,
                channels=tuple(channels),
                skills=self.skill_levels(f"{key}.skills", spec.get("skills", {})),
                priority=self.number(f"{key}.priority", spec.get("priority", 0), whole=True, minimum=-1000) or 0,
                strategy=strategy,
                sla=self.sla(key, spec, channels),
                escalation=self.escalation(key, spec.get("escalation", [])),
                max_size=None if max_size is None else self.number(f"{key}.max_size", max_size, whole=True, minimum=1),
                preferred_agent_seconds=self.number(
                    f"{key}.preferred_agent_seconds", spec.get("preferred_agent_seconds", 0)
                )
                or 0.0,
                wrap_up_seconds=self.number(f"{key}.wrap_up_seconds", spec.get("wrap_up_seconds", 0)) or 0.0,
                hours=queue_hours(self.problem, key, spec),
                voice=queue_voice(self.problem, key, spec.get("voice", {})),
                dispositions=tuple(self.strings(f"{key}.dispositions", spec.get("dispositions", []))),
            )
        for name, queue in queues.items():
            for index, step in enumerate(queue.escalation):
                if step.overflow_to is not None and step.overflow_to not in queues:
                    self.problem(
                        f"queues.{name}.escalation[{index}].overflow_to", f"no queue named {step.overflow_to!r}"
                    )
        check_wait_branches(self.problem, queues)
        return queues

    def sla(self, key: str, spec: dict[str, Any], channels: list[Channel]) -> dict[Channel, SlaTarget]:
        table = spec.get("sla", {})
        if not isinstance(table, dict):
            self.problem(f"{key}.sla", "must be a table of channels")
            return {}
        targets = {}
        for channel_name, target in table.items():
            where = f"{key}.sla.{channel_name}"
            if channel_name not in channels:
                self.problem(where, "the queue does not accept this channel")
                continue
            if not isinstance(target, dict) or set(target) - {"answer_seconds", "first_response_seconds"}:
                self.problem(where, "must be a table with answer_seconds and optionally first_response_seconds")
                continue
            answer: Any = target.get("answer_seconds")
            first = target.get("first_response_seconds")
            if not is_int(answer) or answer <= 0:
                self.problem(f"{where}.answer_seconds", "must be a whole number of seconds above 0")
                continue
            if first is not None and (not is_int(first) or first <= 0):
                self.problem(f"{where}.first_response_seconds", "must be a whole number of seconds above 0")
                continue
            targets[Channel(channel_name)] = SlaTarget(answer, first)
        return targets

    def escalation(self, key: str, steps: Any) -> tuple[EscalationSettings, ...]:
        if not isinstance(steps, list):
            self.problem(f"{key}.escalation", "must be an array of tables ([[queues.NAME.escalation]])")
            return ()
        parsed = []
        for index, step in enumerate(steps):
            where = f"{key}.escalation[{index}]"
            if not isinstance(step, dict) or set(step) - _STEP_KEYS or "after_seconds" not in step:
                self.problem(where, f"must be a table with after_seconds and any of {', '.join(sorted(_STEP_KEYS))}")
                continue
            after = self.number(f"{where}.after_seconds", step["after_seconds"])
            raise_by = self.number(f"{where}.raise_priority", step.get("raise_priority", 0), whole=True)
            relax = self.number(f"{where}.relax_skills", step.get("relax_skills", 0), whole=True)
            overflow = step.get("overflow_to")
            if overflow is not None and not isinstance(overflow, str):
                self.problem(f"{where}.overflow_to", "must be a queue name")
                continue
            if after is None or raise_by is None or relax is None:
                continue
            if not (raise_by or relax or overflow):
                self.problem(where, "does nothing: set raise_priority, relax_skills or overflow_to")
                continue
            parsed.append(EscalationSettings(after, raise_by, relax, overflow))
        if [s.after_seconds for s in parsed] != sorted(s.after_seconds for s in parsed):
            self.problem(f"{key}.escalation", "steps must be in order of after_seconds")
        return tuple(parsed)

    def agents(self, items: Any, queues: dict[str, QueueSettings]) -> tuple[AgentSeed, ...]:
        if not isinstance(items, list):
            self.problem("agents", "must be an array of tables ([[agents]])")
            return ()
        seeds: list[AgentSeed] = []
        for index, spec in enumerate(items):
            key = f"agents[{index}]"
            if not self.known_table(key, spec, _AGENT_KEYS):
                continue
            username = spec.get("username")
            if not isinstance(username, str) or not username.strip() or len(username) > 100:
                self.problem(f"{key}.username", "required, a non-empty string of at most 100 characters")
                continue
            if any(seed.username == username for seed in seeds):
                self.problem(f"{key}.username", f"{username!r} is declared twice")
            role = spec.get("role", Role.AGENT)
            if role not in Role.__members__.values():
                self.problem(f"{key}.role", f"unknown role {role!r} (known: {', '.join(Role)})")
                continue
            display_name = spec.get("display_name", username)
            password = spec.get("password", "")
            if not isinstance(display_name, str) or not isinstance(password, str) or len(display_name) > 200:
                self.problem(key, "display_name (at most 200 characters) and password must be strings")
                continue
            # None (as the API shows an account without one) is no phone.
            phone = "" if spec.get("phone") is None else spec["phone"]
            if not isinstance(phone, str) or (phone and not _E164.fullmatch(phone)):
                self.problem(f"{key}.phone", "must be a phone number in E.164 form, like +15551234567")
                continue
            seeds.append(
                AgentSeed(
                    username,
                    display_name,
                    Role(role),
                    self.memberships(f"{key}.queues", spec.get("queues", []), queues),
                    self.skill_levels(f"{key}.skills", spec.get("skills", {})),
                    self.per_channel(f"{key}.capacity", spec.get("capacity", {}), whole=True, maximum=MAX_CAPACITY),
                    password,
                    phone,
                )
            )
        return tuple(seeds)

    def memberships(
        self, key: str, items: Any, queues: dict[str, QueueSettings]
    ) -> tuple[QueueMembershipSettings, ...]:
        """A queue name, or {queue, priority, delay_seconds} (a routing-profile line)."""
        if not isinstance(items, list):
            self.problem(key, "must be a list of queue names or {queue, priority, delay_seconds} tables")
            return ()
        memberships: list[QueueMembershipSettings] = []
        for index, item in enumerate(items):
            spec = {"queue": item} if isinstance(item, str) else item
            where = f"{key}[{index}]"
            if not isinstance(spec, dict) or set(spec) - {"queue", "priority", "delay_seconds"}:
                self.problem(where, "must be a queue name or a {queue, priority, delay_seconds} table")
                continue
            queue = spec.get("queue")
            if not isinstance(queue, str):
                self.problem(where, "names no queue: give a queue name or {queue = NAME, ...}")
                continue
            if queue not in queues:
                self.problem(where, f"no queue named {queue!r}")
                continue
            if any(m.queue == queue for m in memberships):
                self.problem(where, f"queue {queue!r} is listed twice")
                continue
            priority = self.number(f"{where}.priority", spec.get("priority", 1), whole=True, minimum=1)
            delay = self.number(f"{where}.delay_seconds", spec.get("delay_seconds", 0))
            if priority is not None and delay is not None:
                memberships.append(QueueMembershipSettings(spec["queue"], priority, delay))
        return tuple(memberships)

    def per_channel(
        self, key: str, table: Any, *, whole: bool = False, above: bool = False, maximum: float | None = None
    ) -> dict[Channel, Any]:
        """A table of channel = number (capacity, offer timeouts)."""
        if not isinstance(table, dict):
            self.problem(key, "must be a table of channel = number")
            return {}
        values = {}
        for channel, number in table.items():
            if channel not in Channel.__members__.values():
                self.problem(f"{key}.{channel}", f"unknown channel (known: {', '.join(Channel)})")
            elif (
                value := self.number(f"{key}.{channel}", number, whole=whole, above=above, maximum=maximum)
            ) is not None:
                values[Channel(channel)] = value
        return values
