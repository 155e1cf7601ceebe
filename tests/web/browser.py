"""What the browser tests of the service's pages share: a page opened in a fresh Chromium
context with what goes wrong on it recorded, keyboard moves, axe-core's serious findings
and the two window sizes every page must fit."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Locator, Page, Response, ViewportSize

from tests.support import Client

WAIT_MS = 10_000
SIZES: dict[str, ViewportSize] = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1280, "height": 800}}
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"


async def open_page(browser: Browser, client: Client, path: str, size: str) -> tuple[BrowserContext, Page, list[str]]:
    """A page in a fresh context, and what goes wrong on it as it goes."""
    context = await browser.new_context(viewport=SIZES[size])
    page = await context.new_page()
    problems: list[str] = []

    def refused(response: Response) -> None:
        if response.status >= 400:
            problems.append(f"{response.status}: {response.url}")

    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url} {request.failure}"))
    page.on("response", refused)
    await page.goto(str(client.make_url(path)))
    return context, page, problems


async def tab_to(page: Page, target: Locator, limit: int = 30) -> None:
    """Move the focus to ``target`` with the Tab key alone."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reaches {target}")


async def serious_violations(page: Page) -> list[str]:
    """What axe-core (vendored) finds serious or critical on the page as it stands."""
    if not await page.evaluate("typeof axe !== 'undefined'"):
        # Evaluated by the browser's debugging protocol, which the page's CSP does not govern.
        await page.evaluate(AXE.read_text())
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']]}"
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


async def fits(page: Page) -> bool:
    """Nothing runs off the side of the window (no sideways scrolling)."""
    return bool(await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
