"""A call on the agent desktop (``/agent/``) in a real Chromium against the real service:
the caller walks the IVR as Twilio drives it (signed webhooks, for the URL the service
checks), the offer rings as a call, and once accepted the conversation lists the caller's
IVR steps with their times (words said, markup among them, shown as text), says plainly
that no Twilio account is configured for calls in the browser and which phone the call
rings, and offers no reply box; the caller's hang-up shows, and the call is completed
with a disposition. A supervisor joins a call from the dashboard: listens, then whispers
to the agent, then barges in. At a phone's size and a desk's, axe-core clean and fitting
at each step, with no console error or failed request."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from storage.models import VoiceCall
from tests.support import ADMIN, AppFactory, Client, accept_first, agent_id, login, set_status
from tests.twilio_stub import TwilioStub
from tests.voice.support import CONFERENCE_SID, Caller, conference_started, verbs, voice_settings
from tests.web.browser import SIZES, WAIT_MS, open_page
from tests.web.test_dashboard import check, sign_in
from tests.web.test_desk import looks_right, signed_in

ACCOUNT = "12345678"
ALICE_PHONE = "+15557654321"
# What the caller says at the menu, which takes keys: markup that must stay text.
SAID = "<b>a human</b> please"


@pytest.fixture
async def calls_client(app_factory: AppFactory, settings_factory: Callable[..., Settings], tmp_path: Path) -> Client:
    """The voice tests' flow and support queue, with an admin, reached by plain http (as
    test_desk.py's desk_client): the caller signs for that address."""
    settings = voice_settings(tmp_path, settings_factory, voice=ADMIN)
    return await app_factory(dataclasses.replace(settings, http=dataclasses.replace(settings.http, public_base_url="")))


async def queued_caller(client: Client, said: str = "") -> Caller:
    """A caller who pressed 2 for support (having first ``said`` something, which is no
    choice) and keyed in their account number."""
    caller = Caller(client, base=client.app[SERVICES].settings.public_base_url)
    menu = await caller.dial()
    if said:
        menu = await caller.answer(menu, speech=said)
    account = await caller.answer(menu, "2")
    assert verbs(await caller.answer(account, ACCOUNT))[-1] == "Enqueue"
    return caller


async def on_the_call(client: Client, caller: Caller) -> str:
    """Alice takes the caller's call through the API, and the conference is on: its id."""
    alice = await login(client, "alice")
    await set_status(client, alice, "available")
    interaction_id = str((await accept_first(client, alice))["id"])
    await conference_started(caller, interaction_id)
    return interaction_id


@pytest.mark.parametrize("size", SIZES)
async def test_a_call_rings_shows_its_ivr_steps_and_its_hang_up_and_is_completed(
    calls_client: Client, browser: Browser, twilio_stub: TwilioStub, tmp_path: Path, size: str
) -> None:
    context, page, problems = await signed_in(browser, calls_client, size)
    caller = await queued_caller(calls_client, said=SAID)
    toast = page.get_by_role("article", name="Call from +15551230001")
    await expect(toast).to_be_visible(timeout=WAIT_MS)
    await looks_right(page, tmp_path / f"{size}-call-offer.png")

    await page.keyboard.press("Alt+a")
    heading = page.locator("#conversation-heading")
    await expect(heading).to_have_text("Call with +15551230001", timeout=WAIT_MS)
    await expect(heading).to_be_focused()
    await expect(page.get_by_text("No Twilio account is configured for calls in the browser")).to_be_visible(
        timeout=WAIT_MS
    )
    steps = page.get_by_role("list", name="Transcript")
    await expect(steps.locator(".event.ivr .what")).to_have_text(
        [
            "Played prompt welcome",
            "Played prompt menu",
            "Caller said",
            "Not a choice (attempt 1)",
            "Played prompt invalid",
            "Played prompt menu",
            "Caller pressed 2",
            "Menu choice 2: account",
            "Played prompt account",
            "Caller pressed 12345678",
            "Collected account: 12345678",
            "Lookup: not found",
            "Hours: support is open",
            "Queued in support",
        ],
        timeout=WAIT_MS,
    )
    await expect(steps.locator(".message.inbound")).to_contain_text("The call came in.")
    await expect(steps.locator(".event.ivr time")).to_have_count(14)
    await expect(steps.locator(".event.ivr .body")).to_have_text([SAID])
    assert await page.locator("main b").count() == 0
    await expect(page.get_by_role("textbox", name="Reply by call")).to_have_count(0)
    assert await page.locator("form.reply").count() == 0
    await looks_right(page, tmp_path / f"{size}-call-accepted.png")

    await caller.hang_up()
    await expect(page.get_by_text("The caller hung up: complete it when you are done.")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator(".call-state .ended")).to_have_text("The caller hung up.")
    await expect(steps.locator(".event.call .what")).to_have_text(
        ["Ringing client:alice", "Call ended: completed", re.compile(r"^Talk ended after \d+ s$")]
    )
    await looks_right(page, tmp_path / f"{size}-call-ended.png")

    await page.keyboard.press("Alt+c")
    await page.get_by_label("Disposition").select_option("resolved")
    await page.get_by_role("button", name="Complete", exact=True).click()
    await expect(page.get_by_text("Completed: Resolved.")).to_be_visible(timeout=WAIT_MS)
    await looks_right(page, tmp_path / f"{size}-call-completed.png")
    assert problems == []
    await context.close()


