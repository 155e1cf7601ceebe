"""The validated, frozen configuration the whole process runs on (see ``config_loader``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from interaction_center.model import Channel, Role


@dataclass(frozen=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    # The URL Twilio calls us on (behind a proxy, the proxy's); webhook signatures cover it.
    public_base_url: str = ""


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 8025


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///var/interaction-center.db"


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str = ""
    auth_token: str = field(default="", repr=False)
    phone_number: str = ""
    api_base_url: str = "https://api.twilio.com"
    # Region assumed for numbers written without a country code.
    default_region: str = "US"


@dataclass(frozen=True)
class AuthSettings:
    token_ttl_seconds: int = 12 * 3600


@dataclass(frozen=True)
class RoutingSettings:
    offer_timeout_seconds: float = 20.0
    tick_seconds: float = 0.25


@dataclass(frozen=True)
class ChannelsSettings:
    sms_queue: str = "support"


@dataclass(frozen=True)
class SlaTarget:
    answer_seconds: int
    first_response_seconds: int | None = None


@dataclass(frozen=True)
class QueueSettings:
    name: str
    channels: tuple[Channel, ...]
    skills: tuple[str, ...] = ()
    sla: dict[Channel, SlaTarget] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentSeed:
    """An agent the configuration declares (the demo roster); created on start if missing."""

    username: str
    display_name: str
    role: Role
    queues: tuple[str, ...]
    skills: tuple[str, ...] = ()
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class Settings:
    http: HttpSettings = HttpSettings()
    smtp: SmtpSettings = SmtpSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    twilio: TwilioSettings = TwilioSettings()
    auth: AuthSettings = AuthSettings()
    routing: RoutingSettings = RoutingSettings()
    channels: ChannelsSettings = ChannelsSettings()
    skills: tuple[str, ...] = ()
    queues: dict[str, QueueSettings] = field(default_factory=dict)
    agents: tuple[AgentSeed, ...] = ()

    @property
    def public_base_url(self) -> str:
        return (self.http.public_base_url or f"http://{self.http.host}:{self.http.port}").rstrip("/")
