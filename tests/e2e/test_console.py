"""Every tab in a real browser at a desktop and a phone width: a clean console, nothing too wide.

Headless Chromium (Playwright) against the session's ``streamlit run app.py`` server. For
each viewport the default page is opened and every detail tab visited in turn; the test fails
on any console message of type warning or error, on a request to another host (the page is
self-contained: its icon, fonts and scripts come from the app's own server), on a page wider
than the screen and on a chart that reaches beyond the viewport. A failing tab's screenshot goes
to pytest's temporary directory, never into the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.e2e.conftest import FIRST_PAGE_MS
from ui.tabs import LABELS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

VIEWPORTS: dict[str, dict[str, int]] = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}
"""The widths the page is checked at (a laptop, a common phone in portrait)."""

TOO_WIDE = """() => {
    const width = window.innerWidth;
    const charts = '.vega-embed, .vega-embed > svg, .vega-embed > canvas';
    const wide = [...document.querySelectorAll(charts)]
        .map(e => e.getBoundingClientRect())
        .filter(r => r.width > 0 && (r.left < -0.5 || r.right > width + 0.5))
        .map(r => [Math.round(r.left), Math.round(r.right)]);
    return {page: document.documentElement.scrollWidth, width, wide};
}"""
"""The page's scroll width, the viewport's width and the charts (boxes or drawings) beyond it."""


def settled(page: Page) -> None:
    """Wait until the script's rerun is over and every chart on the page is drawn."""
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=45_000)
    page.wait_for_function(
        "[...document.querySelectorAll('.vega-embed')].every(e => e.querySelector('svg, canvas'))",
        timeout=30_000,
    )
    page.wait_for_timeout(300)  # Vega logs while it renders, just after the element appears


def warnings_and_errors(messages: list[ConsoleMessage]) -> list[str]:
    """The warnings and errors among ``messages``: none is allowed, whoever logs it.

    (The headline metrics draw no sparkline: Streamlit's ``st.metric(chart_data=...)`` logged
    Vega's "Infinite extent" warning twice a render and cost ~0.3 s of drawing per rerun.)
    """
    return [f"{m.type}: {m.text}" for m in messages if m.type in ("warning", "error")]


def test_every_tab_logs_nothing_and_fits_the_screen(browser: Browser, server: str, tmp_path: Path):
    """Both widths in one session (the phone's pass resizes the page: no second page load)."""
    page = browser.new_page(viewport=VIEWPORTS["desktop"])
    page.set_default_timeout(30_000)
    messages: list[ConsoleMessage] = []
    elsewhere: list[str] = []
    page.on("console", lambda message: messages.append(message))
    page.on(
        "request",
        lambda request: (
            elsewhere.append(request.url) if not request.url.startswith(server) else None
        ),
    )
    problems: dict[str, object] = {}
    try:
        page.goto(server, wait_until="domcontentloaded")
        page.wait_for_selector('[data-testid="stMetricValue"]', timeout=FIRST_PAGE_MS)
        settled(page)
        for viewport, size in VIEWPORTS.items():
            page.set_viewport_size(size)
            for label in LABELS:
                tab = page.get_by_role("tab", name=label, exact=True)
                tab.click()
                expect(tab).to_have_attribute("aria-selected", "true")
                page.wait_for_timeout(200)  # let the rerun the click asks for begin
                settled(page)
                logged = warnings_and_errors(messages)
                print(f"{viewport} {label}: {len(logged)} console warnings or errors")
                messages.clear()
                fit = page.evaluate(TOO_WIDE)
                if logged:
                    problems[f"{viewport} {label}: console"] = logged
                if fit["page"] > fit["width"] or fit["wide"]:
                    problems[f"{viewport} {label}: too wide"] = fit
                if logged or fit["wide"]:
                    name = f"{viewport}-{label.replace(' ', '_')}.png"
                    page.screenshot(path=str(tmp_path / name), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()
    assert not problems, problems
    assert not elsewhere, f"requests to other hosts: {elsewhere}"
