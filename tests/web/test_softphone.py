"""The browser phone on the agent desktop (``/agent/``), in a real Chromium against the real
service, with Twilio's signalling played by tests/web/twilio_signalling.py: where an API key
can sign the agent's token, an agent with no phone of their own gets a phone in the page,
registered as their client identity. A call they accept is put through to it (the service
dials ``client:alice``), rings there with the focus on Answer, is answered by keyboard
(Alt+P) and connects its media with the far end over loopback; the agent mutes, holds and
takes back the caller, and hangs up, which ends the call for the caller too. Nothing is
fetched from Twilio's other hosts (sounds, reports), and the page's policy lets the SDK
reach Twilio's signalling, and only there."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from tests.support import ADMIN, AppFactory, Client
from tests.twilio_stub import TwilioStub
from tests.voice.support import CONFERENCE_SID, conference_started, voice_settings
from tests.voice.test_voice_token import API_KEY, APP, SECRET
from tests.web.browser import SIZES, WAIT_MS, open_page
from tests.web.test_dashboard import check, sign_in
from tests.web.test_desk import looks_right, signed_in
from tests.web.test_desk_calls import on_the_call, queued_caller
from tests.web.twilio_signalling import Signalling, far_end

READY = "Browser phone ready: calls you accept ring here."


@pytest.fixture
async def phone_client(app_factory: AppFactory, settings_factory: Callable[..., Settings], tmp_path: Path) -> Client:
    """The voice tests' service, with an API key for browser calls, by plain http."""
    twilio = f'api_key_sid = "{API_KEY}"\napi_key_secret = "{SECRET}"\ntwiml_app_sid = "{APP}"'
    settings = voice_settings(tmp_path, settings_factory, voice=ADMIN, twilio=twilio)
    return await app_factory(dataclasses.replace(settings, http=dataclasses.replace(settings.http, public_base_url="")))


async def test_the_pages_may_reach_twilio_signalling_where_browser_calls_are_configured(phone_client: Client) -> None:
    policy = (await phone_client.get("/agent/")).headers["Content-Security-Policy"]
    assert "connect-src 'self' wss://*.twilio.com" in policy.split("; ")
    assert "https:" not in policy and "unsafe" not in policy


@pytest.mark.parametrize("size", SIZES)
async def test_a_call_rings_the_browser_phone_is_answered_muted_held_and_hung_up(
    phone_client: Client, browser: Browser, twilio_stub: TwilioStub, tmp_path: Path, size: str
) -> None:
    signalling = Signalling(SECRET)

    async def prepare(context: BrowserContext) -> None:
        await signalling.attach(context)

    context, page, problems = await signed_in(browser, phone_client, size, prepare=prepare)
    phone = page.get_by_role("region", name="Browser phone")
    await expect(phone.get_by_role("status")).to_have_text(
        "Browser phone ready: calls you accept ring here.", timeout=WAIT_MS
    )
    assert signalling.identities == ["alice"]
    assert signalling.kinds() == ["listen", "register"]

    caller = await queued_caller(phone_client)
    await expect(page.get_by_role("article", name="Call from +15551230001")).to_be_visible(timeout=WAIT_MS)
    await page.keyboard.press("Alt+a")
    await expect(page.get_by_text("Calls you accept ring here, on the browser phone.")).to_be_visible(timeout=WAIT_MS)
    [dialled] = [r for r in twilio_stub.sent("POST", "/Participants.json") if r.form["Label"] == "agent"]
    assert dialled.form["To"] == "client:alice"
    stored = await caller.stored()
    assert stored is not None and stored.agent_call_sid is not None
    leg, interaction_id = stored.agent_call_sid, stored.interaction_id

    # Twilio rings the browser: the far end's offer in the invite.
    far, offer = await far_end(context, str(phone_client.make_url("")).rstrip("/"))
    parameters = {"CallSid": leg, "From": dialled.form["From"], "To": "client:alice", "ApiVersion": "2010-04-01"}
    signalling.send("invite", {"callsid": leg, "sdp": offer, "parameters": parameters})
    await expect(phone.get_by_role("status")).to_have_text("The browser phone is ringing: your call.", timeout=WAIT_MS)
    await expect(phone.get_by_role("button", name="Answer")).to_be_focused()
    await looks_right(page, tmp_path / f"{size}-phone-ringing.png")

    await page.keyboard.press("Alt+p")
    await far.evaluate("sdp => farEnd.setRemoteDescription({ type: 'answer', sdp })", await signalling.answered(leg))
    await far.wait_for_function("['connected', 'completed'].includes(farEnd.iceConnectionState)", timeout=WAIT_MS)
    await conference_started(caller, interaction_id)
    await expect(phone.get_by_role("status")).to_have_text(re.compile(r"^On the call, 0:\d\d$"), timeout=WAIT_MS)

    mute = phone.get_by_role("button", name="Mute")
    await mute.click()
    await expect(mute).to_have_attribute("aria-pressed", "true")
    assert await page.evaluate("Twilio.Device && true")

    hold = page.get_by_role("group", name="The call").get_by_role("button", name="Hold the caller")
    await hold.click()
    await expect(hold).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
    await hold.click()
    await expect(hold).to_have_attribute("aria-pressed", "false", timeout=WAIT_MS)
    customer = f"/Conferences/{CONFERENCE_SID}/Participants/{caller.call_sid}.json"
    assert [r.form["Hold"] for r in twilio_stub.sent("POST", customer)] == ["true", "false"]
    await looks_right(page, tmp_path / f"{size}-phone-talking.png")

    # Hanging up ends the conference: Twilio ends every leg, the browser's included.
    await phone.get_by_role("button", name="Hang up").click()
    await expect(page.get_by_text("Hung up: complete it when you are done.")).to_be_visible(timeout=WAIT_MS)
    assert twilio_stub.sent("POST", f"/Conferences/{CONFERENCE_SID}.json")[-1].form == {"Status": "completed"}
    signalling.send("hangup", {"callsid": leg})
    await caller.hang_up()
    await expect(phone.get_by_role("status")).to_have_text(
        "Browser phone ready: calls you accept ring here.", timeout=WAIT_MS
    )
    await expect(page.locator(".call-state .ended")).to_have_text("The caller hung up.", timeout=WAIT_MS)
    await expect(page.get_by_role("group", name="The call")).to_have_count(0)

    assert [kind for kind in signalling.kinds() if kind not in ("register",)] == ["listen", "answer"]
    assert signalling.elsewhere == []
    assert problems == []
    assert phone_client.app[SERVICES].voice.setup() == {"browser_calls": True, "call_controls": True}
    signalling.stop()
    await context.close()


