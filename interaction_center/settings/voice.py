"""Parsing the voice parts of the configuration: the ``[voice]`` section's flows directory
(one flow per TOML file, checked against the queues and skills declared) and its values,
and each queue's ``[queues.NAME.hours]`` and ``[queues.NAME.voice]``. Problems go to the
loader's ``problem``; those of a flow file name that file."""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from channels.voice.settings import WAIT_BRANCHES, QueueVoiceSettings, VoiceSettings
from interaction_center.domain.model import Channel
from interaction_center.settings.model import QueueSettings
from ivr.check import Known, check_flows
from ivr.flow import Flow, Flows
from ivr.hours import BusinessHours, parse_hours
from ivr.load import NAME, load_flow

DEFAULT_FLOWS = "flows"
# The least each [queues.NAME.voice] number may be.
_QUEUE_MINIMUMS = {
    "announce_every_seconds": 1,
    "position_limit": 1,
    "estimate_samples": 1,
    "estimate_window": 1,
    "max_wait_seconds": 0,
    "callback_above_seconds": 0,
}
_DTMF = set("0123456789*#")


Problem = Callable[[str, str], None]


class SourcedProblem(Protocol):
    """The loader's ``problem``: ``source`` names a file other than the configuration's."""

    def __call__(self, key: str, reason: str, source: str | None = None) -> None: ...


def queue_hours(problem: Problem, key: str, spec: Mapping[str, Any]) -> BusinessHours | None:
    """The queue's [queues.NAME.hours]; None (always open) without one or when it is wrong."""
    if "hours" not in spec:
        return None
    return parse_hours(spec["hours"], lambda sub, reason: problem(f"{key}.hours.{sub}".rstrip("."), reason))


def queue_voice(problem: Problem, key: str, table: Any) -> QueueVoiceSettings:
    """The queue's [queues.NAME.voice], each key typed as QueueVoiceSettings declares it."""
    where = f"{key}.voice"
    if not isinstance(table, dict):
        problem(where, "must be a table")
        return QueueVoiceSettings()
    hints = typing.get_type_hints(QueueVoiceSettings)
    values: dict[str, Any] = {}
    for name, value in table.items():
        kind = hints.get(name)
        if kind is None:
            problem(f"{where}.{name}", f"unknown key (known: {', '.join(sorted(hints))})")
        elif not _is(kind, value):
            problem(f"{where}.{name}", f"must be {_KINDS[kind]}, not {value!r}")
        elif name in _QUEUE_MINIMUMS and value < _QUEUE_MINIMUMS[name]:
            problem(f"{where}.{name}", f"must be at least {_QUEUE_MINIMUMS[name]}, not {value}")
        else:
            values[name] = value
    voice = QueueVoiceSettings(**values)
    if voice.estimate_window < voice.estimate_samples:
        problem(f"{where}.estimate_window", f"must be at least estimate_samples ({voice.estimate_samples})")
    if len(voice.callback_key) != 1 or voice.callback_key not in _DTMF:
        problem(f"{where}.callback_key", f"must be one key: 0-9, * or #, not {voice.callback_key!r}")
    if voice.max_wait_branch not in WAIT_BRANCHES and voice.max_wait_queue is None:
        problem(
            f"{where}.max_wait_branch", f'must be voicemail, callback or "queue:NAME", not {voice.max_wait_branch!r}'
        )
    if voice.hold_music and not _is_url(voice.hold_music):
        problem(f"{where}.hold_music", 'must be an http:// or https:// URL, or "" for [voice] hold_music')
    return voice


def check_wait_branches(problem: Problem, queues: Mapping[str, QueueSettings]) -> None:
    """A max_wait_branch "queue:NAME" must name another queue that takes calls."""
    for name, queue in queues.items():
        target = queue.voice.max_wait_queue
        key = f"queues.{name}.voice.max_wait_branch"
        if target is None:
            continue
        if target not in queues:
            problem(key, f"no queue named {target!r}")
        elif target == name:
            problem(key, "names its own queue")
        elif Channel.VOICE not in queues[target].channels:
            problem(key, f"queue {target!r} does not accept voice")


