"""The agent desktop's and the supervisor dashboard's shell in a real (headless) Chromium
against the real service: signing in, switching status and signing out by keyboard alone,
at a phone's size and a desk's, with no console error, no failed request and nothing
serious or critical found by axe-core; text from the service shown as text; and the
headers every page and asset is served with. Screenshots are left in each test's tmp_path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from interaction_center.web.auth import SESSION_COOKIE
from interaction_center.web.pages import CACHE_FOREVER, REVALIDATE, security_headers
from tests.support import PASSWORDS, Client, login
from tests.web.browser import SIZES, WAIT_MS, fits, open_page, serious_violations, tab_to

CONTENT_SECURITY_POLICY = security_headers(browser_calls=False)["Content-Security-Policy"]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("path", "username"), [("/agent/", "alice"), ("/supervisor/", "sam")])
async def test_sign_in_switch_status_and_sign_out_by_keyboard_alone(
    pages_client: Client, browser: Browser, tmp_path: Path, path: str, username: str, size: str
) -> None:
    context, page, problems = await open_page(browser, pages_client, path, size)
    shot = f"{path.strip('/')}-{size}"
    username_box = page.get_by_label("Username")
    await expect(username_box).to_be_visible(timeout=WAIT_MS)
    await expect(page.get_by_text("Loading…")).to_have_count(0)
    assert await serious_violations(page) == []
    assert await fits(page)
    await page.screenshot(path=tmp_path / f"{shot}-sign-in.png", full_page=True)

    await tab_to(page, username_box)
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORDS[username])
    await page.keyboard.press("Enter")
    heading = page.get_by_role("heading", name="Your status")
    await expect(heading).to_be_focused(timeout=WAIT_MS)
    await expect(page.locator(".who")).to_contain_text(f"Signed in as {username}")
    status = page.locator(".current .status")
    await expect(status).to_have_text("Offline")
    [cookie] = await context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == (SESSION_COOKIE, True, "Strict")
    assert await page.evaluate("document.cookie") == ""  # out of scripts' reach

    # Into the status group at its checked radio, up to "Away", then a reason.
    await tab_to(page, page.get_by_role("radio", name="Offline"))
    await page.keyboard.press("ArrowUp")
    await expect(page.get_by_role("radio", name="Away")).to_be_checked()
    await tab_to(page, page.get_by_role("radio", name="Break"))
    await page.keyboard.press("ArrowDown")
    await tab_to(page, page.get_by_role("button", name="Set status"))
    await page.keyboard.press("Enter")
    await expect(status).to_have_text("Away (lunch)", timeout=WAIT_MS)
    # The status card's own live region (the dashboard has others: its link, its notices).
    own = page.get_by_role("region", name="Your status").get_by_role("status")
    await expect(own).to_have_text("Your status is now Away (lunch).")
    me = await (await pages_client.get("/api/v1/agents/me", headers=await login(pages_client, username))).json()
    assert (me["status"], me["status_reason"]) == ("away", "lunch")
    assert await serious_violations(page) == []
    assert await fits(page)
    await page.screenshot(path=tmp_path / f"{shot}-away.png", full_page=True)

    await tab_to(page, page.get_by_role("radio", name="Away"))
    await page.keyboard.press("ArrowUp")
    await expect(page.get_by_role("group", name="Reason")).to_have_count(0)
    await tab_to(page, page.get_by_role("button", name="Set status"))
    await page.keyboard.press("Enter")
    await expect(status).to_have_text("Available", timeout=WAIT_MS)

    await tab_to(page, page.get_by_role("button", name="Sign out"))
    await page.keyboard.press("Enter")
    await expect(username_box).to_be_focused(timeout=WAIT_MS)
    await expect(page.get_by_role("status")).to_have_text("You have signed out.")
    assert await context.cookies() == []
    assert problems == []
    await context.close()


async def test_the_supervisor_dashboard_tells_an_agent_where_to_go(pages_client: Client, browser: Browser) -> None:
    context, page, problems = await open_page(browser, pages_client, "/supervisor/", "desk")
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill(PASSWORDS["alice"])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Not for your role")).to_be_focused(timeout=WAIT_MS)
    await expect(page.get_by_role("link", name="Go to the agent desktop")).to_have_attribute("href", "/agent/")
    assert await page.get_by_role("radio").count() == 0
    assert await serious_violations(page) == []
    assert problems == []
    await context.close()


async def test_a_wrong_password_is_said_and_text_from_the_service_is_never_markup(
    pages_client: Client, browser: Browser
) -> None:
    markup = "<img src=x onerror=alert(1)>"
    alice = await login(pages_client, "alice")
    response = await pages_client.put(
        "/api/v1/agents/me/status", json={"status": "away", "reason": markup}, headers=alice
    )
    assert response.status == 200
    context, page, problems = await open_page(browser, pages_client, "/agent/", "phone")

    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill("not-her-password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("wrong username or password", timeout=WAIT_MS)
    await expect(page.get_by_label("Username")).to_be_focused()
    # The refused login, and nothing else.
    assert sorted(re.sub(r"http://[^/]+", "", problem) for problem in problems) == [
        "401: /api/v1/auth/session",
        "console: Failed to load resource: the server responded with a status of 401 (Unauthorized)",
    ]

    await page.get_by_label("Password").fill(PASSWORDS["alice"])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".current .status")).to_have_text(f"Away ({markup})", timeout=WAIT_MS)
    assert await page.locator("img").count() == 0
    await context.close()


async def test_pages_and_assets_carry_a_strict_policy_and_their_caching(pages_client: Client) -> None:
    expected = {
        "/agent/": ("text/html", REVALIDATE),
        "/supervisor/": ("text/html", REVALIDATE),
        "/assets/shell.js": ("text/javascript", REVALIDATE),
        "/assets/shell.css": ("text/css", REVALIDATE),
        "/assets/favicon.svg": ("image/svg+xml", REVALIDATE),
        "/assets/vendor/lit-html-3.3.3/lit-html.js": ("text/javascript", CACHE_FOREVER),
        "/assets/vendor/twilio-voice-sdk-2.18.5/twilio.min.js": ("text/javascript", CACHE_FOREVER),
        "/assets/sounds/incoming.wav": ("audio/wav", REVALIDATE),
    }
    for path, (content_type, caching) in expected.items():
        response = await pages_client.get(path)
        assert response.status == 200, path
        assert response.content_type == content_type, path
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == caching, path
    for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'"):
        assert directive in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY and "unsafe" not in CONTENT_SECURITY_POLICY
    # No browser phone here (no Twilio API key): nothing may be reached but the service.
    assert "connect-src" not in CONTENT_SECURITY_POLICY

    missing = await pages_client.get("/assets/vendor/lit-html-3.3.3/nothing.js")
    assert missing.status == 404 and missing.headers["Cache-Control"] == REVALIDATE
    for outside in (
        "/assets/%2e%2e/%2e%2e/pages.py",
        "/assets/vendor/lit-html-3.3.3/LICENSE",
        f"/assets/{'a' * 300}.js",
    ):
        assert (await pages_client.get(outside)).status == 404, outside
    moved = await pages_client.get("/agent", allow_redirects=False)
    assert (moved.status, moved.headers["Location"]) == (308, "/agent/")
