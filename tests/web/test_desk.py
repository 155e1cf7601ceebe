"""The agent desktop (``/agent/``) in a real Chromium against the real service: an SMS
arrives through the signed Twilio webhook, its offer rings with a countdown and is taken
by keyboard; the customer's markup shows as text; the agent answers with a canned
response, adds a note and completes with a disposition; at a phone's size and a desk's,
axe-core clean and fitting the window at each step, with no console error or failed
request. Screenshots are left in each test's tmp_path."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from socket import SHUT_RDWR

import pytest
from playwright.async_api import Browser, BrowserContext, FilePayload, Page, expect
from twilio.request_validator import RequestValidator

from interaction_center.domain.model import Attachment
from interaction_center.settings.model import Settings
from interaction_center.web.keys import SERVICES
from tests.channels import test_email
from tests.channels.test_email import Relay
from tests.support import (
    AUTH_TOKEN,
    PASSWORDS,
    AppFactory,
    Client,
    agent_id,
    login,
    mail,
    next_frame,
    post_sms,
    routed,
    sms_form,
)
from tests.twilio_stub import TwilioStub
from tests.web.browser import SIZES, WAIT_MS, fits, open_page, serious_violations, tab_to

MARKUP = "<img src=x onerror=alert(1)> my card was charged twice"
CANNED = """
[[canned]]
shortcut = "sorry"
title = "Apology"
body = "Sorry for the trouble, this is {{agent.name}} from {{queue}}: I am on it."
"""


# The outbound mail relay the email tests use.
relay = test_email.relay


@pytest.fixture
async def desk_client(app_factory: AppFactory, settings_factory: Callable[..., Settings], relay: Relay) -> Client:
    """As pages_client (plain http, so the session cookie reaches 127.0.0.1), with a canned
    response, email (sent through the relay) and web chat in the support queue and two
    minutes' wrap-up."""
    settings = settings_factory(
        top=CANNED,
        support_channels='["sms", "email", "chat"]',
        support="wrap_up_seconds = 120",
        channels='[channels.chat]\nqueue = "support"',
        smtp=f'domains = ["example.com"]\nrelay_host = "127.0.0.1"\nrelay_port = {relay.port}\n'
        'from_address = "support@example.com"',
    )
    return await app_factory(dataclasses.replace(settings, http=dataclasses.replace(settings.http, public_base_url="")))


async def text_in(client: Client, body: str, sender: str = "+15551230001") -> None:
    """An SMS through the Twilio webhook, signed for the address the service takes for its
    own without a public base URL."""
    form = sms_form(sender=sender, body=body)
    url = client.app[SERVICES].settings.public_base_url + "/twilio/sms"
    response = await post_sms(client, form, RequestValidator(AUTH_TOKEN).compute_signature(url, form))
    assert response.status == 200, await response.text()


async def signed_in(
    browser: Browser,
    client: Client,
    size: str,
    username: str = "alice",
    prepare: Callable[[BrowserContext], Awaitable[None]] | None = None,
) -> tuple[BrowserContext, Page, list[str]]:
    """The desktop opened, signed in by keyboard and available, as an agent starts the
    day; with what goes wrong on the page (open_page). ``prepare``: what the context needs
    before the desk starts (a stand-in for a server the page reaches)."""
    context, page, problems = await open_page(browser, client, "/agent/", size)
    if prepare is not None:
        await prepare(context)
    await tab_to(page, page.get_by_label("Username"))
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORDS[username])
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Live: offers arrive here.")).to_be_visible(timeout=WAIT_MS)
    await page.get_by_role("radio", name="Available").check()
    await page.get_by_role("button", name="Set status").click()
    await expect(page.locator(".current .status")).to_have_text("Available", timeout=WAIT_MS)
    return context, page, problems


async def take_by_keyboard(page: Page, offer: str | re.Pattern[str] = "SMS from +15551230001") -> None:
    """Alt+A once the offer rings: its frame reaches the page a moment after routing made it."""
    await expect(page.get_by_role("article", name=offer)).to_be_visible(timeout=WAIT_MS)
    await page.keyboard.press("Alt+a")


async def looks_right(page: Page, shot: Path) -> None:
    assert await serious_violations(page) == []
    assert await fits(page)
    await page.screenshot(path=shot, full_page=True)