async def test_an_agent_with_a_phone_is_told_calls_ring_it(
    calls_client: Client, browser: Browser, twilio_stub: TwilioStub
) -> None:
    ada = await login(calls_client, "ada")
    alice = await agent_id(calls_client, await login(calls_client, "alice"))
    changed = await calls_client.patch(f"/api/v1/agents/{alice}", json={"phone": ALICE_PHONE}, headers=ada)
    assert changed.status == 200, await changed.text()
    context, page, problems = await signed_in(browser, calls_client, "desk")
    await queued_caller(calls_client)
    await page.get_by_role("article", name="Call from +15551230001").get_by_role("button", name="Accept").click()
    await expect(page.get_by_text(f"Calls you accept ring your phone, {ALICE_PHONE}.")).to_be_visible(timeout=WAIT_MS)
    assert problems == []
    await context.close()


@pytest.mark.parametrize("size", SIZES)
async def test_a_supervisor_listens_whispers_and_barges_in_from_the_dashboard(
    calls_client: Client, browser: Browser, twilio_stub: TwilioStub, tmp_path: Path, size: str
) -> None:
    caller = await queued_caller(calls_client)
    context, page, problems = await open_page(browser, calls_client, "/supervisor/", size)
    await sign_in(page, "sam")
    # A call is never taken over (the service refuses that), waiting or with its agent:
    # only its transcript is offered beside.
    await page.get_by_label("Queue", exact=True).select_option("support")
    await page.get_by_role("button", name="Show waiting").click()
    await expect(page.get_by_role("button", name="Transcript")).to_have_count(1, timeout=WAIT_MS)
    await expect(page.get_by_role("button", name="Take over")).to_have_count(0)
    interaction_id = await on_the_call(calls_client, caller)
    await page.get_by_role("button", name="Work of alice").click()
    call = page.get_by_role("group", name=re.compile(r"^Join the call of alice's #1"))
    notice = page.locator(".board-notice")
    await expect(call).to_be_visible(timeout=WAIT_MS)
    await expect(page.get_by_role("button", name="Take over")).to_have_count(0)

    await call.get_by_role("button", name="Listen").click()
    await expect(notice).to_have_text(re.compile(r"^Listening: your line rings"), timeout=WAIT_MS)
    await expect(call.get_by_role("button", name="Listen")).to_have_attribute("aria-pressed", "true")
    [dialled] = [
        request
        for request in twilio_stub.sent("POST", f"/Conferences/{interaction_id}/Participants.json")
        if request.form["Label"] == "supervisor"
    ]
    assert (dialled.form["To"], dialled.form["Muted"], dialled.form["Coaching"]) == ("client:sam", "true", "false")
    await check(page, tmp_path, f"{size}-listening")

    async with calls_client.app[SERVICES].sessions() as session:
        call_row = await session.get(VoiceCall, caller.call_sid)
        assert call_row is not None and call_row.supervisor_call_sid is not None
    leg, agent_leg = call_row.supervisor_call_sid, call_row.agent_call_sid
    participant = f"/Conferences/{CONFERENCE_SID}/Participants/{leg}.json"
    await call.get_by_role("button", name="Whisper").click()
    await expect(notice).to_have_text(re.compile(r"^Whispering: the agent hears you"), timeout=WAIT_MS)
    assert twilio_stub.sent("POST", participant)[-1].form == {
        "Muted": "false",
        "Coaching": "true",
        "CallSidToCoach": agent_leg,
    }
    await call.get_by_role("button", name="Barge").click()
    await expect(notice).to_have_text(re.compile(r"^Barged in"), timeout=WAIT_MS)
    await expect(call.get_by_role("button", name="Barge")).to_have_attribute("aria-pressed", "true")
    await expect(call.get_by_role("button", name="Listen")).to_have_attribute("aria-pressed", "false")
    assert twilio_stub.sent("POST", participant)[-1].form == {"Muted": "false", "Coaching": "false"}
    await check(page, tmp_path, f"{size}-barged")
    assert problems == []
    await context.close()


