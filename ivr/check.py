"""The checks over flows as a whole, once each file has been read: every target names a
node, every node can be reached from the start, no loop can go round without the caller,
and the queues, skills and prompts named exist. ``config check`` reports each through
``problem(flow, key, reason)`` and ``serve`` refuses to start on any."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from ivr.flow import (
    INPUT_NODES,
    CollectNode,
    Flow,
    HoursNode,
    LookupNode,
    MenuNode,
    Node,
    QueueNode,
    TransferNode,
    silent_targets,
    targets,
)

FlowProblem = Callable[[Flow, str, str], None]
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


@dataclass(frozen=True)
class Known:
    """What the rest of the configuration declares, which flows may name."""

    queues: frozenset[str] = frozenset()
    # The queues that take voice: the only ones a call may wait in.
    voice_queues: frozenset[str] = frozenset()
    skills: frozenset[str] = frozenset()


def check_flows(flows: Iterable[Flow], known: Known, problem: FlowProblem, *, incomplete: Collection[str] = ()) -> None:
    """``incomplete``: the flows whose files had problems already (see ``check_flow``)."""
    listed: dict[str, Flow] = {}
    for flow in flows:
        check_flow(flow, known, problem, complete=flow.name not in incomplete)
        for number in flow.numbers:
            other = listed.setdefault(number, flow)
            if other is not flow:
                problem(flow, f"flows.{flow.name}.numbers", f"{number} is listed by flow {other.name!r} too")


def check_flow(flow: Flow, known: Known, problem: FlowProblem, *, complete: bool = True) -> None:
    """Every check on one flow. Unreachable nodes are reported only when everything else
    about the flow is right (``complete``: its file had no problem either): a target
    that names no node, or a node that could not be read, leaves what follows it
    unreached, and reporting all of that would bury the one mistake."""
    problems = 0

    def report(key: str, reason: str) -> None:
        nonlocal problems
        problems += 1
        problem(flow, f"flows.{flow.name}.{key}", reason)

    for number in flow.numbers:
        if not E164.fullmatch(number):
            report("numbers", f"{number!r} is not an E.164 number (+, country code and number: +15005550006)")
    if not flow.start:
        report("start", "required: the node a call starts at")
    elif flow.start not in flow.nodes:
        report("start", f"names no node {flow.start!r}")
    collected = {node.attribute for node in flow.nodes.values() if isinstance(node, CollectNode)}
    for node in flow.nodes.values():
        _check_node(flow, node, known, collected, report)
    _check_loops(flow, report)
    if complete and not problems:
        reached = _reachable(flow, flow.start, targets) | {flow.start}
        for node_id in flow.nodes:
            if node_id not in reached:
                report(f"nodes.{node_id}", f"unreachable from the start node {flow.start!r}")


def _check_node(flow: Flow, node: Node, known: Known, collected: set[str], report: Callable[[str, str], None]) -> None:
    where = f"nodes.{node.id}"
    for field, target in targets(node).items():
        if not target:
            report(f"{where}.{field}", "required: the node to go to")
        elif target not in flow.nodes:
            report(f"{where}.{field}", f"names no node {target!r}")
    for name in getattr(node, "prompts", ()):
        if name not in flow.prompts:
            report(f"{where}.prompts", f"no prompt named {name!r} in [prompts]")
    invalid = node.invalid_prompt if isinstance(node, MenuNode | CollectNode) else None
    if invalid is not None and invalid not in flow.prompts:
        report(f"{where}.invalid_prompt", f"no prompt named {invalid!r} in [prompts]")
    if isinstance(node, HoursNode | QueueNode):
        if not node.queue:
            report(f"{where}.queue", "required: a queue's name")
        elif node.queue not in known.queues:
            report(f"{where}.queue", f"no queue named {node.queue!r}")
        elif isinstance(node, QueueNode) and node.queue not in known.voice_queues:
            report(f"{where}.queue", f"queue {node.queue!r} does not accept voice")
    if isinstance(node, QueueNode):
        for skill in node.skills:
            if skill not in known.skills:
                report(f"{where}.skills.{skill}", "not declared in the top-level skills list")
    if isinstance(node, LookupNode):
        if not node.by_caller and node.account_attribute is None:
            report(where, "looks nothing up: set by_caller = true, account_attribute, or both")
        if node.account_attribute is not None and node.account_attribute not in collected:
            report(f"{where}.account_attribute", f"no collect node stores {node.account_attribute!r}")
    if isinstance(node, TransferNode) and not E164.fullmatch(node.number):
        report(f"{where}.number", f"{node.number!r} is not an E.164 number (+, country code and number)")


def _check_loops(flow: Flow, report: Callable[[str, str], None]) -> None:
    """Two kinds of loop would keep a call going round for ever: one through say, lookup
    and hours nodes only (no caller input at all), and one a silent caller never leaves
    (through a menu's or collect's fallback, taken after the last timeout)."""
    seen: set[str] = set()
    for node_id, node in flow.nodes.items():
        if node_id in seen or isinstance(node, INPUT_NODES):
            continue
        cycle = _cycle(flow, node_id, _run_through)
        if cycle:
            seen.update(cycle)
            report(f"nodes.{node_id}", f"a loop with no caller input: {' → '.join([*cycle, node_id])}")
    for node_id, node in flow.nodes.items():
        if node_id in seen or not isinstance(node, INPUT_NODES):
            continue
        cycle = _cycle(flow, node_id, silent_targets)
        if cycle:
            seen.update(cycle)
            report(
                f"nodes.{node_id}",
                f"a loop a silent caller never leaves: {' → '.join([*cycle, node_id])}"
                " (let a fallback lead out: to a queue, voicemail or a hang-up)",
            )


def _run_through(node: Node) -> Mapping[str, str]:
    """Where a node goes without waiting for the caller (an input node waits)."""
    return {} if isinstance(node, INPUT_NODES) else targets(node)


def _reachable(flow: Flow, start: str, edges: Callable[[Node], Mapping[str, str]]) -> set[str]:
    """The nodes reached from ``start`` by one edge or more."""
    reached: set[str] = set()
    queue = deque([start])
    while queue:
        for target in edges(flow.nodes[queue.popleft()]).values():
            if target in flow.nodes and target not in reached:
                reached.add(target)
                queue.append(target)
    return reached


def _cycle(flow: Flow, start: str, edges: Callable[[Node], Mapping[str, str]]) -> list[str]:
    """The shortest way from ``start`` back to itself over ``edges``, as the nodes on it
    (``start`` first); empty when there is none."""
    parents: dict[str, str] = {}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for target in edges(flow.nodes[current]).values():
            if target == start:
                path = [current]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return path[::-1]
            if target in flow.nodes and target not in parents:
                parents[target] = current
                queue.append(target)
    return []
