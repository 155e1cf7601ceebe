"""Every TwiML answer of the voice channel, made with the ``twilio`` library: an IVR step,
the waiting caller's announcements and music, the branches out of a queue, the apology.

URLs Twilio is told to call next are absolute, on the public base URL the signatures are
computed over; an IVR step's URLs carry the step's number, so a retried request is known
for what it is."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from xml.sax.saxutils import escape

from twilio.twiml import TwiML
from twilio.twiml.voice_response import VoiceResponse

from ivr.flow import Prompt
from ivr.instructions import Instruction
from ivr.interpreter import Enqueue, Gather, Hangup, Step, Transfer, Voicemail

APOLOGY = Prompt(say="We are sorry, something went wrong on our side. Please call again later. Goodbye.")
VOICEMAIL_INVITATION = Prompt(say="Please leave a message after the tone, and press the pound key when you are done.")
VOICEMAIL_THANKS = Prompt(say="Thank you, your message has been recorded. Goodbye.")
CALLBACK_CONFIRMED = Prompt(
    say="You keep your place in the queue, and we will call you back on this number when it is your turn. Goodbye."
)


class VoiceUrls:
    """The URLs under ``/twilio/voice`` Twilio calls, absolute on the public base URL."""

    def __init__(self, public_base_url: str) -> None:
        self.base = public_base_url.rstrip("/") + "/twilio/voice"

    def step(self, number: int) -> str:
        return f"{self.base}/step/{number}"

    @property
    def wait(self) -> str:
        return f"{self.base}/wait"

    @property
    def wait_key(self) -> str:
        return f"{self.base}/wait/key"

    @property
    def queue_result(self) -> str:
        return f"{self.base}/queue-result"

    @property
    def recorded(self) -> str:
        return f"{self.base}/recorded"

    @property
    def recording(self) -> str:
        return f"{self.base}/recording"

    @property
    def transcription(self) -> str:
        return f"{self.base}/transcription"

    @property
    def status(self) -> str:
        return f"{self.base}/status"


# For answers that send Twilio nowhere.
_NO_URLS = VoiceUrls("")


def speak(verb: TwiML, prompt: Prompt) -> None:
    if prompt.play:
        verb.play(prompt.play)
    else:
        verb.say(prompt.say, voice=prompt.voice or None, language=prompt.language or None)


def _said(prompts: Iterable[Prompt]) -> VoiceResponse:
    response = VoiceResponse()
    for prompt in prompts:
        speak(response, prompt)
    return response


def step(step: Step, urls: VoiceUrls, next_step: int, queue_name: str) -> str:
    """The TwiML of an IVR step: its prompts, then what it leads to. ``queue_name`` is the
    Twilio queue a caller who reaches a queue waits in (one per call: routing is ours).

    Made once per flow node and step number: a step's text depends on nothing else (the
    queue's name is put in afterwards), and every caller at a node hears the same."""
    then = step.then
    if isinstance(then, Enqueue):
        return _step(step.prompts, None, urls, 0).replace(_QUEUE_NAME, escape(queue_name))
    # Only a Gather's URLs carry the next step's number.
    return _step(step.prompts, then, urls, next_step if isinstance(then, Gather) else 0)


# The queue's name in an Enqueue made once: a private-use character no prompt holds.
_QUEUE_NAME = "\ue000"


@functools.lru_cache(maxsize=1024)
def _step(prompts: tuple[Prompt, ...], then: Instruction | None, urls: VoiceUrls, next_step: int) -> str:
    """``then`` None: into the caller's queue (an Enqueue's queue and skills are routing's,
    not Twilio's)."""
    response = _said(prompts)
    if isinstance(then, Gather):
        gather = response.gather(
            input=then.input,
            action=urls.step(next_step),
            method="POST",
            timeout=then.timeout_seconds,
            num_digits=then.num_digits,
            finish_on_key=then.finish_on_key or None,
            hints=",".join(then.hints) or None,
            language=then.language or None,
            action_on_empty_result=False,
        )
        for prompt in then.prompts:
            speak(gather, prompt)
        # With nothing heard Twilio goes on to the next verb: back to the same step, with
        # no input, which the flow takes as a timeout.
        response.redirect(urls.step(next_step), method="POST")
    elif then is None:
        enqueue(response, urls, _QUEUE_NAME)
    elif isinstance(then, Voicemail):
        record(response, urls, then.max_seconds, then.transcribe)
    elif isinstance(then, Transfer):
        response.dial(then.number)
    else:
        assert isinstance(then, Hangup)
        response.hangup()
    return str(response)


def enqueue(response: VoiceResponse, urls: VoiceUrls, queue_name: str) -> None:
    response.enqueue(queue_name, wait_url=urls.wait, wait_url_method="POST", action=urls.queue_result, method="POST")


def record(response: VoiceResponse, urls: VoiceUrls, max_seconds: int, transcribe: bool) -> None:
    response.record(
        max_length=max_seconds,
        action=urls.recorded,
        method="POST",
        finish_on_key="#",
        play_beep=True,
        recording_status_callback=urls.recording,
        recording_status_callback_method="POST",
        transcribe=transcribe,
        transcribe_callback=urls.transcription if transcribe else None,
    )


def enqueued(prompts: Iterable[Prompt], urls: VoiceUrls, queue_name: str) -> str:
    """Into (another) queue after ``prompts``."""
    response = _said(prompts)
    enqueue(response, urls, queue_name)
    return str(response)


def voicemail(urls: VoiceUrls, max_seconds: int, transcribe: bool = True) -> str:
    response = _said([VOICEMAIL_INVITATION])
    record(response, urls, max_seconds, transcribe)
    return str(response)


def waiting(announcements: Iterable[Prompt], music: str, callback: Prompt | None, urls: VoiceUrls) -> str:
    """What a waiting caller hears until Twilio asks again: what is to be said, the offer
    of a callback (a key to press) if there is one, then hold music."""
    response = VoiceResponse()
    if callback is None:
        for prompt in announcements:
            speak(response, prompt)
    else:
        gather = response.gather(input="dtmf", num_digits=1, action=urls.wait_key, method="POST", timeout=1)
        for prompt in (*announcements, callback):
            speak(gather, prompt)
    if music:
        response.play(music)
    else:
        response.pause(length=10)
    return str(response)


@functools.lru_cache(maxsize=64)
def hold(music: str) -> str:
    """Hold music alone (``waiting`` with nothing to say): most of what the wait URL
    answers, the same text for every caller of a queue, so made once per music."""
    return waiting((), music, None, _NO_URLS)


def leave() -> str:
    """Out of the Twilio queue: its action URL (``queue_result``) says where next."""
    response = VoiceResponse()
    response.leave()
    return str(response)


def goodbye(prompts: Iterable[Prompt] = ()) -> str:
    response = _said(prompts)
    response.hangup()
    return str(response)


def apology() -> str:
    """Valid TwiML for a request we cannot serve (a call or step we do not know): Twilio
    would otherwise read the caller an application error."""
    return goodbye([APOLOGY])


def empty() -> str:
    return str(VoiceResponse())
