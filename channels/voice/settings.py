"""The voice channel's configuration: the ``[voice]`` section (with the flows read from
its directory) and each queue's ``[queues.NAME.voice]`` table. Parsed and checked by
interaction_center/settings/voice.py."""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.flow import Flows

# Twilio's own hold music, served from its public bucket.
DEFAULT_HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
# What a queue's max_wait_branch may be, besides "queue:NAME".
WAIT_BRANCHES = ("voicemail", "callback")
QUEUE_BRANCH = "queue:"


@dataclass(frozen=True)
class VoiceSettings:
    # Every flow read from the [voice] flows directory; its default is default_flow.
    flows: Flows = field(default_factory=Flows)
    # The flow for a number no flow lists; "": such a call is apologised to and hung up.
    default_flow: str = ""
    # How long an agent's phone rings before the offer is taken back.
    ring_timeout_seconds: int = 20
    # A callback the customer asked for: how often it is tried, and how long apart.
    callback_attempts: int = 3
    callback_retry_seconds: int = 120
    # What callers hear while they wait, unless their queue names its own.
    hold_music: str = DEFAULT_HOLD_MUSIC
    # The longest voicemail, unless the flow's voicemail node says otherwise.
    voicemail_max_seconds: int = 120


@dataclass(frozen=True)
class QueueVoiceSettings:
    """How a queue treats the callers waiting in it."""

    # The least time between two announcements (position, estimated wait) to one caller.
    announce_every_seconds: int = 30
    # Above this position a caller hears "more than N callers ahead of you".
    position_limit: int = 10
    # An estimated wait is said once this many answered waits are known, and it is made
    # from the last estimate_window of them.
    estimate_samples: int = 5
    estimate_window: int = 20
    # After this long waiting (0: never) the call goes to max_wait_branch: "voicemail",
    # "callback" or "queue:NAME".
    max_wait_seconds: int = 0
    max_wait_branch: str = "voicemail"
    # Above this estimated wait (0: never) the caller may press callback_key to be called back.
    callback_above_seconds: int = 0
    callback_key: str = "1"
    # Record the call, after saying consent_prompt.
    record: bool = False
    consent_prompt: str = "This call may be recorded for quality and training."
    # A URL; "": the [voice] hold_music.
    hold_music: str = ""

    @property
    def max_wait_queue(self) -> str | None:
        """The queue max_wait_branch moves the call to, if it names one."""
        branch = self.max_wait_branch
        return branch.removeprefix(QUEUE_BRANCH) if branch.startswith(QUEUE_BRANCH) else None
