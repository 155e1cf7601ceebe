"""The chat widget as a visitor uses it: the demo page in a real (headless) Chromium against
the real service, an agent answering over the API."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from tests.channels.test_chat import accept
from tests.support import Client, login, offered, set_status

WAIT_MS = 10_000


async def _agent_says(client: Client, headers: dict[str, str], interaction_id: str, body: str) -> None:
    response = await client.post(
        f"/api/v1/interactions/{interaction_id}/messages", json={"body": body}, headers=headers
    )
    assert response.status == 201, await response.text()


async def _log(page: Page) -> list[str]:
    return [text.strip() for text in await page.locator(".icc-log p").all_text_contents()]


async def test_a_visitor_chats_through_the_widget_and_a_reload_resumes_the_conversation(
    chat_client: Client, browser: Browser
) -> None:
    page = await browser.new_page()
    await page.goto(str(chat_client.make_url("/chat/")))
    status = page.locator(".icc-status")

    await page.get_by_placeholder("Your name").fill("Jane")
    await page.get_by_role("button", name="Start chat").click()
    await expect(status).to_have_text("Connected", timeout=WAIT_MS)
    await page.get_by_placeholder("Type a message").fill("My bill is wrong")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator(".icc-customer")).to_have_text("You: My bill is wrong", timeout=WAIT_MS)
    await expect(status).to_have_text("You are number 1 in the queue", timeout=WAIT_MS)

    alice = await login(chat_client, "alice")
    await set_status(chat_client, alice, "available")
    [offer] = await offered(chat_client, alice)
    accepted = await accept(chat_client, alice, offer["id"])
    await expect(status).to_have_text(re.compile(r".+ has joined the chat$"), timeout=WAIT_MS)

    # Agent messages are text, never markup.
    await _agent_says(chat_client, alice, accepted["id"], "Let me look <img src=x onerror=alert(1)>")
    agent_line = page.locator(".icc-agent")
    await expect(agent_line).to_contain_text("Let me look <img src=x onerror=alert(1)>", timeout=WAIT_MS)
    assert await page.locator(".icc-log img").count() == 0

    # A reload keeps the session (its token is in sessionStorage) and shows the history.
    await page.reload()
    await expect(status).to_have_text("Welcome back", timeout=WAIT_MS)
    await expect(page.locator(".icc-log p")).to_have_count(2, timeout=WAIT_MS)
    history = await _log(page)
    assert history[0] == "You: My bill is wrong"
    assert history[1].endswith(": Let me look <img src=x onerror=alert(1)>")

    response = await chat_client.post(
        f"/api/v1/interactions/{accepted['id']}/complete", json={"disposition": "resolved"}, headers=alice
    )
    assert response.status == 200
    await expect(status).to_have_text("The chat has ended. Write again to start a new one.", timeout=WAIT_MS)
    await page.close()
