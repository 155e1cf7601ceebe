"""The dashboard's admin pages in a real (headless) Chromium against the real service: an
admin creates an account (a weak password refused with the API's own words), deactivates
it, resets its password, and finds each of those in the audit log; a supervisor sees no
admin page. No console error beyond the refusal, nothing serious found by axe-core, no
sideways scrolling at either size."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.support import ADMIN, Client
from tests.web.browser import SIZES, WAIT_MS, open_page
from tests.web.conftest import PagesFactory
from tests.web.test_dashboard import check, sign_in

STRONG = "quartz-lantern-orbit-93"


@pytest.mark.parametrize("size", SIZES)
async def test_an_admin_manages_an_account_and_reads_the_audit_log(
    pages_client_factory: PagesFactory, browser: Browser, tmp_path: Path, size: str
) -> None:
    client = await pages_client_factory(top=ADMIN)
    context, page, problems = await open_page(browser, client, "/supervisor/", size)
    await sign_in(page, "ada")
    await page.get_by_role("link", name="Accounts").click()
    await expect(page.get_by_role("heading", name="Accounts")).to_be_focused(timeout=WAIT_MS)
    await expect(page.get_by_role("row", name="sam")).to_be_visible()
    await check(page, tmp_path, f"accounts-{size}")

    await page.get_by_label("Username").fill("dora")
    await page.get_by_label("Password", exact=True).fill("short")
    await page.get_by_label("Display name").fill("Dora")
    await page.get_by_label("Queues").fill("support")
    await page.get_by_label("Skills").fill("billing=4")
    await page.get_by_label("Capacity").fill("sms=3")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("alert")).to_contain_text("at least 12 characters", timeout=WAIT_MS)
    await check(page, tmp_path, f"weak-password-{size}")
    await page.get_by_label("Password", exact=True).fill(STRONG)
    await page.get_by_role("button", name="Create account").click()
    notice = page.locator(".board-notice")
    await expect(notice).to_have_text("Created Dora.", timeout=WAIT_MS)
    await expect(page.get_by_role("row", name="Dora")).to_contain_text("support")

    await page.get_by_role("button", name="Deactivate Dora").click()
    await expect(notice).to_have_text("Dora deactivated.", timeout=WAIT_MS)
    await expect(page.get_by_role("button", name="Reactivate Dora")).to_be_visible()
    refused = await client.post("/api/v1/auth/login", json={"username": "dora", "password": STRONG})
    assert (await refused.json())["error"]["code"] == "auth.deactivated"
    await page.get_by_role("button", name="Reactivate Dora").click()
    await expect(notice).to_have_text("Dora reactivated.", timeout=WAIT_MS)

    await page.get_by_role("button", name="Reset password of Dora").click()
    await expect(page.get_by_label("New password")).to_be_focused()
    await page.get_by_label("New password").fill(STRONG + "-renewed")
    await page.get_by_role("button", name="Reset password", exact=True).click()
    await expect(notice).to_have_text("Password of Dora reset.", timeout=WAIT_MS)
    renewed = await client.post("/api/v1/auth/login", json={"username": "dora", "password": STRONG + "-renewed"})
    assert renewed.status == 200

    await page.get_by_role("link", name="Audit log").click()
    await expect(page.get_by_role("heading", name="Audit log")).to_be_focused(timeout=WAIT_MS)
    actions = page.locator("tbody td:nth-child(3)")
    await expect(actions.first).to_be_visible(timeout=WAIT_MS)
    for action in (
        "POST /api/v1/agents",
        "POST /api/v1/agents/{agent_id}/deactivate",
        "POST /api/v1/agents/{agent_id}/reactivate",
        "PUT /api/v1/agents/{agent_id}/password",
    ):
        await expect(actions.filter(has_text=re.compile(f"^{re.escape(action)}$"))).not_to_have_count(0)
    await page.get_by_label("Who").select_option(label="ada")
    await page.get_by_role("button", name="Filter").click()
    await check(page, tmp_path, f"audit-{size}")
    # The weak password's refusal, and nothing else.
    assert [re.sub(r"http://[^/]+", "", problem) for problem in problems] == [
        "400: /api/v1/agents",
        "console: Failed to load resource: the server responded with a status of 400 (Bad Request)",
    ]
    await context.close()


async def test_a_supervisor_sees_no_admin_page(pages_client: Client, browser: Browser) -> None:
    context, page, problems = await open_page(browser, pages_client, "/supervisor/#accounts", "desk")
    await sign_in(page, "sam")
    await expect(page.get_by_role("heading", name="Queues")).to_be_visible()
    assert await page.get_by_role("link", name="Accounts").count() == 0
    assert await page.get_by_role("link", name="Audit log").count() == 0
    assert await page.get_by_role("heading", name="Accounts").count() == 0
    assert problems == []
    await context.close()
