"""Twilio's signalling gateway for the Voice SDK, played in the browser tests: Twilio's
cloud is out of reach, so Playwright answers the page's WebSocket to it (any
wss://*.twilio.com) in its stead, as Twilio does (the SDK's protocol, "PStream" 1.6): the
token checked against the API key's secret, the connection and the registration
acknowledged, a heartbeat every few seconds; ``invite`` and ``hangup`` are sent as Twilio
sends them when a call comes to the browser and when it ends. What the SDK sends is kept.

And the far end of a call: an RTCPeerConnection in a page of its own, whose offer comes in
the invite and which takes the SDK's answer, so that the call's media connects for real
over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from typing import Any

from playwright.async_api import BrowserContext, Page, Route, WebSocketRoute
from twilio.jwt import Jwt

VERSION = "1.6"
# The SDK closes a connection that hears nothing for 15 s.
HEARTBEAT_SECONDS = 5.0
TWILIO_SOCKETS = re.compile(r"^wss://[^/]+\.twilio\.com/")
TWILIO_HTTP = re.compile(r"^https?://([^/]+\.)?twilio\.com/")

# In the far end's page: an offer with its candidates gathered (the SDK takes none later),
# sending the fake microphone's sound: with none coming, the browser's playing of the call
# would never start.
FAR_END_OFFER = """async () => {
  const pc = new RTCPeerConnection();
  const microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
  for (const track of microphone.getAudioTracks()) pc.addTrack(track, microphone);
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== "complete") {
    await new Promise((done) => pc.addEventListener("icegatheringstatechange",
      () => pc.iceGatheringState === "complete" && done()));
  }
  window.farEnd = pc;
  return pc.localDescription.sdp;
}"""


class Signalling:
    def __init__(self, api_key_secret: str) -> None:
        self._secret = api_key_secret
        self.received: list[dict[str, Any]] = []
        self.identities: list[str] = []
        # Any request the page made to Twilio's other hosts (insights, sounds): none is wanted.
        self.elsewhere: list[str] = []
        self._socket: WebSocketRoute | None = None
        self._beating: asyncio.Task[None] | None = None

    async def attach(self, context: BrowserContext) -> None:
        await context.route_web_socket(TWILIO_SOCKETS, self._opened)
        await context.route(TWILIO_HTTP, self._refused)

    async def _refused(self, route: Route) -> None:
        self.elsewhere.append(route.request.url)
        await route.abort()

    def _opened(self, socket: WebSocketRoute) -> None:
        self._socket = socket
        socket.on_message(self._message)
        if self._beating is None:
            self._beating = asyncio.get_running_loop().create_task(self._heartbeat())

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if self._socket is not None:
                with contextlib.suppress(Exception):
                    self._socket.send("\n")

    def stop(self) -> None:
        if self._beating is not None:
            self._beating.cancel()

    def send(self, kind: str, payload: dict[str, Any]) -> None:
        assert self._socket is not None, "the page never opened Twilio's signalling"
        self._socket.send(json.dumps({"type": kind, "version": VERSION, "payload": payload}))

    def _message(self, message: str | bytes) -> None:
        if message == "\n":
            return
        frame = json.loads(message)
        self.received.append(frame)
        kind, payload = frame["type"], frame.get("payload", {})
        if kind == "listen":
            grants = Jwt.from_jwt(payload["token"], self._secret).payload
            self.identities.append(grants["grants"]["identity"])
            ttl = int(grants["exp"] - time.time())
            token = {"identity": grants["grants"]["identity"], "ttl": ttl}
            self.send("connected", {"region": "US_EAST_VIRGINIA", "home": "us1", "edge": "ashburn", "token": token})
        elif kind == "register":
            self.send("ready" if payload.get("media", {}).get("audio") else "offline", {})

    def kinds(self) -> list[str]:
        return [frame["type"] for frame in self.received]

    async def answered(self, call_sid: str) -> str:
        """The SDP the browser answered the call with, once it has."""
        for _ in range(200):
            for frame in self.received:
                if frame["type"] == "answer" and frame["payload"]["callsid"] == call_sid:
                    return str(frame["payload"]["sdp"])
            await asyncio.sleep(0.05)
        raise AssertionError(f"the browser never answered {call_sid}: {self.kinds()}")


async def far_end(context: BrowserContext, origin: str) -> tuple[Page, str]:
    """The far end's page, on ``origin`` (a microphone needs a secure one, as loopback
    is), and its offer."""
    page = await context.new_page()
    await page.goto(f"{origin}/healthz")
    return page, str(await page.evaluate(FAR_END_OFFER))
