"""Running a flow: from its start, or from the caller's answer to the last Gather, through
the nodes that need nothing from the caller, to the next node that does (a menu or a
collect: a ``Gather``) or to one that ends the IVR (a queue, voicemail, transfer or
hang-up). Each call's state is a ``CallState`` the caller of this module stores between
webhooks, so any instance can take the next one; nothing is kept here between steps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from ivr.flow import (
    CollectNode,
    Flow,
    Flows,
    HangupNode,
    HoursNode,
    LookupNode,
    MenuNode,
    Node,
    Prompt,
    QueueNode,
    SayNode,
    TransferNode,
    VoicemailNode,
)
from ivr.hours import BusinessHours
from ivr.instructions import Enqueue, Gather, Hangup, Heard, Instruction, Transfer, Voicemail
from ivr.state import CallState, UnknownStep

__all__ = [
    "CallState",
    "Directory",
    "Enqueue",
    "FlowLoop",
    "Gather",
    "Hangup",
    "Heard",
    "Interpreter",
    "Step",
    "Transfer",
    "UnknownStep",
    "Voicemail",
]

Event = tuple[str, dict[str, Any]]
_WORDS = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# A spoken number: digits, perhaps grouped ("1234 5678", "12-34").
_SPOKEN_DIGITS = re.compile(r"[0-9][0-9 .-]*")


class FlowLoop(RuntimeError):
    """A step came back to a node it had already run without the caller doing anything:
    a loop ``config check`` refuses, so a flow that got past it is at fault."""


class Directory(Protocol):
    async def find_customer(self, caller: str, account: str | None) -> str | None:
        """The customer's id, by the caller's number (``caller``; "" when the lookup is by
        account only) and/or an account number; None when there is none."""
        ...


@dataclass(frozen=True)
class Step:
    """What to do with the call now: say ``prompts``, then ``then``. ``state`` is the
    call's state to keep for the next webhook; ``events`` go on the interaction's
    timeline, each a type and its JSON-able data."""

    prompts: tuple[Prompt, ...]
    then: Instruction
    state: CallState
    events: tuple[Event, ...] = ()


@dataclass
class _Run:
    """One step in progress: what the caller will hear, and what happened."""

    flow: Flow
    state: CallState
    prompts: list[Prompt] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)

    def say(self, node: Node, names: tuple[str, ...]) -> None:
        for name in names:
            self.prompts.append(self.flow.prompts[name])
            self.events.append(("ivr_prompt", {"node": node.id, "prompt": name}))

    def step(self, then: Instruction) -> Step:
        return Step(tuple(self.prompts), then, self.state, tuple(self.events))


class Interpreter:
    def __init__(self, flows: Flows, hours: Mapping[str, BusinessHours], directory: Directory) -> None:
        self.flows = flows
        # By queue name; a queue without hours is always open.
        self.hours = hours
        self.directory = directory

    async def begin(self, flow: Flow, caller: str, now: datetime) -> Step:
        run = _Run(flow, CallState(flow.name, flow.start))
        return await self._run_from(run, flow.start, caller, now)

    async def resume(self, state: CallState, heard: Heard, caller: str, now: datetime) -> Step:
        """The caller's answer to the Gather ``state``'s node issued."""
        flow = self.flows.get(state.flow)
        if flow is None:
            raise UnknownStep(f"no flow named {state.flow!r}")
        node = flow.nodes.get(state.node)
        if not isinstance(node, MenuNode | CollectNode):
            raise UnknownStep(f"flow {flow.name!r} has no menu or collect node named {state.node!r}")
        run = _Run(flow, state)
        said = {"digits": heard.digits, "speech": heard.speech, "confidence": heard.confidence}
        run.events.append(("ivr_input", {"node": node.id, **said}))
        if not heard.digits and not heard.speech:
            return await self._failed(run, node, "ivr_timeout", caller, now)
        if isinstance(node, MenuNode):
            option = _choice(node, heard)
            if option is None:
                return await self._failed(run, node, "ivr_invalid", caller, now)
            target = node.options[option]
            run.events.append(("ivr_choice", {"node": node.id, "option": option, "next": target}))
            return await self._run_from(run, target, caller, now)
        value = _collected(node, heard)
        if value is None:
            return await self._failed(run, node, "ivr_invalid", caller, now)
        run.state = replace(state, attributes={**state.attributes, node.attribute: value})
        run.events.append(("ivr_collected", {"node": node.id, "attribute": node.attribute, "value": value}))
        return await self._run_from(run, node.next, caller, now)

    async def _failed(self, run: _Run, node: MenuNode | CollectNode, kind: str, caller: str, now: datetime) -> Step:
        """An invalid answer or silence: ask again while retries are left, then fall back."""
        attempt = run.state.retries + 1
        if attempt > node.retries:
            run.events.append(("ivr_fallback", {"node": node.id, "next": node.fallback}))
            return await self._run_from(run, node.fallback, caller, now)
        run.events.append((kind, {"node": node.id, "attempt": attempt}))
        run.state = replace(run.state, retries=attempt)
        # "Sorry, that is not one of the choices" before the question again; silence gets
        # just the question.
        apology = (node.invalid_prompt,) if kind == "ivr_invalid" and node.invalid_prompt else ()
        return run.step(self._gather(run, node, apology))

    async def _run_from(self, run: _Run, node_id: str, caller: str, now: datetime) -> Step:
        while True:
            node = run.flow.nodes.get(node_id)
            if node is None:
                raise UnknownStep(f"flow {run.flow.name!r} has no node named {node_id!r}")
            if node_id in run.visited:
                raise FlowLoop(f"flow {run.flow.name!r} came back to node {node_id!r} without the caller's input")
            run.visited.add(node_id)
            if isinstance(node, SayNode):
                run.say(node, node.prompts)
                node_id = node.next
            elif isinstance(node, LookupNode):
                node_id = await self._lookup(run, node, caller)
            elif isinstance(node, HoursNode):
                hours = self.hours.get(node.queue)
                is_open = hours is None or hours.is_open(now)
                run.events.append(("ivr_hours", {"node": node.id, "queue": node.queue, "open": is_open}))
                node_id = node.open if is_open else node.closed
            else:
                # The call stops here, at a question or at its IVR's end: only the node it
                # stops at is its state's (set once, not at every node on the way).
                run.state = replace(run.state, node=node_id, retries=0)
                if isinstance(node, MenuNode | CollectNode):
                    return run.step(self._gather(run, node, ()))
                return run.step(self._end(run, node))

    async def _lookup(self, run: _Run, node: LookupNode, caller: str) -> str:
        account = run.state.attributes.get(node.account_attribute) if node.account_attribute else None
        customer = await self.directory.find_customer(caller if node.by_caller else "", account)
        run.events.append(("ivr_lookup", {"node": node.id, "found": customer is not None, "customer_id": customer}))
        if customer is None:
            return node.not_found
        run.state = replace(run.state, customer_id=customer)
        return node.found

    def _gather(self, run: _Run, node: MenuNode | CollectNode, before: tuple[str, ...]) -> Gather:
        """The question, asked inside the Gather so that the caller may answer before it ends."""
        names = (*before, *node.prompts)
        for name in names:
            run.events.append(("ivr_prompt", {"node": node.id, "prompt": name}))
        prompts = tuple(run.flow.prompts[name] for name in names)
        language = node.language or run.flow.language
        if isinstance(node, MenuNode):
            keys = [key for key in node.options if key[0] in "0123456789*#"]
            words = tuple(key for key in node.options if key not in keys)
            # One key each: the Gather ends at the first press. Longer keys need the finish key.
            single = bool(keys) and all(len(key) == 1 for key in keys)
            return Gather(
                prompts,
                node.input,
                node.timeout_seconds,
                1 if single else None,
                "" if "#" in keys else "#",
                words,
                language,
            )
        fixed = node.max_length if node.min_length == node.max_length else None
        return Gather(prompts, node.input, node.timeout_seconds, fixed, node.finish_on_key, (), language)

    def _end(self, run: _Run, node: QueueNode | VoicemailNode | TransferNode | HangupNode) -> Instruction:
        run.say(node, node.prompts)
        if isinstance(node, QueueNode):
            run.events.append(("ivr_queue", {"node": node.id, "queue": node.queue}))
            return Enqueue(node.queue, node.skills, node.priority, node.language or run.flow.language)
        if isinstance(node, VoicemailNode):
            run.events.append(("ivr_voicemail", {"node": node.id}))
            return Voicemail(node.max_seconds, node.transcribe)
        if isinstance(node, TransferNode):
            run.events.append(("ivr_transfer", {"node": node.id, "number": node.number}))
            return Transfer(node.number)
        run.events.append(("ivr_hangup", {"node": node.id}))
        return Hangup()


def _choice(node: MenuNode, heard: Heard) -> str | None:
    """The option the caller chose: keys pressed match exactly; words heard match an
    option whose words appear together in what was said, the earliest said winning."""
    if heard.digits:
        return heard.digits if heard.digits in node.options and "dtmf" in node.input else None
    if "speech" not in node.input:
        return None
    said = _WORDS.findall(heard.speech.lower())
    best: tuple[int, str] | None = None
    for key in node.options:
        words = _WORDS.findall(key)
        if not words or key[0] in "0123456789*#":
            continue
        for start in range(len(said) - len(words) + 1):
            if said[start : start + len(words)] == words:
                if best is None or start < best[0]:
                    best = (start, key)
                break
    return None if best is None else best[1]


def _collected(node: CollectNode, heard: Heard) -> str | None:
    """The value to keep, if it is valid: the keys pressed, or what was said (a spoken
    number without the spaces and dashes between its groups)."""
    if heard.digits:
        value = heard.digits if "dtmf" in node.input else None
    elif "speech" in node.input:
        spoken = heard.speech.strip()
        value = re.sub(r"[ .-]", "", spoken) if _SPOKEN_DIGITS.fullmatch(spoken) else spoken
    else:
        value = None
    if value is None or not node.min_length <= len(value) <= node.max_length:
        return None
    if node.pattern is not None and not re.fullmatch(node.pattern, value):
        return None
    return value
