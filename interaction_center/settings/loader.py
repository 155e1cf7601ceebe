"""Layered configuration: built-in defaults, then one TOML file, then ``IC_*`` environment
variables (and Twilio's own ``TWILIO_ACCOUNT_SID`` / ``TWILIO_AUTH_TOKEN``). Everything is
checked in one pass so that ``config check`` can list every problem with file, key and
reason, and ``serve`` refuses to start on any of them."""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import math
import os
import re
import ssl
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from channels.email.settings import RELAY_TLS_MODES, SmtpSettings
from channels.sandbox.settings import DemoSettings
from channels.twilio.settings import TwilioSettings
from channels.voice.settings import VoiceSettings
from interaction_center.domain.errors import ConfigError
from interaction_center.domain.model import Channel
from interaction_center.settings.canned import canned
from interaction_center.settings.cast import SCALARS, Bad, cast
from interaction_center.settings.dispositions import check_queues, dispositions
from interaction_center.settings.model import (
    AuthSettings,
    ChannelsSettings,
    DatabaseSettings,
    HttpSettings,
    QueueSettings,
    RedisSettings,
    RoutingSettings,
    Settings,
)
from interaction_center.settings.roster import RosterParser
from interaction_center.settings.voice import VoiceParser
from interaction_center.settings.webhooks import webhooks

DEFAULT_CONFIG = Path("config/interaction-center.toml")

_FLAT_SECTIONS: dict[str, type[Any]] = {
    "http": HttpSettings,
    "smtp": SmtpSettings,
    "database": DatabaseSettings,
    "redis": RedisSettings,
    "twilio": TwilioSettings,
    "auth": AuthSettings,
    "routing": RoutingSettings,
    "voice": VoiceSettings,
    "demo": DemoSettings,
}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_TOP_LEVEL = {*_FLAT_SECTIONS, "channels", "skills", "queues", "agents", "dispositions", "canned", "webhooks"}
# Twilio's documented variable names, honoured so existing deployments need no renaming.
_TWILIO_ALIASES = {"account_sid": "TWILIO_ACCOUNT_SID", "auth_token": "TWILIO_AUTH_TOKEN"}
# IC_ variables that are read but set no configuration key. Every other IC_ variable must
# name a key: a misspelt one would otherwise leave its setting at the file's value unnoticed.
# (IC_DATABASE_URL and IC_REDIS_URL, which the tests read too, are settings.)
NOT_SETTINGS: dict[str, str] = {
    "IC_CONFIG": "the configuration file, when --config is not given",
    "IC_REQUIRE_SERVICES": "tests (tests/services.py): 1 fails a test that cannot get its server or browser",
    "IC_SCREENSHOTS": "tests (tests/web/test_whole_day.py): a folder for README's screenshots of the pages",
}
# The keys each [channels.NAME] section takes.
_CHANNEL_KEYS: dict[str, frozenset[str]] = {
    Channel.SMS: frozenset({"queue"}),
    Channel.EMAIL: frozenset({"queue"}),
    Channel.CHAT: frozenset({"queue", "abandon_after_seconds", "allowed_origins"}),
}
_ORIGIN = re.compile(r"https?://(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")
_DOMAIN = r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
# What we accept mail for: a domain, or one address (its +tags included).
_MAIL_DOMAIN = re.compile(_DOMAIN)
_MAIL_ADDRESS = re.compile(r'[^@\s"<>(),;:\[\]\\]+@' + _DOMAIN)
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# A prefix is the start of every key: printable, no spaces, so it reads in redis-cli.
_REDIS_PREFIX = re.compile(r"[!-~]{1,64}")
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


def setting_variables() -> list[str]:
    """Every ``IC_`` variable that sets a configuration key, section by section."""
    return [_variable(section, key) for section, cls in _FLAT_SECTIONS.items() for key in _scalar_keys(cls)]


def _variable(section: str, key: str) -> str:
    return f"IC_{section}_{key}".upper()


def _scalar_keys(cls: type[Any]) -> list[str]:
    """The keys of a section the file and the environment set directly (tables inside it,
    like routing.offer_timeouts, are parsed on their own)."""
    hints = typing.get_type_hints(cls)
    return [f.name for f in dataclasses.fields(cls) if hints[f.name] in SCALARS]


