"""The chat widget as a visitor uses it, in a real (headless) Chromium against the real
service: embedded by its one script tag on another site's page (a second loopback origin)
at phone widths, and its chat page on its own; an agent answers over the API and the
agents' WebSocket."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, FilePayload, FrameLocator, Page, ViewportSize, expect

from interaction_center.settings.model import Settings
from tests.channels.conftest import CHAT
from tests.channels.test_chat import accept
from tests.support import AppFactory, Client, interaction, login, next_frame, set_status
from tests.web.browser import WAIT_MS, fits, open_page, serious_violations, tab_to

# The narrowest phone the widget is held to.
NARROW: ViewportSize = {"width": 360, "height": 740}
MARKUP = "<b>bold</b> <img src=x onerror=alert(1)>"


def _shop(chat_at: dict[str, str]) -> web.Application:
    """Another site's page with the widget's one script tag (where the chat is served is
    known only once the service runs, hence the dict)."""

    async def page(request: web.Request) -> web.Response:
        html = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><title>A shop</title>'
            '<link rel="icon" href="data:,"></head><body><main><h1>A shop</h1><p>Things for sale.</p></main>'
            f'<script src="{chat_at["url"]}chat/widget.js" async></script></body></html>'
        )
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    return app


Sites = tuple[Client, Client, Client]


@pytest.fixture
async def sites(app_factory: AppFactory, settings_factory: Callable[..., Settings]) -> AsyncIterator[Sites]:
    """The service, a shop it allows to embed the chat, and one it does not (the same page
    on another port: another origin)."""
    chat_at: dict[str, str] = {}
    allowed, refused = TestClient(TestServer(_shop(chat_at))), TestClient(TestServer(_shop(chat_at)))
    await allowed.start_server()
    await refused.start_server()
    origin = str(allowed.make_url("/").origin())
    channels = CHAT.format(grace=60) + f'\nallowed_origins = ["{origin}"]'
    # A chat answer target, which is the estimate of a wait before any chat was answered.
    target = "[queues.support.sla.chat]\nanswer_seconds = 120"
    service = await app_factory(settings_factory(channels=channels, support_channels='["sms", "chat"]', support=target))
    chat_at["url"] = str(service.make_url("/"))
    yield service, allowed, refused
    await allowed.close()
    await refused.close()


async def _agent_takes_the_chat(service: Client) -> tuple[dict[str, str], ClientWebSocketResponse, dict[str, Any]]:
    """Alice, on the agents' socket, becomes available and accepts the chat offered."""
    alice = await login(service, "alice")
    agent = await service.ws_connect("/api/v1/ws", headers=alice)
    await next_frame(agent, "hello")
    await set_status(service, alice, "available")
    accepted = await accept(service, alice, (await next_frame(agent, "offer"))["interaction_id"])
    return alice, agent, accepted


async def _lines(chat: FrameLocator | Page) -> list[str]:
    return [" ".join(text.split()) for text in await chat.locator("#log .line").all_inner_texts()]


async def test_embedded_on_an_allowed_site_a_visitor_chats_live_at_360px_and_a_reload_resumes(
    sites: Sites, browser: Browser, tmp_path: Path
) -> None:
    service, shop, _ = sites
    context, page, problems = await open_page(browser, shop, "/", "phone")
    await page.set_viewport_size(NARROW)
    launcher = page.get_by_role("button", name="Chat with us")
    await tab_to(page, launcher)
    assert await serious_violations(page) == []
    await page.keyboard.press("Enter")
    chat = page.frame_locator("#interaction-center-chat")

    # Enter in the name field starts the chat; the button is on screen and reachable too.
    await expect(chat.get_by_role("button", name="Start chat")).to_be_in_viewport(timeout=WAIT_MS)
    await chat.get_by_label("Name (optional)").fill("Jane")
    await chat.get_by_label("Name (optional)").press("Enter")
    message = chat.get_by_label("Message", exact=True)
    await expect(message).to_be_focused(timeout=WAIT_MS)
    await message.fill(MARKUP)
    await message.press("Enter")
    await expect(chat.locator("#log .line")).to_have_count(1, timeout=WAIT_MS)
    status = chat.locator("#status")
    # No answer yet, so the queue's chat answer target (120 s) is the estimate.
    await expect(status).to_have_text("You are next in the queue. Estimated wait: about 2 minutes.", timeout=WAIT_MS)
    assert await fits(page)
    await page.screenshot(path=tmp_path / "widget-queued.png")

    alice, agent, accepted = await _agent_takes_the_chat(service)
    await expect(status).to_have_text(re.compile(r".+ has joined the chat\.$"), timeout=WAIT_MS)

    # Typing both ways.
    await message.press_sequentially("Hel")
    assert (await next_frame(agent, "customer_typing"))["interaction_id"] == accepted["id"]
    await agent.send_json({"type": "typing", "interaction_id": accepted["id"]})
    await expect(chat.locator("#typing")).to_have_text(re.compile(r".+ is typing…$"), timeout=WAIT_MS)

    reply = await service.post(
        f"/api/v1/interactions/{accepted['id']}/messages", json={"body": "Let me look " + MARKUP}, headers=alice
    )
    assert reply.status == 201, await reply.text()
    await expect(chat.locator("#log .line")).to_have_count(2, timeout=WAIT_MS)
    assert (await _lines(chat))[1].endswith("Let me look " + MARKUP)
    # Markup stayed text: nothing of it became an element.
    assert await chat.locator("#log b, #log img").count() == 0
    await page.screenshot(path=tmp_path / "widget-answered.png")

    # Escape closes the frame and gives the focus back to the button, which opens it again.
    await page.keyboard.press("Escape")
    await expect(page.locator("#interaction-center-chat")).to_be_hidden(timeout=WAIT_MS)
    await expect(launcher).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#interaction-center-chat")).to_be_visible()

    # A reload of the shop's page opens the chat again on the same conversation.
    await page.reload()
    chat = page.frame_locator("#interaction-center-chat")
    await expect(chat.locator("#log .line")).to_have_count(2, timeout=WAIT_MS)
    lines = await _lines(chat)
    assert lines[0] == "You " + MARKUP and lines[1].endswith("Let me look " + MARKUP)
    assert await fits(page)

    # The agent completes the chat: the visitor is asked for a rating.
    done = await service.post(
        f"/api/v1/interactions/{accepted['id']}/complete", json={"disposition": "resolved"}, headers=alice
    )
    assert done.status == 200, await done.text()
    rating = chat.get_by_role("group", name=re.compile("How did we do"))
    await expect(rating).to_be_visible(timeout=WAIT_MS)
    await expect(chat.get_by_role("button", name="End chat")).to_be_hidden()
    # Still asked after a reload, as it is not rated yet.
    await page.reload()
    rating = page.frame_locator("#interaction-center-chat").get_by_role("group", name=re.compile("How did we do"))
    await expect(rating).to_be_visible(timeout=WAIT_MS)
    assert problems == []
    await agent.close()
    await context.close()


