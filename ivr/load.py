"""Reading one flow file (already parsed TOML) into a ``Flow``. Each problem is reported
through ``problem(key, reason)`` with a key that names the flow and the node
(``flows.main.nodes.menu.timeout_seconds``), and reading goes on with a harmless value, so
one pass finds them all. What concerns the graph (targets, reachability, loops, names
the rest of the configuration declares) is ``ivr/check.py``'s."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ivr.flow import (
    INPUTS,
    CollectNode,
    Flow,
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

Problem = Callable[[str, str], None]
NAME = re.compile(r"[A-Za-z0-9_-]+")
# A menu's option: keys pressed, or a lower-case word or phrase heard.
DTMF_KEY = re.compile(r"[0-9*#]+")
_WORD_KEY = re.compile(r"[^\W_]+(?:[ '-][^\W_]+)*")
_FLOW_KEYS = {"numbers", "start", "language", "voice", "prompts", "nodes"}
_PROMPT_KEYS = {"say", "play", "voice", "language"}
_GATHER_KEYS = {"prompts", "input", "timeout_seconds", "retries", "invalid_prompt", "fallback", "language"}
_NODE_KEYS: dict[str, set[str]] = {
    "say": {"prompts", "next"},
    "menu": {*_GATHER_KEYS, "options"},
    "collect": {
        *_GATHER_KEYS, "attribute", "min_length", "max_length", "pattern", "finish_on_key", "next",
    },
    "lookup": {"by_caller", "account_attribute", "found", "not_found"},
    "hours": {"queue", "open", "closed"},
    "queue": {"queue", "skills", "priority", "language", "prompts"},
    "voicemail": {"prompts", "max_seconds", "transcribe"},
    "transfer": {"prompts", "number"},
    "hangup": {"prompts"},
}  # fmt: skip


def load_flow(name: str, source: str, data: Any, problem: Problem, *, voicemail_max_seconds: int = 120) -> Flow:
    """The flow ``data`` (one file's TOML) describes, named ``name`` (the file's stem);
    ``voicemail_max_seconds`` is the [voice] default for voicemail nodes that give none."""
    where = f"flows.{name}"
    if not isinstance(data, dict):
        problem(where, "must be a table")
        data = {}
    for key in sorted(set(data) - _FLOW_KEYS):
        problem(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(_FLOW_KEYS))})")
    top = _Fields(problem, where, data)
    voice, language = top.text("voice"), top.text("language")
    prompts = _prompts(problem, where, data.get("prompts", {}), voice=voice, language=language)
    nodes: dict[str, Node] = {}
    table = data.get("nodes", {})
    if not isinstance(table, dict) or not table:
        problem(f"{where}.nodes", "must be a table of nodes ([nodes.NAME] with a type)")
        table = {}
    for node_id, spec in table.items():
        nodes[node_id] = _node(problem, f"{where}.nodes.{node_id}", node_id, spec, voicemail_max_seconds)
    return Flow(
        name=name,
        source=source,
        numbers=top.names("numbers"),
        start=top.text("start"),
        nodes=nodes,
        prompts=prompts,
        language=language,
    )


def _prompts(problem: Problem, where: str, table: Any, *, voice: str, language: str) -> dict[str, Prompt]:
    if not isinstance(table, dict):
        problem(f"{where}.prompts", "must be a table of prompts (name = {say = ...} or {play = URL})")
        return {}
    prompts = {}
    for name, spec in table.items():
        key = f"{where}.prompts.{name}"
        # A bare string is the common case, text to say in the flow's voice.
        fields = _Fields(problem, key, {"say": spec} if isinstance(spec, str) else spec, _PROMPT_KEYS)
        say, play = fields.text("say"), fields.text("play")
        if bool(say) == bool(play):
            problem(key, "must have exactly one of say (text) and play (a recording's URL)")
        elif play and not play.startswith(("http://", "https://")):
            problem(f"{key}.play", "must be an http:// or https:// URL")
        prompts[name] = Prompt(say, play, fields.text("voice", voice), fields.text("language", language))
    return prompts


def _node(problem: Problem, where: str, node_id: str, spec: Any, voicemail_max_seconds: int) -> Node:
    if not NAME.fullmatch(node_id):
        problem(where, "a node's name is letters, digits, - and _")
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind not in _NODE_KEYS:
        problem(f"{where}.type", f"must be one of {', '.join(_NODE_KEYS)}, not {kind!r}")
        # Kept as a node so that what leads to it is not reported as well.
        return HangupNode(node_id)
    assert isinstance(spec, dict)
    f = _Fields(problem, where, {key: value for key, value in spec.items() if key != "type"}, _NODE_KEYS[kind])
    if kind == "say":
        return SayNode(node_id, f.names("prompts"), f.text("next"))
    if kind == "menu":
        input_ = f.choice("input", INPUTS, "dtmf")
        return MenuNode(
            node_id,
            f.names("prompts"),
            _options(f, input_),
            input=input_,
            timeout_seconds=f.whole("timeout_seconds", 5, minimum=1),
            retries=f.whole("retries", 2),
            invalid_prompt=f.text("invalid_prompt") or None,
            fallback=f.text("fallback"),
            language=f.text("language"),
        )
    if kind == "collect":
        return _collect(f, node_id)
    if kind == "lookup":
        account = f.text("account_attribute") or None
        return LookupNode(node_id, f.flag("by_caller", True), account, f.text("found"), f.text("not_found"))
    if kind == "hours":
        return HoursNode(node_id, f.text("queue"), f.text("open"), f.text("closed"))
    if kind == "queue":
        return QueueNode(
            node_id,
            f.text("queue"),
            f.levels("skills"),
            f.whole("priority", 0, minimum=-1000),
            f.text("language"),
            f.names("prompts"),
        )
    if kind == "voicemail":
        max_seconds = f.whole("max_seconds", voicemail_max_seconds, minimum=1)
        return VoicemailNode(node_id, f.names("prompts"), max_seconds, f.flag("transcribe", False))
    if kind == "transfer":
        return TransferNode(node_id, f.names("prompts"), f.text("number"))
    return HangupNode(node_id, f.names("prompts"))


def _options(f: _Fields, input_: str) -> dict[str, str]:
    table = f.spec.get("options")
    if not isinstance(table, dict) or not table:
        f.problem(f"{f.where}.options", 'must be a table of key or word = node ({"1" = "sales", sales = "sales"})')
        return {}
    options = {}
    for key, target in table.items():
        at = f"{f.where}.options.{key}"
        if not isinstance(target, str):
            f.problem(at, "must name the node the option leads to")
        elif DTMF_KEY.fullmatch(key):
            if "dtmf" not in input_:
                f.problem(at, f'a key to press, but the menu listens for {input_} only (input = "dtmf speech")')
            options[key] = target
        elif _WORD_KEY.fullmatch(key) and key == key.lower():
            if "speech" not in input_:
                f.problem(at, f'a word to say, but the menu listens for {input_} only (input = "dtmf speech")')
            options[key] = target
        else:
            f.problem(at, "an option is keys to press (0-9, *, #) or a lower-case word or phrase")
    return options


def _collect(f: _Fields, node_id: str) -> CollectNode:
    min_length = f.whole("min_length", 1, minimum=1)
    max_length = f.whole("max_length", max(min_length, 32), minimum=1)
    if max_length < min_length:
        f.problem(f"{f.where}.max_length", f"must be at least min_length ({min_length})")
    pattern = f.text("pattern") or None
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            f.problem(f"{f.where}.pattern", f"not a regular expression: {exc}")
            pattern = None
    finish_on_key = f.text("finish_on_key", "#")
    if finish_on_key and not re.fullmatch(r"[0-9*#]", finish_on_key):
        f.problem(f"{f.where}.finish_on_key", 'must be one key (0-9, * or #), or "" for none')
    attribute = f.text("attribute")
    if not NAME.fullmatch(attribute):
        f.problem(f"{f.where}.attribute", "required: the name the value is kept under (letters, digits, - and _)")
    return CollectNode(
        node_id,
        f.names("prompts"),
        attribute,
        f.choice("input", INPUTS, "dtmf"),
        min_length,
        max_length,
        pattern,
        finish_on_key,
        f.whole("timeout_seconds", 5, minimum=1),
        f.whole("retries", 2),
        f.text("invalid_prompt") or None,
        f.text("next"),
        f.text("fallback"),
        f.text("language"),
    )


class _Fields:
    """One table's values by type, each problem reported under the table's key and a
    harmless default returned in its place."""

    def __init__(self, problem: Problem, where: str, spec: Any, known: set[str] | None = None) -> None:
        self.problem = problem
        self.where = where
        if not isinstance(spec, dict):
            problem(where, "must be a table")
            spec = {}
        self.spec: dict[str, Any] = spec
        if known is not None:
            for key in sorted(set(spec) - known):
                problem(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(known))})")

    def text(self, key: str, default: str = "") -> str:
        value = self.spec.get(key, default)
        if isinstance(value, str):
            return value
        self.problem(f"{self.where}.{key}", f"must be a string, not {value!r}")
        return default

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.text(key, default)
        if value in allowed:
            return value
        self.problem(f"{self.where}.{key}", f"must be one of {', '.join(map(repr, allowed))}, not {value!r}")
        return default

    def whole(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self.spec.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return value
        self.problem(f"{self.where}.{key}", f"must be a whole number of at least {minimum}, not {value!r}")
        return default

    def flag(self, key: str, default: bool) -> bool:
        value = self.spec.get(key, default)
        if isinstance(value, bool):
            return value
        self.problem(f"{self.where}.{key}", f"must be true or false, not {value!r}")
        return default

    def names(self, key: str) -> tuple[str, ...]:
        value = self.spec.get(key, [])
        if isinstance(value, str):
            return (value,)  # one prompt needs no list
        if isinstance(value, list) and all(isinstance(item, str) and item for item in value):
            return tuple(value)
        self.problem(f"{self.where}.{key}", f"must be a list of names, not {value!r}")
        return ()

    def levels(self, key: str) -> dict[str, int]:
        value = self.spec.get(key, {})
        if not isinstance(value, dict):
            self.problem(f"{self.where}.{key}", "must be a table of skill = level (1-10)")
            return {}
        levels = {}
        for skill, level in value.items():
            if isinstance(level, int) and not isinstance(level, bool) and 1 <= level <= 10:
                levels[skill] = level
            else:
                reason = f"a skill level is a whole number from 1 to 10, not {level!r}"
                self.problem(f"{self.where}.{key}.{skill}", reason)
        return levels
