"""What the interpreter asks the voice channel to do, and what the caller answered: plain
data, which channels/voice renders as TwiML (nothing here knows TwiML)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ivr.flow import Prompt


@dataclass(frozen=True)
class Heard:
    """The answer to a Gather: keys pressed, or speech recognised (with the recogniser's
    confidence). Both empty: the Gather timed out."""

    digits: str = ""
    speech: str = ""
    confidence: float | None = None


@dataclass(frozen=True)
class Gather:
    """Ask (``prompts``, interruptible) and listen for ``input`` ("dtmf", "speech" or
    "dtmf speech"). ``num_digits``: end after that many keys (None: at ``finish_on_key``
    or the timeout); ``hints``: the words a menu expects, for speech recognition."""

    prompts: tuple[Prompt, ...]
    input: str
    timeout_seconds: int
    num_digits: int | None
    finish_on_key: str
    hints: tuple[str, ...]
    language: str


@dataclass(frozen=True)
class Enqueue:
    """The IVR is over: the call waits in ``queue`` for an agent, with ``skills`` required
    on top of the queue's and ``priority`` added to its."""

    queue: str
    skills: Mapping[str, int] = field(default_factory=dict)
    priority: int = 0
    language: str = ""


@dataclass(frozen=True)
class Voicemail:
    max_seconds: int
    transcribe: bool = False


@dataclass(frozen=True)
class Transfer:
    """Connect the call to an external number (E.164)."""

    number: str


@dataclass(frozen=True)
class Hangup:
    pass


Instruction = Gather | Enqueue | Voicemail | Transfer | Hangup
