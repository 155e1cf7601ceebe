"""The supervisor dashboard in a real (headless) Chromium against the real service: the
queues' tiles live from the floor socket (an SMS taken in shows at once, a wait past the
answer target turns its tile), the wall-board mode, and a supervisor's actions from the
page (an agent's status; a waiting interaction's priority, queue, take-over and its
transcript, read-only and as text), each seen through the API. At a phone's size and a
desk's, with no console error, no failed request and nothing serious found by axe-core.
Screenshots are left in each test's tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from interaction_center.web.keys import SERVICES
from tests.support import PASSWORDS, Client, accept_first, agent_id, login, routed, set_status, sms
from tests.web.browser import SIZES, WAIT_MS, fits, open_page, serious_violations, tab_to
from tests.web.conftest import PagesFactory


async def sign_in(page: Page, username: str) -> None:
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORDS[username])
    await page.get_by_role("button", name="Sign in").click()
    # Signed in when the floor's socket is up.
    await expect(page.locator(".link")).to_have_text("Live", timeout=WAIT_MS)


async def check(page: Page, shots: Path, name: str) -> None:
    assert await serious_violations(page) == []
    assert await fits(page)
    await page.screenshot(path=shots / f"{name}.png", full_page=True)


async def arrives(client: Client, body: str = "Hello, I need help") -> None:
    """An SMS through intake, as the webhook hands it over, waiting in support."""
    await client.app[SERVICES].intake.receive(sms(body=body), "support")
    await routed(client)


@pytest.mark.parametrize("size", SIZES)
async def test_the_tiles_follow_the_floor_live_and_turn_when_the_target_is_missed(
    pages_client_factory: PagesFactory, browser: Browser, tmp_path: Path, size: str
) -> None:
    client = await pages_client_factory(answer_seconds=1)
    context, page, problems = await open_page(browser, client, "/supervisor/", size)
    await sign_in(page, "sam")
    tile = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="support · SMS"))
    await expect(tile.locator(".waiting")).to_have_text("0")
    await expect(tile).to_contain_text("On target (0:01)")
    await expect(page.get_by_role("heading", name="sales · SMS")).to_be_visible()
    await check(page, tmp_path, f"floor-{size}")

    await arrives(client)
    await expect(tile.locator(".waiting")).to_have_text("1", timeout=WAIT_MS)
    # Nobody is available: a second later it waits past the target, without a push.
    await expect(tile).to_contain_text("Target missed: waiting past 0:01", timeout=WAIT_MS)
    await expect(tile).to_have_class("tile missed")
    await expect(page.get_by_role("img", name="Waiting in support over the last hour")).to_be_visible()
    await expect(page.locator(".chart .summary").filter(has_text="support:")).to_contain_text("support: 1 waiting now")
    await check(page, tmp_path, f"missed-{size}")

    await page.get_by_role("button", name="Wall-board mode").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    await expect(page.get_by_role("heading", name="Agents")).to_be_hidden()
    assert "wallboard=1" in page.url
    await check(page, tmp_path, f"wallboard-{size}")
    assert problems == []
    await context.close()


async def test_a_wall_screen_opens_in_wall_board_mode_and_reconnects(
    pages_client: Client, browser: Browser, tmp_path: Path
) -> None:
    context, page, problems = await open_page(browser, pages_client, "/supervisor/?wallboard=1", "desk")
    await sign_in(page, "sam")
    await expect(page.get_by_role("button", name="Leave wall-board")).to_be_visible()
    await expect(page.get_by_role("heading", name="Agents")).to_be_hidden()
    # The service drops the page's socket (as a network would): the page says so, opens it
    # again and still follows the floor.
    sam = await agent_id(pages_client, await login(pages_client, "sam"))
    await pages_client.app[SERVICES].hub.close_owner(sam, 1012, b"restarting", lambda socket: True)
    await expect(page.locator(".link")).to_have_text("Reconnecting…", timeout=WAIT_MS)
    await expect(page.locator(".link")).to_have_text("Live", timeout=WAIT_MS)
    await arrives(pages_client)
    tile = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="support · SMS"))
    await expect(tile.locator(".waiting")).to_have_text("1", timeout=WAIT_MS)
    await page.get_by_role("button", name="Leave wall-board").click()
    await expect(page.get_by_role("heading", name="Agents")).to_be_visible()
    assert "wallboard" not in page.url
    await check(page, tmp_path, "back-from-wallboard")
    assert problems == []
    await context.close()


async def test_a_supervisor_acts_on_the_floor_from_the_page(
    pages_client: Client, browser: Browser, tmp_path: Path
) -> None:
    markup = "<b>bold</b><img src=x onerror=alert(1)>"
    await arrives(pages_client, markup)
    sam = await login(pages_client, "sam")
    bob = await agent_id(pages_client, await login(pages_client, "bob"))
    context, page, problems = await open_page(browser, pages_client, "/supervisor/", "desk")
    await sign_in(page, "sam")
    notice = page.locator(".board-notice")

    # By keyboard alone: to bob's status (offline), up to away, on to its button.
    await tab_to(page, page.get_by_label("New status for bob"))
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Set the state of bob")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(notice).to_have_text("bob is now Away.", timeout=WAIT_MS)
    seen = await (await pages_client.get(f"/api/v1/agents/{bob}", headers=sam)).json()
    assert seen["status"] == "away"
    await expect(page.get_by_role("row", name="bob").locator(".state")).to_have_text("Away", timeout=WAIT_MS)

    await page.get_by_label("Queue", exact=True).select_option("support")
    await page.get_by_role("button", name="Show waiting").click()
    await page.get_by_label("Priority of #1 (SMS)").fill("7")
    await (
        page.get_by_role("row")
        .filter(has=page.get_by_label("Priority of #1 (SMS)"))
        .get_by_role("button", name="Set")
        .click()
    )
    await expect(notice).to_have_text("Priority set to 7.", timeout=WAIT_MS)
    [waiting] = (await (await pages_client.get("/api/v1/queues/support/waiting", headers=sam)).json())["waiting"]
    assert waiting["priority"] == 7

    await page.get_by_role("button", name="Transcript").click()
    await expect(page.get_by_role("heading", name="Transcript (SMS, queued)")).to_be_focused(timeout=WAIT_MS)
    await expect(page.locator(".transcript .body")).to_have_text(markup)
    assert await page.locator(".transcript img, .transcript b").count() == 0
    await check(page, tmp_path, "transcript")
    await page.get_by_role("button", name="Close transcript").click()
    await expect(page.get_by_role("button", name="Transcript")).to_be_focused()

    await page.get_by_label("Move #1 (SMS) to").select_option("queue:sales")
    await page.get_by_role("button", name="Move").click()
    await expect(notice).to_have_text("Moved.", timeout=WAIT_MS)
    await expect(page.get_by_text("Nothing waits in support.")).to_be_visible()
    moved = (await (await pages_client.get("/api/v1/queues/sales/waiting", headers=sam)).json())["waiting"]
    assert [entry["interaction_id"] for entry in moved] == [waiting["interaction_id"]]

    await page.get_by_label("Queue", exact=True).select_option("sales")
    await page.get_by_role("button", name="Show waiting").click()
    await page.get_by_role("button", name="Take over").click()
    await expect(notice).to_have_text("Taken over: it is yours now.", timeout=WAIT_MS)
    taken = await (await pages_client.get(f"/api/v1/interactions/{waiting['interaction_id']}", headers=sam)).json()
    assert (taken["state"], taken["assigned_agent_id"]) == ("assigned", await agent_id(pages_client, sam))
    await check(page, tmp_path, "acted")
    assert problems == []
    await context.close()


async def test_a_supervisor_opens_what_an_agent_holds_and_takes_it_over(
    pages_client: Client, browser: Browser, tmp_path: Path
) -> None:
    markup = "<script>alert(1)</script>Where is my order?"
    alice, sam = await login(pages_client, "alice"), await login(pages_client, "sam")
    await set_status(pages_client, alice, "available")
    await arrives(pages_client, markup)
    held = await accept_first(pages_client, alice)
    context, page, problems = await open_page(browser, pages_client, "/supervisor/", "phone")
    await sign_in(page, "sam")

    await page.get_by_role("button", name="Work of alice").click()
    await expect(page.get_by_role("heading", name="Work of alice")).to_be_focused(timeout=WAIT_MS)
    work = page.get_by_role("region", name="Work of alice", exact=True)
    await expect(work.locator(".latest")).to_have_text(markup)
    await expect(work).to_contain_text("Working on")
    assert await page.locator(".work script").count() == 0
    await check(page, tmp_path, "work-phone")

    await work.get_by_role("button", name="Take over").click()
    await expect(page.locator(".board-notice")).to_have_text("Taken over: it is yours now.", timeout=WAIT_MS)
    await expect(page.get_by_text("alice holds nothing now.")).to_be_visible(timeout=WAIT_MS)
    taken = await (await pages_client.get(f"/api/v1/interactions/{held['id']}", headers=sam)).json()
    assert taken["assigned_agent_id"] == await agent_id(pages_client, sam)
    await page.get_by_role("button", name="Close", exact=True).click()
    await expect(page.get_by_role("button", name="Work of alice")).to_be_focused()
    assert problems == []
    await context.close()


async def test_the_waiting_list_follows_the_floor(pages_client: Client, browser: Browser, tmp_path: Path) -> None:
    await arrives(pages_client)
    context, page, problems = await open_page(browser, pages_client, "/supervisor/", "desk")
    await sign_in(page, "sam")
    queue = page.get_by_label("Queue", exact=True)
    await queue.select_option("support")
    await page.get_by_role("button", name="Show waiting").click()
    await expect(page.get_by_role("button", name="Transcript")).to_have_count(1, timeout=WAIT_MS)
    await queue.focus()

    # Alice takes it, through the API: the list empties with nothing pressed, and the
    # focus stays where it was.
    alice = await login(pages_client, "alice")
    await set_status(pages_client, alice, "available")
    await accept_first(pages_client, alice)
    await expect(page.get_by_text("Nothing waits in support.")).to_be_visible(timeout=WAIT_MS)
    await expect(queue).to_be_focused()
    await check(page, tmp_path, "followed")
    assert problems == []
    await context.close()


@pytest.mark.parametrize("size", SIZES)
async def test_each_agents_occupancy_and_work_follow_the_floor(
    pages_client: Client, browser: Browser, tmp_path: Path, size: str
) -> None:
    context, page, problems = await open_page(browser, pages_client, "/supervisor/", size)
    await sign_in(page, "sam")
    occupancy = page.get_by_role("row", name="alice").locator(".occupancy")
    await expect(occupancy).to_have_text("—")
    await page.get_by_role("button", name="Work of alice").click()
    work = page.get_by_role("region", name="Work of alice", exact=True)
    await expect(work).to_contain_text("alice holds nothing now.", timeout=WAIT_MS)

    # Alice, through the API, takes an SMS: one of her five SMS slots, and her work shows
    # it, with nothing pressed.
    alice = await login(pages_client, "alice")
    await set_status(pages_client, alice, "available")
    await expect(occupancy).to_have_text("0 %", timeout=WAIT_MS)
    await arrives(pages_client)
    await accept_first(pages_client, alice)
    await expect(occupancy).to_have_text("20 %", timeout=WAIT_MS)
    await expect(work).to_contain_text("Working on", timeout=WAIT_MS)
    await check(page, tmp_path, f"occupancy-{size}")
    assert problems == []
    await context.close()


async def test_a_half_typed_priority_keeps_its_row_until_the_supervisor_leaves_it(
    pages_client: Client, browser: Browser, tmp_path: Path
) -> None:
    for sender in ("+15551230001", "+15551230002"):
        await pages_client.app[SERVICES].intake.receive(sms(sender=sender), "support")
    await routed(pages_client)
    context, page, problems = await open_page(browser, pages_client, "/supervisor/", "desk")
    await sign_in(page, "sam")
    await page.get_by_label("Queue", exact=True).select_option("support")
    await page.get_by_role("button", name="Show waiting").click()
    second = page.get_by_label("Priority of #2 (SMS)")
    await second.fill("9")

    # The first is moved away meanwhile (as another supervisor would): the list read again shows once
    # the field is left, not under it (its row would go, or be another interaction's).
    other = await login(pages_client, "sam")
    [first, _] = (await (await pages_client.get("/api/v1/queues/support/waiting", headers=other)).json())["waiting"]
    moved = await pages_client.post(
        f"/api/v1/interactions/{first['interaction_id']}/move", json={"queue": "sales"}, headers=other
    )
    assert moved.status == 200, await moved.text()
    tile = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="support · SMS"))
    await expect(tile.locator(".waiting")).to_have_text("1", timeout=WAIT_MS)
    # What still waits keeps its row changing: the list is read again within a second.
    async with page.expect_response(lambda response: response.url.endswith("/queues/support/waiting")) as read:
        pass
    await read.value
    await page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    await expect(second).to_be_focused()
    assert await second.input_value() == "9"

    # Left, the list shows: the row typed in is that interaction's still (kept by key), now
    # #1, with what was typed and not set; nothing was set.
    await page.keyboard.press("Tab")
    await expect(second).to_have_count(0, timeout=WAIT_MS)
    await expect(page.get_by_label("Priority of #1 (SMS)")).to_have_value("9")
    [left] = (await (await pages_client.get("/api/v1/queues/support/waiting", headers=other)).json())["waiting"]
    assert left["priority"] == 0 and left["interaction_id"] != first["interaction_id"]
    await check(page, tmp_path, "left-the-field")
    assert problems == []
    await context.close()


async def test_a_focused_rows_button_stays_with_its_interaction_as_the_list_moves(
    pages_client: Client, browser: Browser, tmp_path: Path
) -> None:
    """Rows are kept by key: with the focus on #2's *Take over*, #1 leaves the queue and the
    list is read again; Enter then takes over the interaction that was #2, not the one that
    moved into its place."""
    intake = pages_client.app[SERVICES].intake
    taken = [await intake.receive(sms(sender=f"+1555123000{n}", body=f"Hello {n}"), "support") for n in (1, 2, 3)]
    await routed(pages_client)
    first, second, _ = (received.interaction_id for received in taken)
    context, page, problems = await open_page(browser, pages_client, "/supervisor/", "desk")
    await sign_in(page, "sam")
    await page.get_by_label("Queue", exact=True).select_option("support")
    await page.get_by_role("button", name="Show waiting").click()
    rows = page.get_by_role("region", name="Waiting interactions").locator("tbody tr")
    await expect(rows).to_have_count(3, timeout=WAIT_MS)
    await rows.nth(1).get_by_role("button", name="Take over").focus()

    sam = await login(pages_client, "sam")
    moved = await pages_client.post(f"/api/v1/interactions/{first}/move", json={"queue": "sales"}, headers=sam)
    assert moved.status == 200, await moved.text()
    await expect(rows).to_have_count(2, timeout=WAIT_MS)
    await page.keyboard.press("Enter")
    await expect(page.locator(".board-notice")).to_have_text("Taken over: it is yours now.", timeout=WAIT_MS)
    held = await (await pages_client.get("/api/v1/work", headers=sam)).json()
    assert [item["id"] for item in held["assigned"]] == [second]
    assert problems == []
    await context.close()
