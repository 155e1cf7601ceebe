"""What the IVR tests share: the shipped demo flow, flows written inline, a directory of
customers in memory (the port the voice channel implements over storage), and checking."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ivr.check import Known, check_flows
from ivr.flow import Flow, Flows
from ivr.hours import BusinessHours
from ivr.interpreter import Interpreter
from ivr.load import load_flow

DEMO = Path(__file__).resolve().parents[2] / "config" / "flows" / "main.toml"
KNOWN = Known(
    queues=frozenset({"support", "sales", "email_only"}),
    voice_queues=frozenset({"support", "sales"}),
    skills=frozenset({"billing", "spanish"}),
)
CALLER = "+15551230001"
# A Wednesday, 15:00 UTC.
NOON = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


class Customers:
    """Customers by phone number and by account number; remembers what it was asked."""

    def __init__(self, by_phone: dict[str, str] | None = None, by_account: dict[str, str] | None = None) -> None:
        self.by_phone = by_phone or {}
        self.by_account = by_account or {}
        self.asked: list[tuple[str, str | None]] = []

    async def find_customer(self, caller: str, account: str | None) -> str | None:
        self.asked.append((caller, account))
        if account is not None and account in self.by_account:
            return self.by_account[account]
        return self.by_phone.get(caller)


def parse(text: str, name: str = "test") -> tuple[Flow, list[tuple[str, str]]]:
    """The flow ``text`` describes and the problems reading and checking it found."""
    problems: list[tuple[str, str]] = []
    flow = load_flow(name, f"{name}.toml", tomllib.loads(text), lambda key, reason: problems.append((key, reason)))
    incomplete = {name} if problems else set()
    check_flows([flow], KNOWN, lambda _flow, key, reason: problems.append((key, reason)), incomplete=incomplete)
    return flow, problems


def flow_of(text: str, name: str = "test") -> Flow:
    flow, problems = parse(text, name)
    assert problems == []
    return flow


def demo_flow() -> Flow:
    data: dict[str, Any] = tomllib.loads(DEMO.read_text())
    problems: list[tuple[str, str]] = []
    flow = load_flow("main", str(DEMO), data, lambda key, reason: problems.append((key, reason)))
    check_flows([flow], KNOWN, lambda _flow, key, reason: problems.append((key, reason)))
    assert problems == []
    return flow


def interpreter(
    *flows: Flow, hours: dict[str, BusinessHours] | None = None, customers: Customers | None = None
) -> Interpreter:
    return Interpreter(Flows({flow.name: flow for flow in flows}, flows[0].name), hours or {}, customers or Customers())