def _unknown_variable(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if not close:
        return f"unknown variable; the known ones: {', '.join(known)}"
    sections = ", ".join(f"[{section}]" for section in _FLAT_SECTIONS)
    return (
        f"unknown variable; did you mean {close[0]}? (the known ones: IC_<SECTION>_<KEY> for the keys of"
        f" {sections} in README.md's Configuration, and {', '.join(NOT_SETTINGS)})"
    )


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
        self._check_variables()
        sections = {name: self._flat(name, cls, data.get(name, {})) for name, cls in _FLAT_SECTIONS.items()}
        roster = RosterParser(self.problem, set())
        skills = tuple(roster.strings("skills", data.get("skills", [])))
        roster.skills = set(skills)
        queues = roster.queues(data.get("queues", {}))
        routing_table = data.get("routing", {})
        timeouts = routing_table.get("offer_timeouts", {}) if isinstance(routing_table, dict) else {}
        routing = dataclasses.replace(
            sections.pop("routing"), offer_timeouts=roster.per_channel("routing.offer_timeouts", timeouts, above=True)
        )
        voice = VoiceParser(self.problem, self.path).voice(sections.pop("voice"), data.get("voice"), queues, skills)
        codes = dispositions(self.problem, data.get("dispositions"))
        check_queues(self.problem, queues, codes)
        settings = Settings(
            **sections,
            routing=routing,
            voice=voice,
            channels=self._channels(data.get("channels", {}), queues, email_on=bool(sections["smtp"].domains)),
            skills=skills,
            queues=queues,
            agents=roster.agents(data.get("agents", []), queues),
            dispositions=codes,
            canned=canned(self.problem, data.get("canned", []), queues),
            webhooks=webhooks(self.problem, data.get("webhooks", [])),
        )
        settings = self._checked(settings)
        if self.issues:
            raise ConfigInvalid(self.issues)
        return settings

    def _check_variables(self) -> None:
        known = [*setting_variables(), *NOT_SETTINGS]
        for name in sorted(self.environ):
            if name.startswith("IC_") and name not in known:
                self.problem(name, _unknown_variable(name, known), source="environment")

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
        known = set(_scalar_keys(cls))
        nested = {f.name for f in dataclasses.fields(cls)} - known
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key in nested:
                continue
            if key not in known:
                self.problem(f"{section}.{key}", "unknown key")
                continue
            value_or_bad = cast(hints[key], value, from_env=False)
            if isinstance(value_or_bad, Bad):
                self.problem(f"{section}.{key}", value_or_bad.reason)
            else:
                values[key] = value_or_bad
        for key in known:
            names = [_variable(section, key)]
            if section == "twilio" and key in _TWILIO_ALIASES:
                names.append(_TWILIO_ALIASES[key])
            for name in names:
                if name in self.environ:
                    value_or_bad = cast(hints[key], self.environ[name], from_env=True)
                    if isinstance(value_or_bad, Bad):
                        self.problem(f"{section}.{key}", value_or_bad.reason, source=f"environment {name}")
                    else:
                        values[key] = value_or_bad
                        self.from_env[f"{section}.{key}"] = name
                    break
        return cls(**values)

    def _channels(self, table: Any, queues: dict[str, QueueSettings], *, email_on: bool) -> ChannelsSettings:
        if not isinstance(table, dict):
            self.problem("channels", "must be a table")
            return ChannelsSettings()
        values: dict[str, Any] = {}
        for name, spec in table.items():
            if name not in _CHANNEL_KEYS:
                self.problem(f"channels.{name}", "unknown channel section")
                continue
            if (
                not isinstance(spec, dict)
                or set(spec) - _CHANNEL_KEYS[name]
                or not isinstance(spec.get("queue", ""), str)
            ):
                self.problem(f"channels.{name}", "must be a table with a queue name")
                continue
            if "queue" in spec:
                values[f"{name}_queue"] = spec["queue"]
            if name == Channel.CHAT:
                values.setdefault("chat_queue", ChannelsSettings.sms_queue)
                grace = spec.get("abandon_after_seconds", ChannelsSettings.chat_abandon_after_seconds)
                ok = isinstance(grace, int | float) and not isinstance(grace, bool) and 0 <= grace < math.inf
                if not ok:
                    self.problem(
                        "channels.chat.abandon_after_seconds", f"must be a number of seconds, 0 or more, not {grace!r}"
                    )
                else:
                    values["chat_abandon_after_seconds"] = float(grace)
                origins = self._origins(spec.get("allowed_origins", []))
                if origins is not None:
                    values["chat_allowed_origins"] = origins
        result = ChannelsSettings(**values)
        checked = [(Channel.SMS, result.sms_queue)]
        # Email is optional: its queue is checked once mail is taken or the queue is named.
        if email_on or "email_queue" in values:
            checked.append((Channel.EMAIL, result.email_queue))
        # Web chat is on with its section.
        if result.chat_queue is not None:
            checked.append((Channel.CHAT, result.chat_queue))
        for channel, name in checked:
            queue = queues.get(name)
            if queue is None:
                self.problem(f"channels.{channel}.queue", f"no queue named {name!r}")
            elif channel not in queue.channels:
                self.problem(f"channels.{channel}.queue", f"queue {name!r} does not accept {channel}")
        return result

    def _origins(self, value: Any) -> tuple[str, ...] | None:
        """Web origins exactly as a browser sends them (scheme, host, port; no path), since
        they are compared as strings with the Origin header and written into a CSP."""
        key = "channels.chat.allowed_origins"
        if not isinstance(value, list):
            self.problem(key, f'must be a list of origins such as "https://shop.example", not {value!r}')
            return None
        bad = [origin for origin in value if not isinstance(origin, str) or not _ORIGIN.fullmatch(origin)]
        if bad:
            self.problem(key, f"not an origin (scheme://host[:port], lower case, no path): {bad[0]!r}")
            return None
        return tuple(value)

    def _checked(self, settings: Settings) -> Settings:
        """Cross-field rules, and the one normalization: database URLs name their driver."""
        for section in ("http", "smtp"):
            port = getattr(settings, section).port
            if not 0 <= port <= 65535:
                self.problem(f"{section}.port", f"{port} is not a port number (0-65535)")
        base = settings.http.public_base_url
        if base and not base.startswith(("http://", "https://")):
            self.problem("http.public_base_url", "must start with http:// or https://")
        for entry in settings.http.trusted_proxies:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                self.problem("http.trusted_proxies", f"{entry!r} is not an IP address or network (10.0.0.0/8)")
        scheme, sep, rest = settings.database.url.partition("://")
        if not sep or scheme not in _DATABASE_SCHEMES:
            self.problem("database.url", "must be a sqlite:// or postgresql:// URL")
        else:
            database = DatabaseSettings(url=f"{_DATABASE_SCHEMES[scheme]}://{rest}")
            settings = dataclasses.replace(settings, database=database)
        settings = self._checked_smtp(settings)
        if settings.redis.url and not settings.redis.url.startswith(_REDIS_SCHEMES):
            self.problem("redis.url", "must be empty (routing in this process) or a redis://, rediss:// or unix:// URL")
        if not _REDIS_PREFIX.fullmatch(settings.redis.prefix):
            self.problem("redis.prefix", "must be 1 to 64 printable characters, no spaces")
        if not 0.5 <= settings.redis.lease_seconds <= 600:
            self.problem("redis.lease_seconds", "must be between 0.5 and 600")
        if not settings.twilio.auth_token:
            self.problem(
                "twilio.auth_token", "required: inbound webhooks are verified with it (or set TWILIO_AUTH_TOKEN)"
            )
        if not settings.twilio.api_base_url.startswith(("http://", "https://")):
            self.problem("twilio.api_base_url", "must start with http:// or https://")
        try:
            ZoneInfo(settings.routing.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem("routing.time_zone", f"unknown time zone {settings.routing.time_zone!r} (an IANA name)")
        if settings.demo.sandbox:
            self._check_sandbox(settings)
        if settings.auth.token_ttl_seconds <= 0:
            self.problem("auth.token_ttl_seconds", "must be above 0")
        for key in (
            "offer_timeout_seconds",
            "tick_seconds",
            "transfer_window_seconds",
            "hold_return_seconds",
            "disconnect_grace_seconds",
        ):
            value = getattr(settings.routing, key)
            if not 0 < value < math.inf:  # also false for NaN
                self.problem(f"routing.{key}", f"must be a finite number above 0, not {value}")
        if not 0 <= settings.routing.short_abandon_seconds < math.inf:
            self.problem("routing.short_abandon_seconds", "must be a finite number of seconds, 0 or more")
        if not 0 <= settings.routing.returning_customer_hours < math.inf:
            self.problem("routing.returning_customer_hours", "must be a finite number of hours, 0 or more")
        if settings.routing.max_missed_offers < 1:
            self.problem("routing.max_missed_offers", "must be at least 1")
        if not settings.queues:
            self.problem("queues", "at least one queue is required")
        return settings

    def _check_sandbox(self, settings: Settings) -> None:
        """The demo sandbox swallows every reply: never where a real customer could be."""
        if settings.twilio.account_sid:
            self.problem("demo.sandbox", "refused with a Twilio account (twilio.account_sid): replies would vanish")
        relay = settings.smtp.relay_host
        if relay and relay not in _LOOPBACK:
            self.problem("demo.sandbox", f"refused with a mail relay on another machine ({relay}): mail would vanish")

    def _checked_smtp(self, settings: Settings) -> Settings:
        """Email rules; the accepted domains and addresses are lower-cased, as they are matched."""
        smtp = settings.smtp
        domains = tuple(entry.strip().lower() for entry in smtp.domains)
        for entry in domains:
            if not (_MAIL_DOMAIN.fullmatch(entry) or _MAIL_ADDRESS.fullmatch(entry)):
                self.problem("smtp.domains", f"{entry!r} is neither a domain nor an email address")
        if smtp.max_message_bytes <= 0:
            self.problem("smtp.max_message_bytes", "must be above 0")
        if not 0 < smtp.relay_port <= 65535:
            self.problem("smtp.relay_port", f"{smtp.relay_port} is not a port number (1-65535)")
        if smtp.from_address and not _MAIL_ADDRESS.fullmatch(smtp.from_address.lower()):
            self.problem("smtp.from_address", f"{smtp.from_address!r} is not an email address")
        if smtp.relay_host and not smtp.from_address:
            self.problem("smtp.from_address", "required with smtp.relay_host: our mail is sent from it")
        if smtp.acknowledge and not smtp.relay_host:
            self.problem("smtp.acknowledge", "needs smtp.relay_host to send acknowledgements through")
        self._check_relay_security(smtp)
        return dataclasses.replace(settings, smtp=dataclasses.replace(smtp, domains=domains))

    def _check_relay_security(self, smtp: SmtpSettings) -> None:
        if smtp.relay_tls not in RELAY_TLS_MODES:
            self.problem("smtp.relay_tls", f"must be one of {', '.join(RELAY_TLS_MODES)}, not {smtp.relay_tls!r}")
        if bool(smtp.relay_username) != bool(smtp.relay_password):
            missing = "smtp.relay_password" if smtp.relay_username else "smtp.relay_username"
            self.problem(missing, "smtp.relay_username and smtp.relay_password go together")
        # A password may cross the network only inside TLS; "auto" would send it in clear
        # text to a relay that does not offer STARTTLS.
        if smtp.relay_password and smtp.relay_tls in ("auto", "none") and not _is_loopback(smtp.relay_host):
            self.problem(
                "smtp.relay_tls", "must be starttls or tls with a relay password, unless the relay is on this machine"
            )
        if smtp.relay_ca_file:
            try:
                ssl.create_default_context(cafile=smtp.relay_ca_file)
            except FileNotFoundError:
                self.problem("smtp.relay_ca_file", f"{smtp.relay_ca_file}: file not found")
            except (ssl.SSLError, OSError) as exc:
                self.problem("smtp.relay_ca_file", f"{smtp.relay_ca_file}: not a PEM certificate bundle ({exc})")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