@pytest.mark.parametrize("size", SIZES)
async def test_an_sms_rings_is_taken_by_keyboard_answered_noted_and_completed(
    desk_client: Client, browser: Browser, twilio_stub: TwilioStub, tmp_path: Path, size: str
) -> None:
    context, page, problems = await signed_in(browser, desk_client, size)
    await looks_right(page, tmp_path / f"{size}-signed-in.png")

    await text_in(desk_client, MARKUP)
    toast = page.get_by_role("article", name="SMS from +15551230001")
    await expect(toast).to_be_visible(timeout=WAIT_MS)
    countdown = toast.locator(".countdown")
    first = await countdown.text_content()
    assert first is not None and re.fullmatch(r"\d+ s left", first)
    await expect(countdown).not_to_have_text(first, timeout=WAIT_MS)  # it counts down
    await expect(toast).to_contain_text(MARKUP)
    await looks_right(page, tmp_path / f"{size}-offer.png")

    await page.keyboard.press("Alt+a")
    reply = page.get_by_label("Reply by SMS")
    await expect(reply).to_be_focused(timeout=WAIT_MS)
    await expect(toast).to_have_count(0)
    transcript = page.get_by_role("list", name="Transcript")
    await expect(transcript).to_contain_text(MARKUP)
    assert await page.locator("img").count() == 0
    await looks_right(page, tmp_path / f"{size}-accepted.png")

    await page.keyboard.type("/sor")
    await tab_to(page, page.get_by_role("button", name="/sorry · Apology"), limit=5)
    await page.keyboard.press("Enter")
    canned = "Sorry for the trouble, this is alice from support: I am on it."
    await expect(reply).to_have_value(canned)
    await expect(reply).to_be_focused()
    await page.keyboard.press("Control+Enter")
    await expect(page.get_by_text("Reply sent.")).to_be_visible(timeout=WAIT_MS)
    await expect(transcript.locator(".message.outbound")).to_contain_text(canned)
    assert [r.form["Body"] for r in twilio_stub.sent("POST", "Messages.json")] == [canned]

    await page.get_by_text("Internal note").click()
    await page.get_by_label("Note for the agents").fill("Refund of 40 filed")
    await page.get_by_role("button", name="Add note").click()
    await expect(transcript.locator(".event.note")).to_contain_text("Refund of 40 filed", timeout=WAIT_MS)
    await looks_right(page, tmp_path / f"{size}-noted.png")

    await page.keyboard.press("Alt+c")
    disposition = page.get_by_label("Disposition")
    await expect(disposition).to_be_focused()
    await disposition.select_option("complaint")
    await page.get_by_role("button", name="Complete", exact=True).click()
    await expect(page.get_by_role("alert")).to_have_text("Complaint needs a wrap-up note.")
    await expect(page.get_by_label("Wrap-up note")).to_be_focused()
    await page.keyboard.type("Refunded the double charge")
    await page.get_by_role("button", name="Complete", exact=True).click()
    await expect(page.get_by_text("Completed: Complaint.")).to_be_visible(timeout=WAIT_MS)
    await expect(page.get_by_role("heading", name="Wrap-up")).to_be_focused()
    await expect(page.locator(".current .status")).to_have_text("Wrap-up")
    # It counts down from the queue's 120 s, to the end the service tells.
    await expect(page.locator(".wrap-up .countdown")).to_have_text(re.compile(r"^1[01]\d s left$"), timeout=WAIT_MS)
    await looks_right(page, tmp_path / f"{size}-completed.png")
    await page.get_by_role("button", name="Extend by 60 s").click()
    await expect(page.locator(".wrap-up .countdown")).to_have_text(re.compile(r"^1\d\d s left$"), timeout=WAIT_MS)
    await page.get_by_role("button", name="End now").click()
    await expect(page.locator(".current .status")).to_have_text("Available", timeout=WAIT_MS)
    await expect(page.get_by_role("heading", name="Wrap-up")).to_have_count(0)

    alice = await login(desk_client, "alice")
    work = await (await desk_client.get("/api/v1/work", headers=alice)).json()
    [done] = work["recent"]
    assert done["disposition"] == "complaint"
    assert problems == []
    await context.close()


