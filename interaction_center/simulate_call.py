"""``interaction-center simulate call``: a whole phone call against the running service,
driven as Twilio drives one. Each request carries Twilio's parameters and is signed as
Twilio signs it (over the public URL the TwiML names); each answer is read as Twilio reads
TwiML: what the caller hears is printed, a <Gather> takes keys or words from the caller
(the terminal, or the ``--press`` list), <Redirect> is followed, <Enqueue> asks the wait
URL every few seconds until the service says <Leave/> or the caller hangs up (Ctrl-C, or
the longest wait given), <Record> leaves a demo voicemail, <Dial> and <Hangup> end it.

The service puts a waiting call through to its agent by a REST request to Twilio, which
calls nothing of ours: this simulator cannot see it happen, and simply waits on.

Synchronous on purpose: one call is one conversation with a terminal, and Ctrl-C must
hang up wherever it is pressed (while keys are being read too)."""

from __future__ import annotations

import re
import sys
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from urllib.parse import urlencode, urljoin, urlsplit

from twilio.request_validator import RequestValidator

from interaction_center.domain.errors import InteractionCenterError, InvalidInput
from interaction_center.settings.model import Settings

# What a caller says or keys in at a <Gather>, asked with a prompt; None is silence.
Listen = Callable[[str], str | None]
Show = Callable[[str], None]

ASK = "  keys or words (Enter: silence)> "
WAITING = "waiting (press Ctrl-C to hang up)"
# Where a simulated voicemail "is": not a recording anyone can fetch, and says so.
DEMO_RECORDING = "https://example.invalid/demo-recording/"
RECORDING_SECONDS = 10
DEMO_TRANSCRIPTION = "(demo: a simulated call's recording, with nothing said)"
SPEECH_CONFIDENCE = "0.9"
ANSWER_SECONDS = 30.0
_KEYS = re.compile(r"[0-9*#]+")
REFUSED = "signature refused: does --config match the service's twilio.auth_token?"


class CallFailed(InteractionCenterError):
    """The service could not be reached, or answered the call with something not TwiML."""

    code = "simulate.call_failed"


class _HungUp(Exception):
    """The caller put the phone down: Ctrl-C, the longest wait over, or a <Hangup> while waiting."""


def scripted(presses: Iterable[str], show: Show = print) -> Listen:
    """``--press``: each item at the next <Gather>, shown as if typed; an empty item, or
    none left, is silence."""
    left = list(presses)

    def listen(prompt: str) -> str | None:
        item = left.pop(0).strip() if left else ""
        show(prompt + (item or "(silence)"))
        return item or None

    return listen


def terminal(prompt: str) -> str | None:
    """The caller at the terminal: a line read; end of input is silence. Lines piped in
    are shown after the prompt, as if typed."""
    try:
        line = input(prompt)
    except EOFError:
        line = None
    if not sys.stdin.isatty():
        print(line if line is not None else "(silence)")
    return (line or "").strip() or None


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


