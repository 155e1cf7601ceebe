"""A whole day in one browser test (issue 15's first acceptance point): a customer writes
from the chat page at a phone's size, markup and a script in the message; a supervisor
sees it wait and reads it, as text; agent A gets the offer ringing, accepts, answers with
a canned response, adds a note and transfers it to agent B by name with a note; B sees
the note in the ringing offer, accepts, answers and completes with a disposition; the
supervisor sees the agents' states move; the customer sees each reply live and rates the
chat, and the rating is in the interaction's events. Four browser contexts, each without
a console error or failed request, axe-core clean and fitting its window at the main
steps. Screenshots are left in tmp_path; with ``IC_SCREENSHOTS`` set to a folder, the
README's pictures are made there too, from this day:
``IC_SCREENSHOTS=docs/screenshots python -m pytest tests/web/test_whole_day.py -k sqlite``."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.channels import test_email
from tests.support import Client, interaction, login
from tests.web import test_desk
from tests.web.browser import WAIT_MS, fits, open_page, serious_violations
from tests.web.test_dashboard import sign_in
from tests.web.test_desk import looks_right, signed_in, take_by_keyboard

# desk_client's fixtures: chat, a canned response and wrap-up in support.
desk_client = test_desk.desk_client
relay = test_email.relay

MARKUP = "<img src=x onerror=alert(1)> <script>alert(2)</script> I was charged twice"
CANNED = "Sorry for the trouble, this is alice from support: I am on it."


async def _for_readme(page: Page, name: str) -> None:
    """The window as it stands, for README, when IC_SCREENSHOTS names a folder."""
    if folder := os.environ.get("IC_SCREENSHOTS"):
        # From the top, where the page begins, wherever the focus has scrolled it.
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=Path(folder) / name)


async def _lines(page: Page) -> list[str]:
    return [" ".join(text.split()) for text in await page.locator("#log .line").all_inner_texts()]


async def test_a_chat_goes_from_the_customer_through_two_agents_under_a_supervisors_eye(
    desk_client: Client, browser: Browser, tmp_path: Path
) -> None:
    client = desk_client
    floor, board, board_problems = await open_page(browser, client, "/supervisor/", "desk")
    await sign_in(board, "sam")
    tile = board.get_by_role("listitem").filter(has=board.get_by_role("heading", name="support · Chat"))
    await expect(tile.locator(".waiting")).to_have_text("0", timeout=WAIT_MS)

    # The customer writes; nobody is available yet, so it waits.
    phone, chat, chat_problems = await open_page(browser, client, "/chat/", "phone")
    await chat.get_by_label("Name (optional)").fill("Jane")
    await chat.get_by_role("button", name="Start chat").click()
    message = chat.get_by_label("Message", exact=True)
    await expect(message).to_be_focused(timeout=WAIT_MS)
    await message.fill(MARKUP)
    await message.press("Enter")
    await expect(chat.locator("#status")).to_contain_text("in the queue", timeout=WAIT_MS)
    await looks_right(chat, tmp_path / "customer-waiting.png")

    # The supervisor sees it wait and reads it: the markup is text.
    await expect(tile.locator(".waiting")).to_have_text("1", timeout=WAIT_MS)
    await board.get_by_label("Queue", exact=True).select_option("support")
    await board.get_by_role("button", name="Show waiting").click()
    await board.get_by_role("button", name="Transcript").click()
    await expect(board.locator(".transcript .body")).to_have_text(MARKUP, timeout=WAIT_MS)
    assert await board.locator(".transcript img, .transcript script").count() == 0
    await looks_right(board, tmp_path / "supervisor-waiting.png")
    await board.get_by_role("button", name="Close transcript").click()
    await _for_readme(board, "dashboard.png")

    # Agent A signs in, the offer rings, A takes it and answers with a canned response.
    desk_a, alice, alice_problems = await signed_in(browser, client, "desk", "alice")
    await expect(board.get_by_role("row", name="alice").locator(".state")).to_have_text("Available", timeout=WAIT_MS)
    await take_by_keyboard(alice, re.compile("^Chat from Jane"))
    reply = alice.get_by_label("Reply by chat")
    await expect(reply).to_be_focused(timeout=WAIT_MS)
    transcript = alice.get_by_role("list", name="Transcript")
    await expect(transcript).to_contain_text(MARKUP)
    assert await alice.locator("main img, main script").count() == 0
    await expect(tile.locator(".waiting")).to_have_text("0", timeout=WAIT_MS)
    await expect(chat.locator("#status")).to_contain_text("has joined the chat", timeout=WAIT_MS)
    await alice.keyboard.type("/sor")
    await alice.get_by_role("button", name="/sorry · Apology").click()
    await expect(reply).to_have_value(CANNED)
    await reply.press("Control+Enter")
    await expect(alice.get_by_text("Reply sent.")).to_be_visible(timeout=WAIT_MS)
    await expect(chat.locator("#log .line").last).to_contain_text(CANNED, timeout=WAIT_MS)
    await looks_right(alice, tmp_path / "agent-a-answered.png")

    await alice.get_by_text("Internal note").click()
    await alice.get_by_label("Note for the agents").fill("Double charge on the 3rd")
    await alice.get_by_role("button", name="Add note").click()
    await expect(transcript.locator(".event.note")).to_contain_text("Double charge on the 3rd", timeout=WAIT_MS)
    await _for_readme(alice, "desk.png")

    # Agent B comes in; A transfers the chat to B by name, with a note.
    desk_b, bob, bob_problems = await signed_in(browser, client, "phone", "bob")
    await expect(board.get_by_role("row", name="bob").locator(".state")).to_have_text("Available", timeout=WAIT_MS)
    await alice.locator("summary", has_text="Transfer").click()
    to = alice.get_by_label("To a queue or an agent")
    await expect(to.locator("option", has_text="bob")).to_have_count(1, timeout=WAIT_MS)
    assert await to.locator("option", has_text="alice").count() == 0
    await to.select_option(label="bob")
    await alice.get_by_label("Note for the next agent").fill("Refund <b>approved</b>, please confirm")
    await alice.get_by_role("button", name="Transfer", exact=True).click()
    await expect(alice.get_by_text("Transferred to bob.")).to_be_visible(timeout=WAIT_MS)

    toast = bob.get_by_role("article", name=re.compile("^Chat from Jane"))
    await expect(toast).to_contain_text("Transfer note: Refund <b>approved</b>, please confirm", timeout=WAIT_MS)
    await looks_right(bob, tmp_path / "agent-b-ringing.png")
    await toast.get_by_role("button", name="Accept").click()
    bob_reply = bob.get_by_label("Reply by chat")
    await expect(bob_reply).to_be_focused(timeout=WAIT_MS)
    await expect(bob.get_by_role("list", name="Transcript")).to_contain_text(MARKUP)
    assert await bob.locator("main img, main script, main b").count() == 0
    await bob.keyboard.type("Your refund is confirmed.")
    await bob.keyboard.press("Control+Enter")
    await expect(chat.locator("#log .line").last).to_contain_text("Your refund is confirmed.", timeout=WAIT_MS)

    await bob.keyboard.press("Alt+c")
    await bob.get_by_label("Disposition").select_option("resolved")
    await bob.get_by_role("button", name="Complete", exact=True).click()
    await expect(bob.get_by_text("Completed: Resolved.")).to_be_visible(timeout=WAIT_MS)
    await expect(board.get_by_role("row", name="bob").locator(".state")).to_have_text("Wrap-up", timeout=WAIT_MS)
    await looks_right(bob, tmp_path / "agent-b-completed.png")
    await looks_right(board, tmp_path / "supervisor-end.png")

    # The customer saw every line as text, and rates the chat.
    lines = await _lines(chat)
    assert lines[0] == "You " + MARKUP
    assert CANNED in lines[1] and "Your refund is confirmed." in lines[2]
    assert await chat.locator("#log img, #log script").count() == 0
    await expect(chat.get_by_role("group", name=re.compile("How did we do"))).to_be_visible(timeout=WAIT_MS)
    await _for_readme(chat, "widget.png")
    await chat.get_by_label("5", exact=True).check()
    await chat.get_by_role("button", name="Send rating").click()
    await expect(chat.locator("#status")).to_have_text("Thank you for your rating.", timeout=WAIT_MS)
    assert await serious_violations(chat) == [] and await fits(chat)
    await chat.screenshot(path=tmp_path / "customer-rated.png")

    bob_api = await login(client, "bob")
    [done] = (await (await client.get("/api/v1/work", headers=bob_api)).json())["recent"]
    events = (await interaction(client, bob_api, done["id"]))["events"]
    assert [event["data"]["score"] for event in events if event["type"] == "rated"] == [5]
    assert done["disposition"] == "resolved"
    assert board_problems == chat_problems == alice_problems == bob_problems == []
    for context in (floor, phone, desk_a, desk_b):
        await context.close()
