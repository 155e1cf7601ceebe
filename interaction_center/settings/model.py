"""The validated, frozen configuration the whole process runs on (see ``config_loader``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from channels.email.settings import SmtpSettings
from channels.sandbox.settings import DemoSettings
from channels.twilio.settings import TwilioSettings
from channels.voice.settings import QueueVoiceSettings, VoiceSettings
from interaction_center.domain.model import Channel, Role
from ivr.hours import BusinessHours


@dataclass(frozen=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    # The URL Twilio calls us on (behind a proxy, the proxy's); webhook signatures cover it.
    public_base_url: str = ""
    # Load balancers in front (addresses or networks): the client's address is read from
    # the X-Forwarded-For they add, and from nobody else's.
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///var/interaction-center.db"


@dataclass(frozen=True)
class RedisSettings:
    # Empty: routing lives in this process (one instance). A URL: routing state in that
    # Redis, shared by every instance given the same URL and prefix. It may carry a
    # password: kept out of repr, so out of logs.
    url: str = field(default="", repr=False)
    # The start of every key the service keeps there: deployments with different
    # prefixes share a server without seeing each other.
    prefix: str = "ic:routing:"
    # How long an instance that stopped renewing its lease (renewed every half of it) is
    # taken for alive: its agents' desks count as open that long after it died.
    lease_seconds: float = 30.0


@dataclass(frozen=True)
class AuthSettings:
    token_ttl_seconds: int = 12 * 3600
    # What GET /metrics asks of a scraper (Authorization: Bearer ...); empty: it answers
    # this machine only. Better given as IC_AUTH_METRICS_TOKEN; never logged.
    metrics_token: str = field(default="", repr=False)


@dataclass(frozen=True)
class RoutingSettings:
    # How long an agent has to accept an offer, unless [routing.offer_timeouts] names the channel.
    offer_timeout_seconds: float = 20.0
    tick_seconds: float = 0.25
    # Offers an agent may let lapse in a row before being set away with reason "missed".
    max_missed_offers: int = 2
    # A customer's last agent is preferred when they come back within this many hours.
    returning_customer_hours: float = 24.0
    # How long a transfer to a named agent waits for that agent before anyone may take it.
    transfer_window_seconds: float = 60.0
    # How long an interaction back from hold or snooze (the customer answered, the snooze
    # ended) waits for the agent who parked it before anyone in its queue may take it.
    hold_return_seconds: float = 300.0
    # How long an agent whose live channel dropped has to come back before their session
    # ends (offline); they are away meanwhile, and available again if they come back.
    disconnect_grace_seconds: float = 30.0
    # A customer who leaves a queue sooner than this is a short abandon (a wrong number, a
    # change of mind): counted apart, not against the queue's service level.
    short_abandon_seconds: float = 5.0
    # The centre's own day (an IANA name): today's figures start at its midnight.
    time_zone: str = "UTC"
    offer_timeouts: dict[Channel, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelsSettings:
    sms_queue: str = "support"
    email_queue: str = "support"
    # Where new web chats wait; None (no [channels.chat] section): web chat is off.
    chat_queue: str | None = None
    # A visitor who leaves while waiting may reconnect within this long before the chat
    # is abandoned.
    chat_abandon_after_seconds: float = 60.0
    # The sites (origins, "https://shop.example") whose pages may embed the chat widget:
    # its frame's frame-ancestors, and the origins its socket takes besides our own.
    chat_allowed_origins: tuple[str, ...] = ()

    def queue_for(self, channel: Channel) -> str | None:
        """Where a new conversation on ``channel`` waits; None: the channel takes none."""
        return {Channel.SMS: self.sms_queue, Channel.EMAIL: self.email_queue, Channel.CHAT: self.chat_queue}.get(
            channel
        )


@dataclass(frozen=True)
class SlaTarget:
    answer_seconds: int
    first_response_seconds: int | None = None


@dataclass(frozen=True)
class EscalationSettings:
    after_seconds: float
    raise_priority: int = 0
    relax_skills: int = 0
    overflow_to: str | None = None


@dataclass(frozen=True)
class Disposition:
    """How an interaction ended, as the agent who completes it says: a code of the
    configuration's ``[dispositions]``."""

    code: str
    label: str
    # Counted apart (a complaint the centre must follow up).
    complaint: bool = False
    # The agent must say what happened: completing without a note is refused.
    note_required: bool = False