class SimulatedCall:
    """One call from ``caller`` to ``dialled``, its requests posted to ``base`` (where the
    service listens) and signed over ``settings.public_base_url`` (where Twilio reaches it)."""

    def __init__(
        self,
        settings: Settings,
        base: str,
        caller: str,
        dialled: str,
        listen: Listen,
        *,
        show: Show = print,
        poll_seconds: float = 5.0,
        max_wait_seconds: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.call_sid = _sid("CA")
        self._validator = RequestValidator(settings.twilio.auth_token)
        self._public = settings.public_base_url.rstrip("/")
        self._base = base.rstrip("/")
        self._account = settings.twilio.account_sid or "AC" + "0" * 32
        self._caller, self._dialled = caller, dialled
        self._listen, self._show, self._sleep = listen, show, sleep
        self._poll, self._max_wait = poll_seconds, max_wait_seconds
        # No proxy from the environment: the service is where --url (or http.port) says.
        self._http = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._url = self._public + "/twilio/voice"  # the document being read, for relative URLs
        self._started = time.monotonic()
        # The Enqueue's action URL, QueueSid and start while the caller waits in a queue.
        self._queue: tuple[str, str, float] | None = None
        self._music = ""

    def run(self) -> None:
        """The whole call; Ctrl-C hangs up, as a caller putting the phone down."""
        self._show(f"calling {self._dialled} from {self._caller} (CallSid {self.call_sid})")
        try:
            document: ET.Element | None = self._answer(self._url, CallStatus="ringing")
            while document is not None:
                document = self._read(document)
        except (KeyboardInterrupt, _HungUp):
            self._show("[you hang up]")
            if self._queue is not None:
                self._queue_result("hangup")
        self._note(self._public + "/twilio/voice/status", CallStatus="completed", CallDuration=self._seconds())
        self._show("[call ended]")

    # --- TwiML, verb by verb ------------------------------------------------------------

    def _read(self, document: ET.Element) -> ET.Element | None:
        """The next document the verbs lead to, or None when the call is over."""
        for verb in document:
            if verb.tag in ("Say", "Play", "Pause"):
                self._hear(verb)
            elif verb.tag == "Gather":
                heard = self._gather(verb)
                if heard is not None:
                    return heard
            elif verb.tag == "Redirect":
                return self._answer(self._follow(verb.text))
            elif verb.tag == "Enqueue":
                return self._enqueue(verb)
            elif verb.tag == "Record":
                return self._record(verb)
            elif verb.tag == "Dial":
                self._show(f"[transferred to {''.join(verb.itertext()).strip()}]")
                return None
            elif verb.tag in ("Hangup", "Reject"):
                return None
            elif verb.tag != "Leave":  # <Leave> outside a queue does nothing
                self._show(f"[not simulated: <{verb.tag}>]")
        return None  # out of verbs: Twilio hangs up

    def _hear(self, verb: ET.Element) -> None:
        if verb.tag == "Say":
            self._show((verb.text or "").strip())
        elif verb.tag == "Play":
            self._show(f"[plays {(verb.text or '').strip()}]")

    def _gather(self, gather: ET.Element) -> ET.Element | None:
        """The answer to what the caller keyed or said; None for silence (on to the verb
        after the <Gather>, as Twilio goes)."""
        fields = self._heard(gather, self._prompted(gather))
        if fields is None:
            return None
        return self._answer(self._follow(gather.get("action")), **fields)

    def _prompted(self, gather: ET.Element) -> str | None:
        """What the caller keys or says once the <Gather>'s own prompts are heard."""
        for verb in gather:
            self._hear(verb)
        return self._listen(ASK)

    def _heard(self, gather: ET.Element, line: str | None) -> dict[str, str] | None:
        """Twilio's fields for a line: keys (0-9, * and #) as Digits, words as SpeechResult,
        each only if the <Gather> listens for it."""
        if line is None:
            return None
        listens = gather.get("input", "dtmf").split()
        if _KEYS.fullmatch(line):
            if "dtmf" not in listens:
                self._show("[this prompt listens for words only: the keys go unheard]")
                return None
            finish = gather.get("finishOnKey", "#")
            finished = bool(finish) and line.endswith(finish)
            digits = line.removesuffix(finish) if finished else line
            if gather.get("numDigits", "").isdecimal():
                digits = digits[: int(gather.get("numDigits", ""))]
            return {"Digits": digits, "FinishedOnKey": finish if finished else ""} if digits else None
        if "speech" not in listens:
            self._show("[this prompt listens for keys only: the words go unheard]")
            return None
        return {"SpeechResult": line, "Confidence": SPEECH_CONFIDENCE}

    # --- waiting in a queue -------------------------------------------------------------

    def _enqueue(self, verb: ET.Element) -> ET.Element | None:
        """Twilio asks the wait URL each time its last answer has played; the wait ends with
        <Leave/> (the Enqueue's action says where next) or the caller hanging up."""
        self._queue = (self._follow(verb.get("action")), _sid("QU"), time.monotonic())
        # Absolute now: the documents read while waiting would change what it is relative to.
        wait_url = self._follow(verb.get("waitUrl")) if verb.get("waitUrl") else None
        self._music = ""
        self._show(WAITING)
        deadline = time.monotonic() + self._max_wait
        while True:
            if wait_url is not None and self._waited(self._answer(wait_url, **self._waiting())):
                return self._queue_result("leave")
            left = deadline - time.monotonic()
            if left <= 0:
                self._show(f"[nobody answered within {self._max_wait:g} seconds]")
                raise _HungUp
            self._sleep(min(self._poll, left))

    def _waited(self, document: ET.Element) -> bool:
        """Plays a wait URL's answer; True once it says <Leave/>. <Hangup> hangs up."""
        for verb in document:
            if verb.tag in ("Say", "Pause"):
                self._hear(verb)
            elif verb.tag == "Play":
                music = (verb.text or "").strip()
                if music != self._music:  # hold music said once, not at every poll
                    self._music = music
                    self._hear(verb)
            elif verb.tag == "Gather":
                fields = self._heard(verb, self._prompted(verb))
                if fields is not None:
                    # Whatever the key's answer holds, then back to the wait URL.
                    return self._waited(self._answer(self._follow(verb.get("action")), **fields))
            elif verb.tag == "Redirect":
                return self._waited(self._answer(self._follow(verb.text)))
            elif verb.tag == "Leave":
                return True
            elif verb.tag == "Hangup":
                raise _HungUp
            else:
                self._show(f"[not simulated while waiting: <{verb.tag}>]")
        return False

    def _waiting(self) -> dict[str, str]:
        assert self._queue is not None
        _, queue_sid, since = self._queue
        waited = str(round(time.monotonic() - since))
        # Each call waits in a Twilio queue of its own (routing is the service's): first of one.
        return {
            "QueueSid": queue_sid,
            "QueuePosition": "1",
            "QueueTime": waited,
            "AvgQueueTime": waited,
            "CurrentQueueSize": "1",
            "MaxQueueSize": "100",
        }

    def _queue_result(self, result: str) -> ET.Element | None:
        assert self._queue is not None
        action, queue_sid, since = self._queue
        self._queue = None
        fields = {"QueueResult": result, "QueueSid": queue_sid, "QueueTime": str(round(time.monotonic() - since))}
        answer = self._answer(action, **fields)
        return answer if result == "leave" else None

    # --- voicemail ----------------------------------------------------------------------

    def _record(self, verb: ET.Element) -> ET.Element | None:
        self._show("[recording: say your message]")
        recording_sid = _sid("RE")
        recording = {
            "RecordingSid": recording_sid,
            "RecordingUrl": DEMO_RECORDING + recording_sid,
            "RecordingDuration": str(RECORDING_SECONDS),
        }
        self._show(f"[demo recording, no audio: {recording['RecordingUrl']}]")
        answer = self._answer(self._follow(verb.get("action")), **recording, Digits=verb.get("finishOnKey", "#"))
        callback = verb.get("recordingStatusCallback")
        if callback is not None:
            status = {"RecordingStatus": "completed", "RecordingChannels": "1", "RecordingSource": "RecordVerb"}
            self._note(self._follow(callback), **recording, **status)
        transcribe = verb.get("transcribeCallback")
        if verb.get("transcribe") == "true" and transcribe is not None:
            text = {"TranscriptionText": DEMO_TRANSCRIPTION, "TranscriptionStatus": "completed"}
            self._note(self._follow(transcribe), **recording, TranscriptionSid=_sid("TR"), **text)
        return answer

    # --- requests, as Twilio makes them -------------------------------------------------

    def _follow(self, url: str | None) -> str:
        """A URL the TwiML names (absolute, or relative to the document), or the document's
        own when it names none."""
        return urljoin(self._url, (url or "").strip()) if url and url.strip() else self._url

    def _answer(self, url: str, **fields: str) -> ET.Element:
        body = self._post(url, fields)
        try:
            document = ET.fromstring(body)
        except ET.ParseError as exc:
            raise CallFailed(f"the service's answer to {urlsplit(url).path} is not TwiML: {body[:200]!r}") from exc
        if document.tag != "Response":
            raise CallFailed(f"the service's answer to {urlsplit(url).path} is not TwiML: <{document.tag}>")
        self._url = url
        return document

    def _note(self, url: str, **fields: str) -> None:
        """A status callback: Twilio reads nothing of the answer but its status."""
        self._post(url, fields)

    def _post(self, url: str, extra: dict[str, str]) -> str:
        if not url.startswith(self._public + "/"):
            raise CallFailed(f"the service sent the call to {url}, which is not under http.public_base_url")
        form = {
            "CallSid": self.call_sid,
            "AccountSid": self._account,
            "From": self._caller,
            "To": self._dialled,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            **extra,
        }
        signature = self._validator.compute_signature(url, form)
        request = urllib.request.Request(
            self._base + url.removeprefix(self._public),
            data=urlencode(form).encode(),
            headers={"X-Twilio-Signature": signature},
            method="POST",
        )
        try:
            with self._http.open(request, timeout=ANSWER_SECONDS) as response:
                return bytes(response.read()).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            if exc.code == 403:
                raise CallFailed(REFUSED) from exc
            text = exc.read().decode("utf-8", "replace")[:500]
            raise CallFailed(f"the service answered {urlsplit(url).path} with HTTP {exc.code}: {text}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise CallFailed(f"the service at {self._base} did not answer: {reason}") from exc

    def _seconds(self) -> str:
        return str(round(time.monotonic() - self._started))


def dialled_number(settings: Settings, to: str | None) -> str:
    """``--to``, else the number the configuration answers."""
    number = to or settings.twilio.phone_number
    if not number:
        raise InvalidInput("twilio.phone_number is not set: give --to, the number to call", code="simulate.no_number")
    return number