@pytest.mark.parametrize("size", SIZES)
async def test_a_supervisor_listens_in_on_the_dashboards_browser_phone_and_leaves(
    phone_client: Client, browser: Browser, twilio_stub: TwilioStub, tmp_path: Path, size: str
) -> None:
    caller = await queued_caller(phone_client)
    await on_the_call(phone_client, caller)
    signalling = Signalling(SECRET)
    context, page, problems = await open_page(browser, phone_client, "/supervisor/", size)
    await signalling.attach(context)
    await sign_in(page, "sam")
    phone = page.get_by_role("region", name="Browser phone")
    await expect(phone.get_by_role("status")).to_have_text(READY, timeout=WAIT_MS)
    assert signalling.identities == ["sam"]

    await page.get_by_role("button", name="Work of alice").click()
    call = page.get_by_role("group", name=re.compile(r"^Join the call of alice's #1"))
    await call.get_by_role("button", name="Listen").click()
    await expect(page.locator(".board-notice")).to_have_text(re.compile(r"^Listening"), timeout=WAIT_MS)
    [dialled] = [r for r in twilio_stub.sent("POST", "/Participants.json") if r.form["Label"] == "supervisor"]
    assert dialled.form["To"] == "client:sam"
    stored = await caller.stored()
    assert stored is not None and stored.supervisor_call_sid is not None
    leg = stored.supervisor_call_sid
    far, offer = await far_end(context, str(phone_client.make_url("")).rstrip("/"))
    signalling.send("invite", {"callsid": leg, "sdp": offer, "parameters": {"CallSid": leg, "To": "client:sam"}})
    await expect(phone.get_by_role("button", name="Answer")).to_be_focused(timeout=WAIT_MS)
    await phone.get_by_role("button", name="Answer").click()
    await far.evaluate("sdp => farEnd.setRemoteDescription({ type: 'answer', sdp })", await signalling.answered(leg))
    await expect(phone.get_by_role("status")).to_have_text(re.compile(r"^On the call, 0:\d\d$"), timeout=WAIT_MS)
    await check(page, tmp_path, f"{size}-supervisor-on-the-phone")

    # Leaving is hanging up the supervisor's own leg: the SDK tells Twilio so.
    await phone.get_by_role("button", name="Hang up").click()
    await expect(phone.get_by_role("status")).to_have_text(READY, timeout=WAIT_MS)
    assert signalling.kinds()[-1] == "hangup" and signalling.received[-1]["payload"]["callsid"] == leg
    assert signalling.elsewhere == []
    assert problems == []
    signalling.stop()
    await context.close()