class VoiceParser:
    def __init__(self, problem: SourcedProblem, config: Path | None) -> None:
        self.problem = problem
        # Relative flows directories are beside the configuration file.
        self.config = config

    def voice(
        self, section: VoiceSettings, table: Any, queues: Mapping[str, QueueSettings], skills: tuple[str, ...]
    ) -> VoiceSettings:
        """``section`` (the [voice] values the loader read) with its checks, and the flows."""
        table = table if isinstance(table, dict) else {}
        if section.ring_timeout_seconds < 1:
            self.problem("voice.ring_timeout_seconds", "must be at least 1")
        if section.callback_attempts < 0:
            self.problem("voice.callback_attempts", "must be 0 or more")
        if section.callback_retry_seconds < 1:
            self.problem("voice.callback_retry_seconds", "must be at least 1")
        if section.voicemail_max_seconds < 1:
            self.problem("voice.voicemail_max_seconds", "must be at least 1")
        if not _is_url(section.hold_music):
            self.problem("voice.hold_music", "must be an http:// or https:// URL")
        flows = self._flows(table.get("flows", DEFAULT_FLOWS), "flows" in table, section, queues, skills)
        if section.default_flow and section.default_flow not in flows:
            self.problem(
                "voice.default_flow",
                f"no flow named {section.default_flow!r} (a file {section.default_flow}.toml in the flows directory)",
            )
        return dataclasses.replace(section, flows=Flows(flows, section.default_flow or None))

    def _flows(
        self,
        where: Any,
        explicit: bool,
        section: VoiceSettings,
        queues: Mapping[str, QueueSettings],
        skills: tuple[str, ...],
    ) -> dict[str, Flow]:
        if not isinstance(where, str) or not where:
            self.problem("voice.flows", f"must be a directory's path, not {where!r}")
            return {}
        if self.config is None:
            return {}  # built-in defaults only: no file, no flows beside it
        directory = self.config.parent / where
        if not directory.is_dir():
            if explicit:
                self.problem("voice.flows", f"{directory}: no such directory")
            return {}
        flows: dict[str, Flow] = {}
        incomplete = set()
        for path in sorted(directory.glob("*.toml")):
            source = str(path)
            problems = 0

            def report(key: str, reason: str, source: str = source) -> None:
                nonlocal problems
                problems += 1
                self.problem(key, reason, source)

            data = self._read(path, report)
            if data is None:
                continue
            if not NAME.fullmatch(path.stem):
                report("-", "a flow's file name is letters, digits, - and _, then .toml")
                continue
            flows[path.stem] = load_flow(
                path.stem, source, data, report, voicemail_max_seconds=section.voicemail_max_seconds
            )
            if problems:
                incomplete.add(path.stem)
        known = Known(
            queues=frozenset(queues),
            voice_queues=frozenset(name for name, queue in queues.items() if Channel.VOICE in queue.channels),
            skills=frozenset(skills),
        )
        check_flows(
            flows.values(),
            known,
            lambda flow, key, reason: self.problem(key, reason, flow.source),
            incomplete=incomplete,
        )
        return flows

    @staticmethod
    def _read(path: Path, report: Problem) -> dict[str, Any] | None:
        try:
            with path.open("rb") as handle:
                return tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            report("-", f"not valid TOML: {exc}")
        except UnicodeDecodeError:
            report("-", "not valid TOML: the file is not UTF-8 text")
        except RecursionError:
            report("-", "not valid TOML: nested too deeply")
        except OSError as exc:
            report("-", f"cannot be read: {exc.strerror}")
        return None


_KINDS: dict[Any, str] = {int: "a whole number", str: "a string", bool: "true or false"}


def _is(kind: Any, value: Any) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://")) and len(value) > len("https://")