async def test_a_dropped_socket_reconnects_keeps_the_typed_reply_and_new_work_rings(
    desk_client: Client, browser: Browser, tmp_path: Path
) -> None:
    context, page, problems = await signed_in(browser, desk_client, "desk")
    await text_in(desk_client, "Where is my parcel?")
    await take_by_keyboard(page)
    reply = page.get_by_label("Reply by SMS")
    await expect(reply).to_be_focused(timeout=WAIT_MS)
    await page.keyboard.type("Let me look that up for y")

    # The test kills the connection under the socket (no closing handshake, as a network
    # drop leaves it), and customers write while it is down: the desk opens it again by
    # itself, naming where its frames had got to in the event log, and gets what it missed
    # from there (the open conversation is not read again), and the new offer rings.
    services = desk_client.app[SERVICES]
    alice = await agent_id(desk_client, await login(desk_client, "alice"))
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    reads: list[str] = []
    page.on("request", lambda request: reads.append(request.url))
    for socket in list(services.hub._sockets[alice]):
        socket.get_extra_info("socket").shutdown(SHUT_RDWR)
    await text_in(desk_client, "Are you still there?")
    await text_in(desk_client, "Me too, I have a question", sender="+15551230002")
    await expect(page.get_by_role("article", name="SMS from +15551230002")).to_be_visible(timeout=WAIT_MS)
    await expect(page.get_by_text("Live: offers arrive here.")).to_be_visible()
    transcript = page.get_by_role("list", name="Transcript")
    await expect(transcript).to_contain_text("Are you still there?", timeout=WAIT_MS)
    await expect(reply).to_have_value("Let me look that up for y")
    assert re.search(r"/api/v1/ws\?interactions=\d+&agents=\d+$", sockets[0]), sockets
    assert not [url for url in reads if "/api/v1/interactions/" in url], reads
    await text_in(desk_client, "Hello? Anyone?")  # pushed live into the open conversation
    await expect(transcript).to_contain_text("Hello? Anyone?", timeout=WAIT_MS)
    await expect(transcript.get_by_text("Are you still there?")).to_have_count(1)
    await page.screenshot(path=tmp_path / "reconnected.png", full_page=True)

    # Even a reload keeps it: the draft is in the tab's session storage. Opened again from
    # the command bar.
    await page.reload()
    await expect(page.get_by_text("Live: offers arrive here.")).to_be_visible(timeout=WAIT_MS)
    await page.keyboard.press("Control+k")
    await expect(page.get_by_label("A command or a customer")).to_be_focused()
    await page.keyboard.type("open 0001")
    await expect(page.get_by_role("list", name="Commands found").get_by_role("button")).to_have_text(
        ["Open SMS with +15551230001"]
    )
    assert await serious_violations(page) == []
    await page.keyboard.press("Enter")
    await expect(page.get_by_label("Reply by SMS")).to_have_value("Let me look that up for y", timeout=WAIT_MS)
    assert problems == []
    await context.close()


async def test_a_conversation_a_supervisor_takes_over_leaves_the_desk_with_a_notice(
    desk_client: Client, browser: Browser
) -> None:
    context, page, problems = await signed_in(browser, desk_client, "desk")
    await text_in(desk_client, "Where is my parcel?")
    await take_by_keyboard(page)
    await expect(page.locator("#conversation-heading")).to_have_text("SMS with +15551230001", timeout=WAIT_MS)
    alice, sam = await login(desk_client, "alice"), await login(desk_client, "sam")
    work = await (await desk_client.get("/api/v1/work", headers=alice)).json()
    [held] = work["assigned"]

    taken = await desk_client.post(f"/api/v1/interactions/{held['id']}/take-over", headers=sam)
    assert taken.status == 200, await taken.text()
    await expect(page.get_by_text("The SMS with +15551230001 was taken over by a supervisor")).to_be_visible(
        timeout=WAIT_MS
    )
    await expect(page.locator("#conversation-heading")).to_have_count(0)
    await expect(page.locator(".work-list .item")).to_have_count(0)
    assert problems == []
    await context.close()


RECEIPT = b"%PDF-1.4" + b"receipt " * 255


async def mail_with(relay: Relay, text: str) -> EmailMessage:
    """The first mail the relay is given with ``text`` in it, waiting for it."""
    count = 1
    while text not in str(mail := await relay.next_mail(count)):
        count += 1
    return mail


