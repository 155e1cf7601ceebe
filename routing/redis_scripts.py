"""The Redis backend's Lua scripts: one per decision or view (routing/lua/commands/), each
made of its own body and what it uses of the shared parts (routing/lua/*.lua) and of the
keys' functions (routing/redis_keys.py). Loaded once per server and called by EVALSHA.

Redis runs a script's whole text at every call, and each ``local function`` costs the
making of a closure there: a view that carried every helper would spend more on them than
on its work. So a script takes only the top-level definitions its body reaches, in the
order the shared files give them (each builds on the ones before it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from hashlib import sha1
from importlib.resources import files

from routing.redis_keys import lua_prelude

SHARED = ("codec", "agents", "waiting", "ready", "engine")

# A top-level definition starts at a line "local ..." (with the comments just above it).
_DEFINITION = re.compile(r"^(?:--[^\n]*\n)*local [^\n]*", re.MULTILINE)
_DEFINES = re.compile(r"^local (?:function (\w+)|([\w, ]+?)(?: =|$))", re.MULTILINE)
_NAME = re.compile(r"[A-Za-z_]\w*")
_COMMENT = re.compile(r"--[^\n]*")


@dataclass(frozen=True, slots=True)
class Script:
    source: str
    sha: str  # what EVALSHA names it by


def _names(text: str) -> set[str]:
    return set(_NAME.findall(_COMMENT.sub("", text)))


def _definitions(text: str) -> list[tuple[set[str], str]]:
    """The text's top-level definitions: the names each defines, and its text."""
    starts = [m.start() for m in _DEFINITION.finditer(text)]
    pieces = [text[start:end] for start, end in zip(starts, [*starts[1:], len(text)], strict=True)]
    found = []
    for piece in pieces:
        head = _DEFINES.search(piece)
        assert head is not None, piece
        names = {head.group(1)} if head.group(1) else {n.strip() for n in head.group(2).split(",")}
        found.append((names, piece))
    return found


@cache
def script(command: str) -> Script:
    lua = files("routing") / "lua"
    shared = _definitions(lua_prelude() + "".join((lua / f"{name}.lua").read_text() for name in SHARED))
    body = (lua / "commands" / f"{command}.lua").read_text()
    wanted = _names(body)
    # Back to front: a definition can only use those before it.
    taken = []
    for names, text in reversed(shared):
        if names & wanted:
            taken.append(text)
            wanted |= _names(text)
    source = "".join(reversed(taken)) + body
    return Script(source, sha1(source.encode()).hexdigest())
