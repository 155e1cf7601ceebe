"""Layered configuration: built-in defaults, then one TOML file, then ``IC_*`` environment
variables (and Twilio's own ``TWILIO_ACCOUNT_SID`` / ``TWILIO_AUTH_TOKEN``). Everything is
checked in one pass so that ``config check`` can list every problem with file, key and
reason, and ``serve`` refuses to start on any of them."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from interaction_center.errors import ConfigError
from interaction_center.model import Channel, Role
from interaction_center.settings import (
    AgentSeed,
    AuthSettings,
    ChannelsSettings,
    DatabaseSettings,
    HttpSettings,
    QueueSettings,
    RedisSettings,
    RoutingSettings,
    Settings,
    SlaTarget,
    SmtpSettings,
    TwilioSettings,
)

DEFAULT_CONFIG = Path("config/interaction-center.toml")

_FLAT_SECTIONS: dict[str, type[Any]] = {
    "http": HttpSettings,
    "smtp": SmtpSettings,
    "database": DatabaseSettings,
    "redis": RedisSettings,
    "twilio": TwilioSettings,
    "auth": AuthSettings,
    "routing": RoutingSettings,
}
_TOP_LEVEL = {*_FLAT_SECTIONS, "channels", "skills", "queues", "agents"}
# Twilio's documented variable names, honoured so existing deployments need no renaming.
_TWILIO_ALIASES = {"account_sid": "TWILIO_ACCOUNT_SID", "auth_token": "TWILIO_AUTH_TOKEN"}
_INT = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_DATABASE_SCHEMES = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


@dataclasses.dataclass(frozen=True)
class ConfigIssue:
    source: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.reason}"


class ConfigInvalid(ConfigError):
    def __init__(self, issues: list[ConfigIssue]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  {issue}" for issue in issues))
        self.issues = issues


def config_path(explicit: str | None, environ: Mapping[str, str]) -> Path | None:
    """The file to read: ``--config``, else ``IC_CONFIG``, else the default if it exists."""
    chosen = explicit or environ.get("IC_CONFIG")
    if chosen:
        return Path(chosen)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def load_settings(path: Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    return _Loader(path, os.environ if environ is None else environ).load()


class _Loader:
    def __init__(self, path: Path | None, environ: Mapping[str, str]) -> None:
        self.path = path
        self.environ = environ
        self.file = str(path) if path else "<defaults>"
        self.issues: list[ConfigIssue] = []
        # "section.key" -> the environment variable that set it, so a cross-field error
        # blames the variable and not the file.
        self.from_env: dict[str, str] = {}

    def problem(self, key: str, reason: str, source: str | None = None) -> None:
        env = self.from_env.get(key)
        self.issues.append(ConfigIssue(source or (f"environment {env}" if env else self.file), key, reason))

    def load(self) -> Settings:
        data = self._read()
        for key in data:
            if key not in _TOP_LEVEL:
                self.problem(key, "unknown key")
        sections = {name: self._flat(name, cls, data.get(name, {})) for name, cls in _FLAT_SECTIONS.items()}
        skills = tuple(self._strings("skills", data.get("skills", [])))
        queues = self._queues(data.get("queues", {}), set(skills))
        settings = Settings(
            **sections,
            channels=self._channels(data.get("channels", {}), queues),
            skills=skills,
            queues=queues,
            agents=self._agents(data.get("agents", []), queues, set(skills)),
        )
        settings = self._checked(settings)
        if self.issues:
            raise ConfigInvalid(self.issues)
        return settings

    def _read(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            with self.path.open("rb") as handle:
                return tomllib.load(handle)
        except FileNotFoundError:
            self.problem("-", "file not found")
        except tomllib.TOMLDecodeError as exc:
            self.problem("-", f"not valid TOML: {exc}")
        except UnicodeDecodeError:
            self.problem("-", "not valid TOML: the file is not UTF-8 text")
        except RecursionError:
            self.problem("-", "not valid TOML: nested too deeply")
        except OSError as exc:
            self.problem("-", f"cannot be read: {exc.strerror}")
        return {}

    def _flat(self, section: str, cls: type[Any], table: Any) -> Any:
        if not isinstance(table, dict):
            self.problem(section, "must be a table")
            table = {}
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key not in known:
                self.problem(f"{section}.{key}", "unknown key")
                continue
            cast = self._cast(hints[key], value, from_env=False)
            if isinstance(cast, _Bad):
                self.problem(f"{section}.{key}", cast.reason)
            else:
                values[key] = cast
        for key in known:
            names = [f"IC_{section}_{key}".upper()]
            if section == "twilio" and key in _TWILIO_ALIASES:
                names.append(_TWILIO_ALIASES[key])
            for name in names:
                if name in self.environ:
                    cast = self._cast(hints[key], self.environ[name], from_env=True)
                    if isinstance(cast, _Bad):
                        self.problem(f"{section}.{key}", cast.reason, source=f"environment {name}")
                    else:
                        values[key] = cast
                        self.from_env[f"{section}.{key}"] = name
                    break
        return cls(**values)

    @staticmethod
    def _cast(kind: Any, value: Any, *, from_env: bool) -> Any:
        """Strict: a TOML value must already have the type; an environment string must
        parse as it completely ("10s" is not an int, "yes" is not a bool)."""
        name = getattr(kind, "__name__", str(kind))
        if kind is str:
            return value if isinstance(value, str) else _Bad(f"must be a string, not {value!r}")
        if kind is int:
            if from_env:
                if not _INT.fullmatch(value):
                    return _Bad(f"must be a whole number, not {value!r}")
                return int(value)
            ok = isinstance(value, int) and not isinstance(value, bool)
            return value if ok else _Bad(f"must be a whole number, not {value!r}")
        if kind is float:
            if from_env:
                if not _NUMBER.fullmatch(value):
                    return _Bad(f"must be a number, not {value!r}")
                return float(value)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return float(value) if ok else _Bad(f"must be a number, not {value!r}")
        raise TypeError(f"no cast for {name}")  # a settings field of a type this loader lacks

    def _strings(self, key: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.problem(key, "must be a list of non-empty strings")
            return []
        return list(value)

    def _channel_list(self, key: str, value: Any) -> list[Channel]:
        channels = []
        for name in self._strings(key, value):
            if name in Channel.__members__.values():
                channels.append(Channel(name))
            else:
                self.problem(key, f"unknown channel {name!r} (known: {', '.join(Channel)})")
        return channels

    def _queues(self, table: Any, skills: set[str]) -> dict[str, QueueSettings]:
        if not isinstance(table, dict):
            self.problem("queues", "must be a table of queues")
            return {}
        queues = {}
        for name, spec in table.items():
            key = f"queues.{name}"
            if not isinstance(spec, dict):
                self.problem(key, "must be a table")
                continue
            for extra in set(spec) - {"channels", "skills", "sla"}:
                self.problem(f"{key}.{extra}", "unknown key")
            channels = self._channel_list(f"{key}.channels", spec.get("channels", []))
            if not channels:
                self.problem(f"{key}.channels", "a queue must accept at least one channel")
            queue_skills = self._strings(f"{key}.skills", spec.get("skills", []))
            for skill in set(queue_skills) - skills:
                self.problem(f"{key}.skills", f"skill {skill!r} is not declared in the top-level skills list")
            queues[name] = QueueSettings(name, tuple(channels), tuple(queue_skills), self._sla(key, spec, channels))
        return queues

    def _sla(self, key: str, spec: dict[str, Any], channels: list[Channel]) -> dict[Channel, SlaTarget]:
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
            if not _positive_int(answer):
                self.problem(f"{where}.answer_seconds", "must be a whole number of seconds above 0")
                continue
            if first is not None and not _positive_int(first):
                self.problem(f"{where}.first_response_seconds", "must be a whole number of seconds above 0")
                continue
            targets[Channel(channel_name)] = SlaTarget(answer, first)
        return targets

    def _channels(self, table: Any, queues: dict[str, QueueSettings]) -> ChannelsSettings:
        if not isinstance(table, dict):
            self.problem("channels", "must be a table")
            return ChannelsSettings()
        values = {}
        for name, spec in table.items():
            if name != Channel.SMS:
                self.problem(f"channels.{name}", "unknown channel section")
                continue
            if not isinstance(spec, dict) or set(spec) - {"queue"} or not isinstance(spec.get("queue", ""), str):
                self.problem(f"channels.{name}", "must be a table with a queue name")
                continue
            if "queue" in spec:
                values[f"{name}_queue"] = spec["queue"]
        result = ChannelsSettings(**values)
        queue = queues.get(result.sms_queue)
        if queue is None:
            self.problem("channels.sms.queue", f"no queue named {result.sms_queue!r}")
        elif Channel.SMS not in queue.channels:
            self.problem("channels.sms.queue", f"queue {result.sms_queue!r} does not accept sms")
        return result

    def _agents(self, items: Any, queues: dict[str, QueueSettings], skills: set[str]) -> tuple[AgentSeed, ...]:
        if not isinstance(items, list):
            self.problem("agents", "must be an array of tables ([[agents]])")
            return ()
        seeds: list[AgentSeed] = []
        for index, spec in enumerate(items):
            key = f"agents[{index}]"
            if not isinstance(spec, dict):
                self.problem(key, "must be a table")
                continue
            for extra in set(spec) - {"username", "display_name", "role", "queues", "skills", "password"}:
                self.problem(f"{key}.{extra}", "unknown key")
            username = spec.get("username")
            if not isinstance(username, str) or not username.strip():
                self.problem(f"{key}.username", "required, a non-empty string")
                continue
            if any(seed.username == username for seed in seeds):
                self.problem(f"{key}.username", f"{username!r} is declared twice")
            role = spec.get("role", Role.AGENT)
            if role not in Role.__members__.values():
                self.problem(f"{key}.role", f"unknown role {role!r} (known: {', '.join(Role)})")
                continue
            agent_queues = self._strings(f"{key}.queues", spec.get("queues", []))
            for queue in set(agent_queues) - set(queues):
                self.problem(f"{key}.queues", f"no queue named {queue!r}")
            agent_skills = self._strings(f"{key}.skills", spec.get("skills", []))
            for skill in set(agent_skills) - skills:
                self.problem(f"{key}.skills", f"skill {skill!r} is not declared in the top-level skills list")
            display_name = spec.get("display_name", username)
            password = spec.get("password", "")
            if not isinstance(display_name, str) or not isinstance(password, str):
                self.problem(key, "display_name and password must be strings")
                continue
            seeds.append(
                AgentSeed(username, display_name, Role(role), tuple(agent_queues), tuple(agent_skills), password)
            )
        return tuple(seeds)

    def _checked(self, settings: Settings) -> Settings:
        """Cross-field rules, and the one normalization: database URLs name their driver."""
        for section in ("http", "smtp"):
            port = getattr(settings, section).port
            if not 0 <= port <= 65535:
                self.problem(f"{section}.port", f"{port} is not a port number (0-65535)")
        base = settings.http.public_base_url
        if base and not base.startswith(("http://", "https://")):
            self.problem("http.public_base_url", "must start with http:// or https://")
        scheme, sep, rest = settings.database.url.partition("://")
        if not sep or scheme not in _DATABASE_SCHEMES:
            self.problem("database.url", "must be a sqlite:// or postgresql:// URL")
        else:
            database = DatabaseSettings(url=f"{_DATABASE_SCHEMES[scheme]}://{rest}")
            settings = dataclasses.replace(settings, database=database)
        redis_url = settings.redis.url
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            self.problem("redis.url", "must be a redis://, rediss:// or unix:// URL")
        if not settings.twilio.auth_token:
            self.problem(
                "twilio.auth_token", "required: inbound webhooks are verified with it (or set TWILIO_AUTH_TOKEN)"
            )
        if not settings.twilio.api_base_url.startswith(("http://", "https://")):
            self.problem("twilio.api_base_url", "must start with http:// or https://")
        if settings.auth.token_ttl_seconds <= 0:
            self.problem("auth.token_ttl_seconds", "must be above 0")
        for key in ("offer_timeout_seconds", "tick_seconds"):
            value = getattr(settings.routing, key)
            if not 0 < value < math.inf:  # also false for NaN
                self.problem(f"routing.{key}", f"must be a finite number above 0, not {value}")
        if not settings.queues:
            self.problem("queues", "at least one queue is required")
        return settings


@dataclasses.dataclass(frozen=True)
class _Bad:
    reason: str


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