async def test_an_email_and_an_sms_side_by_side_and_the_customer_edited_found_and_merged(
    desk_client: Client, browser: Browser, relay: Relay, tmp_path: Path
) -> None:
    context, page, problems = await signed_in(browser, desk_client, "desk")
    services = desk_client.app[SERVICES]
    email = dataclasses.replace(
        mail("<m1@customer.test>"),
        body="Where is my order?\n\nOn Monday, Jane wrote:\n> I ordered a lamp",
        attributes={"subject": "Order 42", "html": "<p>Where is <b>my</b> order?</p>"},
        files=(Attachment("receipt.pdf", "application/pdf", RECEIPT),),
    )
    await services.intake.receive(email, "support")
    await routed(desk_client)
    toast = page.get_by_role("article", name="Email from jane@customer.test")
    await toast.get_by_role("button", name="Accept").click()
    heading = page.locator("#conversation-heading")
    await expect(heading).to_have_text("Email with jane@customer.test", timeout=WAIT_MS)
    transcript = page.get_by_role("list", name="Transcript")
    await expect(transcript.locator(".subject")).to_have_text("Order 42")
    quoted = transcript.locator("details.quoted")
    await expect(quoted).not_to_have_attribute("open", "")
    await expect(quoted).to_contain_text("> I ordered a lamp")
    files = transcript.get_by_role("list", name="Attachments")
    await expect(files).to_have_text("receipt.pdf (application/pdf, 2 KB)")
    # Kept with the mail: saved from the transcript as it came.
    async with page.expect_download() as saving:
        await files.get_by_role("link", name="receipt.pdf").click()
    receipt = await saving.value
    assert receipt.suggested_filename == "receipt.pdf"
    assert Path(await receipt.path()).read_bytes() == RECEIPT
    frame = transcript.locator("iframe")
    await expect(frame).to_have_attribute("sandbox", "")
    await transcript.get_by_text("The mail as sent (HTML)").click()
    await expect(page.frame_locator("iframe").locator("b")).to_have_text("my")
    await page.get_by_label("Reply by email").fill("It left on Monday: the receipt attached.")
    label: FilePayload = {"name": "label.txt", "mimeType": "text/plain", "buffer": b"parcel 42"}
    await page.get_by_label("Attach files").set_input_files(label)
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_text("Reply sent.")).to_be_visible(timeout=WAIT_MS)
    await expect(transcript.locator(".message.outbound")).to_contain_text("label.txt (text/plain, 1 KB)")
    async with page.expect_download() as saving:
        await transcript.locator(".message.outbound").get_by_role("link", name="label.txt").click()
    assert Path(await (await saving.value).path()).read_bytes() == b"parcel 42"
    sent = await mail_with(relay, "It left on Monday")
    assert sent["Subject"] == "Re: Order 42"
    assert [part.get_filename() for part in sent.iter_attachments()] == ["label.txt"]

    await text_in(desk_client, "Also: my number is this one")
    await take_by_keyboard(page)
    await expect(heading).to_have_text("SMS with +15551230001", timeout=WAIT_MS)
    tabs = page.get_by_role("navigation", name="Open conversations")
    await expect(tabs.get_by_role("button")).to_have_text(["jane@customer.test", "+15551230001"])
    await page.keyboard.press("Alt+n")
    await expect(heading).to_have_text("Email with jane@customer.test", timeout=WAIT_MS)
    await expect(heading).to_be_focused()
    await looks_right(page, tmp_path / "side-by-side.png")

    panel = page.locator("section.customer")
    await panel.get_by_text("Edit the name").click()
    await panel.get_by_label("Name").fill("Jane Doe")
    await panel.get_by_role("button", name="Save").click()
    await expect(panel.get_by_role("heading", name="Jane Doe")).to_be_visible(timeout=WAIT_MS)
    await expect(page.get_by_role("navigation", name="My work")).to_contain_text("Jane Doe")

    await panel.get_by_text("Find and merge another record").click()
    await panel.get_by_label("Search by").select_option("phone")
    await panel.get_by_label("Look for").fill("(555) 123-0001")
    await panel.get_by_role("button", name="Search").click()
    await panel.get_by_role("button", name="Merge into this customer").click()
    await expect(page.get_by_text("The records are merged.")).to_be_visible(timeout=WAIT_MS)
    await expect(panel.get_by_role("list", name="Identities")).to_contain_text("phone: +15551230001")
    await expect(panel.get_by_role("button", name="Merge into this customer")).to_have_count(0)
    await expect(tabs.get_by_role("button")).to_have_text(["Jane Doe", "Jane Doe"])
    await looks_right(page, tmp_path / "merged.png")
    await panel.get_by_role("button", name="Undo this merge").click()
    await expect(page.get_by_text("The merge is undone.")).to_be_visible(timeout=WAIT_MS)
    await expect(panel.get_by_role("list", name="Identities")).not_to_contain_text("+15551230001")
    assert problems == []
    await context.close()


async def resume_and_take_again(page: Page) -> None:
    """A conversation set aside taken up again: back in the queue reserved for the agent,
    offered to them again and accepted."""
    await page.get_by_role("button", name="Resume now").click()
    await take_by_keyboard(page)
    await expect(page.get_by_label("Reply by SMS")).to_be_focused(timeout=WAIT_MS)


