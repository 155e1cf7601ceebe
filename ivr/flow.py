"""A voice flow as data: its prompts and nodes, as ``ivr/load.py`` reads them from one TOML
file under the configuration's flows directory, and the set of flows chosen by the number
the caller dialled. Nothing here runs anything; ``ivr/interpreter.py`` does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# What a Gather listens for (Twilio's ``input``): keys pressed, words spoken, or both.
INPUTS = ("dtmf", "speech", "dtmf speech")


@dataclass(frozen=True)
class Prompt:
    """Something the caller hears: text spoken by a voice (say) or a recording (play, a
    URL); exactly one of the two. Empty voice or language: the flow's, else Twilio's."""

    say: str = ""
    play: str = ""
    voice: str = ""
    language: str = ""


@dataclass(frozen=True)
class SayNode:
    id: str
    prompts: tuple[str, ...]
    next: str


@dataclass(frozen=True)
class MenuNode:
    """Options keyed by a DTMF key ("1", "*") or a lower-case word or phrase ("sales").
    ``retries``: how often the caller is asked again after an invalid choice or silence,
    so the fallback comes after retries + 1 failed attempts."""

    id: str
    prompts: tuple[str, ...]
    options: Mapping[str, str]
    input: str = "dtmf"
    timeout_seconds: int = 5
    retries: int = 2
    invalid_prompt: str | None = None
    fallback: str = ""
    # Speech recognition's language; empty: the flow's.
    language: str = ""


@dataclass(frozen=True)
class CollectNode:
    """Digits (or speech) stored under ``attribute`` once their length and pattern (a
    regular expression the whole value must match) are right."""

    id: str
    prompts: tuple[str, ...]
    attribute: str
    input: str = "dtmf"
    min_length: int = 1
    max_length: int = 32
    pattern: str | None = None
    finish_on_key: str = "#"
    timeout_seconds: int = 5
    retries: int = 2
    invalid_prompt: str | None = None
    next: str = ""
    fallback: str = ""
    language: str = ""


@dataclass(frozen=True)
class LookupNode:
    """Finds the customer by the caller's number and/or an account number collected
    before (the attribute a collect node stored)."""

    id: str
    by_caller: bool
    account_attribute: str | None
    found: str
    not_found: str


@dataclass(frozen=True)
class HoursNode:
    """Open or closed, by the business hours of ``queue`` (always open without any)."""

    id: str
    queue: str
    open: str
    closed: str


@dataclass(frozen=True)
class QueueNode:
    """Ends the IVR: the call waits in ``queue`` for an agent. ``skills`` are required on
    top of the queue's own; ``priority`` adds to the queue's."""

    id: str
    queue: str
    skills: Mapping[str, int] = field(default_factory=dict)
    priority: int = 0
    language: str = ""
    prompts: tuple[str, ...] = ()


@dataclass(frozen=True)
class VoicemailNode:
    id: str
    prompts: tuple[str, ...]
    max_seconds: int = 120
    transcribe: bool = False


@dataclass(frozen=True)
class TransferNode:
    """Ends the IVR: the call is connected to an external number (E.164)."""

    id: str
    prompts: tuple[str, ...]
    number: str


@dataclass(frozen=True)
class HangupNode:
    id: str
    prompts: tuple[str, ...] = ()


Node = SayNode | MenuNode | CollectNode | LookupNode | HoursNode | QueueNode | VoicemailNode | TransferNode | HangupNode
# Nodes that wait for the caller (a Gather); every other node runs through or ends the IVR.
InputNode = MenuNode | CollectNode
INPUT_NODES = (MenuNode, CollectNode)


def targets(node: Node) -> dict[str, str]:
    """The nodes ``node`` may go to, by the field that names each ("options.2" for a
    menu's option), in the order the file gives them."""
    if isinstance(node, SayNode):
        return {"next": node.next}
    if isinstance(node, MenuNode):
        return {**{f"options.{key}": target for key, target in node.options.items()}, "fallback": node.fallback}
    if isinstance(node, CollectNode):
        return {"next": node.next, "fallback": node.fallback}
    if isinstance(node, LookupNode):
        return {"found": node.found, "not_found": node.not_found}
    if isinstance(node, HoursNode):
        return {"open": node.open, "closed": node.closed}
    return {}


def silent_targets(node: Node) -> dict[str, str]:
    """The nodes ``node`` goes to when the caller does nothing at all: a run through a
    say, lookup or hours node, or a menu's or collect's fallback after silence."""
    if isinstance(node, MenuNode | CollectNode):
        return {"fallback": node.fallback}
    return targets(node)


@dataclass(frozen=True)
class Flow:
    name: str
    # The file it was read from, for messages.
    source: str
    # The numbers (E.164) whose calls it answers.
    numbers: tuple[str, ...]
    start: str
    nodes: Mapping[str, Node]
    prompts: Mapping[str, Prompt]
    # Speech recognition's language for its menus and collects, unless a node names one.
    language: str = ""


@dataclass(frozen=True)
class Flows:
    """Every flow, by name. Empty: no voice flows (calls are apologised to and hung up)."""

    flows: Mapping[str, Flow] = field(default_factory=dict)
    # The flow for a number no flow lists; None: such a call is apologised to.
    default: str | None = None

    def for_number(self, dialled: str) -> Flow | None:
        """The flow that lists ``dialled``, else the default flow, else None."""
        for flow in self.flows.values():
            if dialled in flow.numbers:
                return flow
        return self.flows.get(self.default) if self.default is not None else None

    def get(self, name: str) -> Flow | None:
        return self.flows.get(name)