@pytest.mark.parametrize("size", SIZES)
async def test_an_agent_holds_a_caller_and_hands_the_call_over_to_a_colleague_consulted(
    calls_client: Client, browser: Browser, twilio_stub: TwilioStub, tmp_path: Path, size: str
) -> None:
    context, page, problems = await signed_in(browser, calls_client, size)
    caller = await queued_caller(calls_client)
    await expect(page.get_by_role("article", name="Call from +15551230001")).to_be_visible(timeout=WAIT_MS)
    await page.keyboard.press("Alt+a")
    call = page.get_by_role("group", name="The call")
    await expect(call).to_be_visible(timeout=WAIT_MS)
    # Available once the call is alice's, so that it was offered to her.
    bob = await login(calls_client, "bob")
    await set_status(calls_client, bob, "available")
    stored = await caller.stored()
    assert stored is not None
    await conference_started(caller, stored.interaction_id)

    await call.get_by_text("Consult a colleague").click()
    await call.get_by_label("Colleague (the caller is held meanwhile)").select_option(label="bob")
    await call.get_by_role("button", name="Call them").click()
    await expect(call.get_by_text("Ringing bob…")).to_be_visible(timeout=WAIT_MS)
    await expect(call.get_by_role("button", name="Hold the caller")).to_have_attribute("aria-pressed", "true")
    [consult] = [r for r in twilio_stub.sent("POST", "/Participants.json") if r.form["Label"] == "consult"]
    assert consult.form["To"] == "client:bob"
    customer = f"/Conferences/{CONFERENCE_SID}/Participants/{caller.call_sid}.json"
    assert twilio_stub.sent("POST", customer)[-1].form["Hold"] == "true"

    # Bob answers: the desk learns it by itself, and offers the handover.
    row = await caller.stored()
    assert row is not None and row.consult_call_sid is not None
    answered = caller.form(CallSid=row.consult_call_sid, CallStatus="in-progress")
    await caller.note(f"/twilio/voice/participant?conference={stored.interaction_id}&label=consult", answered)
    hand_over = call.get_by_role("button", name="Hand over to bob")
    await expect(hand_over).to_be_visible(timeout=WAIT_MS)
    await looks_right(page, tmp_path / f"{size}-call-consulted.png")
    await hand_over.click()
    await expect(page.get_by_text("Handed over to bob.")).to_be_visible(timeout=WAIT_MS)
    assert twilio_stub.sent("POST", customer)[-1].form == {"Hold": "false"}
    assert (await accept_first(calls_client, bob))["id"] == stored.interaction_id
    assert problems == []
    await context.close()


async def test_the_mode_pressed_is_the_services_after_a_reload_and_until_the_leg_ends(
    calls_client: Client, browser: Browser, twilio_stub: TwilioStub, tmp_path: Path
) -> None:
    caller = await queued_caller(calls_client)
    interaction_id = await on_the_call(calls_client, caller)
    context, page, problems = await open_page(browser, calls_client, "/supervisor/", "desk")
    await sign_in(page, "sam")
    call = page.get_by_role("group", name=re.compile(r"^Join the call of alice's #1"))
    await page.get_by_role("button", name="Work of alice").click()
    await call.get_by_role("button", name="Listen").click()
    await expect(call.get_by_role("button", name="Listen")).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)

    # Read again from the service: still listening.
    await page.reload()
    await expect(page.locator(".link")).to_have_text("Live", timeout=WAIT_MS)
    await page.get_by_role("button", name="Work of alice").click()
    await expect(call.get_by_role("button", name="Listen")).to_have_attribute("aria-pressed", "true", timeout=WAIT_MS)
    await expect(call.locator("[aria-pressed=true]")).to_have_count(1)

    # Sam's line hangs up: Twilio reports the leg over, and the page lets go, unreloaded.
    async with calls_client.app[SERVICES].sessions() as session:
        call_row = await session.get(VoiceCall, caller.call_sid)
        assert call_row is not None and call_row.supervisor_call_sid is not None
    ended = f"/twilio/voice/participant?conference={interaction_id}&label=supervisor"
    await caller.note(ended, caller.form(CallSid=call_row.supervisor_call_sid, CallStatus="completed"))
    await expect(call.locator("[aria-pressed=true]")).to_have_count(0, timeout=WAIT_MS)
    await expect(call.get_by_role("button", name="Listen")).to_have_attribute("aria-pressed", "false")
    await check(page, tmp_path, "left-the-call")
    assert problems == []
    await context.close()