async def test_held_resumed_and_transferred_with_a_note_that_rings_on_another_desk(
    desk_client: Client, browser: Browser, tmp_path: Path
) -> None:
    context, page, problems = await signed_in(browser, desk_client, "desk")
    other, carol, carol_problems = await signed_in(browser, desk_client, "phone", "carol")
    await page.keyboard.press("Alt+/")
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(shortcuts).to_contain_text("Accept the oldest offer")
    assert await serious_violations(page) == []
    await page.keyboard.press("Escape")
    await expect(shortcuts).to_be_hidden()

    await text_in(desk_client, "Can you check my bill?")
    await take_by_keyboard(page)
    await expect(page.get_by_label("Reply by SMS")).to_be_focused(timeout=WAIT_MS)
    await page.get_by_text("Hold or snooze").click()
    await page.get_by_role("button", name="Hold until the customer answers").click()
    await expect(page.get_by_text("On hold until the customer answers.")).to_be_visible(timeout=WAIT_MS)
    work = page.get_by_role("navigation", name="My work")
    await expect(work.locator("li", has_text="set aside")).to_have_count(1)
    await resume_and_take_again(page)

    await page.get_by_text("Hold or snooze").click()
    tomorrow = datetime.now() + timedelta(days=1)
    await page.get_by_label("Snooze until").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    await page.get_by_role("button", name="Snooze", exact=True).click()
    await expect(page.get_by_text("Snoozed.")).to_be_visible(timeout=WAIT_MS)
    set_aside = page.locator(".work-actions")
    await expect(set_aside).to_contain_text(f"Set aside until {tomorrow:%b} {tomorrow.day}, {tomorrow.year}")
    await resume_and_take_again(page)

    await page.locator("summary", has_text="Transfer").click()
    await page.get_by_label("To a queue or an agent").select_option("sales")
    await page.get_by_label("Note for the next agent").fill("Billing question, <b>urgent</b>")
    await page.get_by_role("button", name="Transfer", exact=True).click()
    await expect(page.get_by_text("Transferred to sales.")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#work-heading")).to_be_focused()

    toast = carol.get_by_role("article", name="SMS from +15551230001")
    await expect(toast).to_contain_text("Transfer note: Billing question, <b>urgent</b>", timeout=WAIT_MS)
    assert await carol.locator("b").count() == 0
    await looks_right(carol, tmp_path / "transferred-phone.png")
    await toast.get_by_role("button", name="Accept").click()
    transcript = carol.get_by_role("list", name="Transcript")
    await expect(transcript.locator(".event.transfer")).to_contain_text("Billing question", timeout=WAIT_MS)
    await looks_right(carol, tmp_path / "carol-phone.png")
    await carol.get_by_role("button", name="Back to my work").click()
    await expect(carol.locator("#work-heading")).to_be_focused()
    assert problems == [] and carol_problems == []
    await context.close()
    await other.close()


async def test_a_chat_is_live_both_ways_with_typing(desk_client: Client, browser: Browser, tmp_path: Path) -> None:
    context, page, problems = await signed_in(browser, desk_client, "phone")
    visitor = await desk_client.ws_connect("/chat/ws")
    await visitor.send_json({"type": "start", "name": "Jane <i>Visitor</i>"})
    await next_frame(visitor, "started")
    await visitor.send_json({"type": "message", "client_id": "c1", "body": "Hi, <script>alert(1)</script>"})
    await next_frame(visitor, "ack")
    await routed(desk_client)
    await take_by_keyboard(page, re.compile("^Chat from"))
    reply = page.get_by_label("Reply by chat")
    await expect(reply).to_be_focused(timeout=WAIT_MS)
    transcript = page.get_by_role("list", name="Transcript")
    await expect(transcript).to_contain_text("Hi, <script>alert(1)</script>")
    await expect(page.locator("#conversation-heading")).to_have_text("Chat with Jane <i>Visitor</i>")
    assert await page.locator("main i, main script").count() == 0

    await visitor.send_json({"type": "typing"})
    await expect(page.get_by_text("The customer is typing…")).to_be_visible(timeout=WAIT_MS)
    await visitor.send_json({"type": "message", "client_id": "c2", "body": "Are you there?"})
    await expect(transcript).to_contain_text("Are you there?", timeout=WAIT_MS)
    await expect(page.get_by_text("The customer is typing…")).to_have_count(0)

    await page.keyboard.type("Yes, looking now")
    assert (await next_frame(visitor, "typing"))["from"] == "agent"
    await page.keyboard.press("Control+Enter")
    live = await next_frame(visitor, "message")
    assert (live["from"], live["body"]) == ("agent", "Yes, looking now")
    await looks_right(page, tmp_path / "chat-phone.png")
    await visitor.close()
    assert problems == []
    await context.close()