# What a configuration without [dispositions] gets.
DEFAULT_DISPOSITIONS = {
    d.code: d
    for d in (
        Disposition("resolved", "Resolved"),
        Disposition("follow_up", "Needs a follow-up", note_required=True),
        Disposition("no_action", "Nothing to do (spam, wrong number)"),
        Disposition("complaint", "Complaint", complaint=True, note_required=True),
    )
}


@dataclass(frozen=True)
class WebhookSettings:
    """A receiver of the event log's events (``dispatch.webhooks``)."""

    name: str
    url: str
    secret: str = field(repr=False)
    events: tuple[str, ...]
    timeout_seconds: float = 10.0
    # The first pause after a failed delivery; each next one doubles, up to five minutes.
    retry_seconds: float = 1.0


@dataclass(frozen=True)
class CannedResponse:
    """A reply every agent has ready, by its shortcut (``domain.templates`` fills it)."""

    shortcut: str
    title: str
    body: str
    # Offered on these queues' interactions only; every queue when empty.
    queues: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueueSettings:
    name: str
    channels: tuple[Channel, ...]
    # Required skills with their minimum level (1-10).
    skills: dict[str, int] = field(default_factory=dict)
    priority: int = 0
    strategy: str = "longest_idle"
    sla: dict[Channel, SlaTarget] = field(default_factory=dict)
    escalation: tuple[EscalationSettings, ...] = ()
    # Beyond this many waiting, voice callers hear a message; other contacts are flagged.
    max_size: int | None = None
    preferred_agent_seconds: float = 0.0
    wrap_up_seconds: float = 0.0
    # When voice calls are answered ([queues.NAME.hours]); None: always open.
    hours: BusinessHours | None = None
    voice: QueueVoiceSettings = field(default_factory=QueueVoiceSettings)
    # The disposition codes its interactions complete with; empty: every code.
    dispositions: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueueMembershipSettings:
    queue: str
    priority: int = 1
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class AgentSeed:
    """An agent the configuration declares (the demo roster); created on start if missing."""

    username: str
    display_name: str
    role: Role
    queues: tuple[QueueMembershipSettings, ...] = ()
    skills: dict[str, int] = field(default_factory=dict)
    capacity: dict[Channel, int] = field(default_factory=dict)
    password: str = field(default="", repr=False)
    # Where calls reach the agent when not in the browser: an E.164 number.
    phone: str = ""


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
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    demo: DemoSettings = field(default_factory=DemoSettings)
    skills: tuple[str, ...] = ()
    queues: dict[str, QueueSettings] = field(default_factory=dict)
    agents: tuple[AgentSeed, ...] = ()
    dispositions: dict[str, Disposition] = field(default_factory=lambda: dict(DEFAULT_DISPOSITIONS))
    canned: tuple[CannedResponse, ...] = ()
    webhooks: tuple[WebhookSettings, ...] = ()

    def dispositions_of(self, queue: str) -> list[Disposition]:
        """The codes an interaction of ``queue`` completes with, in configured order."""
        named = self.queues[queue].dispositions if queue in self.queues else ()
        return [d for code, d in self.dispositions.items() if not named or code in named]

    @property
    def local_base_url(self) -> str:
        """Where this machine reaches the service's HTTP: ``http.host:http.port``, a
        wildcard address as loopback, an IPv6 address bracketed (its colons would read as
        the port's). Not ``public_base_url``, which is where Twilio reaches it."""
        host = self.http.host if self.http.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        return f"http://{f'[{host}]' if ':' in host else host}:{self.http.port}"

    @property
    def public_base_url(self) -> str:
        return (self.http.public_base_url or f"http://{self.http.host}:{self.http.port}").rstrip("/")