async def test_a_site_not_allowed_cannot_frame_the_chat(sites: Sites, browser: Browser) -> None:
    _, _, stranger = sites
    context, page, problems = await open_page(browser, stranger, "/", "phone")
    await page.get_by_role("button", name="Chat with us").click()
    # Chromium refuses the frame by the chat page's frame-ancestors, and says so.
    async with asyncio.timeout(WAIT_MS / 1000):
        while not any("frame-ancestors" in problem for problem in problems):
            await asyncio.sleep(0.05)
    assert await page.frame_locator("#interaction-center-chat").locator("#intro").count() == 0
    await context.close()


async def test_the_chat_page_alone_by_keyboard_is_axe_clean_at_each_step_and_ends_with_a_rating(
    sites: Sites, browser: Browser, tmp_path: Path
) -> None:
    service, _, _ = sites
    context, page, problems = await open_page(browser, service, "/chat/", "phone")
    name = page.get_by_label("Name (optional)")
    await expect(name).to_be_focused(timeout=WAIT_MS)
    assert await serious_violations(page) == []
    await page.keyboard.type("Jo")
    await tab_to(page, page.get_by_role("button", name="Start chat"))
    await page.keyboard.press("Enter")
    message = page.get_by_label("Message", exact=True)
    await expect(message).to_be_focused(timeout=WAIT_MS)
    await page.keyboard.type("Hello")
    await page.keyboard.press("Enter")
    await expect(page.locator("#status")).to_contain_text("in the queue", timeout=WAIT_MS)
    assert await serious_violations(page) == []
    await page.screenshot(path=tmp_path / "chat-queued.png")

    alice, agent, accepted = await _agent_takes_the_chat(service)
    await expect(page.locator("#status")).to_contain_text("has joined the chat", timeout=WAIT_MS)
    reply = await service.post(
        f"/api/v1/interactions/{accepted['id']}/messages", json={"body": "How can I help?"}, headers=alice
    )
    assert reply.status == 201, await reply.text()
    await expect(page.locator("#log .line")).to_have_count(2, timeout=WAIT_MS)
    assert await serious_violations(page) == []

    # A file, sent at once as the visitor's next message: the agent hears of it and saves it.
    photo: FilePayload = {"name": "broken <b>part</b>.png", "mimeType": "image/png", "buffer": b"\x89PNG" * 300}
    await page.get_by_label("Send a file (10 MB at most)").set_input_files(photo)
    await expect(page.locator("#status")).to_have_text("broken <b>part</b>.png is sent.", timeout=WAIT_MS)
    await expect(page.locator("#log .line .files")).to_have_text(["File: broken <b>part</b>.png (2 KB)"])
    pushed = await next_frame(agent, "message")
    [named] = pushed["message"]["attributes"]["attachments"]
    saved = await service.get(f"/api/v1/attachments/{named['id']}", headers=alice)
    assert (saved.status, await saved.read()) == (200, photo["buffer"])
    assert await serious_violations(page) == []
    await page.screenshot(path=tmp_path / "chat-file-sent.png")

    await tab_to(page, page.get_by_role("button", name="End chat"))
    await page.keyboard.press("Enter")
    first_score = page.get_by_label("1", exact=True)
    await expect(first_score).to_be_focused(timeout=WAIT_MS)
    assert await serious_violations(page) == []
    await page.keyboard.press("ArrowRight")
    await page.keyboard.press("ArrowRight")
    await page.keyboard.press("ArrowRight")
    await page.keyboard.press("ArrowRight")
    await page.get_by_label("Comment (optional)").fill(MARKUP)
    await tab_to(page, page.get_by_role("button", name="Send rating"))
    await page.keyboard.press("Enter")
    await expect(page.locator("#status")).to_have_text("Thank you for your rating.", timeout=WAIT_MS)
    assert await serious_violations(page) == []
    assert await fits(page)
    await page.screenshot(path=tmp_path / "chat-rated.png")

    events = (await interaction(service, alice, accepted["id"]))["events"]
    [rated] = [event for event in events if event["type"] == "rated"]
    assert rated["data"] == {"score": 5, "comment": MARKUP}
    assert "customer_ended" in [event["type"] for event in events]
    assert problems == []
    await agent.close()
    await context.close()
