"""The page in a real browser: ``streamlit run app.py`` driven by headless Chromium (Playwright).

The server (the session's, :mod:`tests.e2e.conftest`) runs on a free port and is always stopped.
Its log and any failure screenshot go to pytest's temporary directory, never into the repository.

One page serves the whole module: loading the default page costs 7-20 s here, far more than
most checks. The tests run in the file's order, each from where the previous one left the page,
ordered so that each finds what it needs: the tabs, sweep, face-off and pin tests on the first
session (alpha at its default 0.5, which the sweep's member check needs), then the headline's
alpha test (0.5 -> 0.49). The alpha slider's test opens the default page again (a new session,
as before: see its docstring), and the shared link, which opens a session of its own, comes
last. Each test first waits for the page to settle.

If Chromium is missing or cannot start, the tests fail when the ``CI`` environment variable is
set; locally they are skipped only when ``/usr/bin/chromium`` is not installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, expect

import mtl
from mtl.urlstate import to_query
from mtl.weighting import METHODS
from tests.e2e.conftest import FIRST_PAGE_MS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

METRIC_VALUE = '[data-testid="stMetricValue"]'
CHARTS_DRAWN = "document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length"
SVG_DRAWINGS = """() => [...document.querySelectorAll('.vega-embed svg')].map(svg => [
    ...[...svg.querySelectorAll('path')].map(p => p.getAttribute('d')).sort(),
    ...[...svg.querySelectorAll('text')].map(t => t.textContent).sort(),
])"""
"""What each SVG chart on the page draws: its marks' paths and its texts (in a stable order)."""


@pytest.fixture(scope="module")
def shared_page(browser: Browser, server: str) -> Iterator[Page]:
    """The module's one page, opened on the default run with its metrics and charts drawn."""
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.set_default_timeout(30_000)
    open_default(page, server)
    yield page
    page.close()


@pytest.fixture
def page(shared_page: Page, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    """The shared page, with a screenshot in the test's temporary directory if the test fails."""
    yield shared_page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shared_page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)


def metric(page: Page, label: str) -> str:
    """The value shown by the metric whose label is ``label``."""
    box = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text(label, exact=True))
    return box.locator(METRIC_VALUE).inner_text()


def settled(page: Page) -> None:
    """Wait until the script has finished its rerun (the status widget is gone)."""
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=30_000)


def open_default(page: Page, server: str) -> None:
    """Open the default page in a new session (what the alpha tests changed is forgotten)."""
    page.goto(server, wait_until="domcontentloaded")
    page.wait_for_selector(METRIC_VALUE, timeout=FIRST_PAGE_MS)
    page.wait_for_function(f"{CHARTS_DRAWN} >= 2", timeout=45_000)
    settled(page)


def commit_number(page: Page, key: str, value: int) -> None:
    """Type ``value`` into the number box with widget key ``key`` and commit it (Enter)."""
    box = page.locator(f".st-key-{key.replace('.', '-')} input")
    box.fill(str(value))
    box.press("Enter")
    expect(box).to_have_value(str(value))
    settled(page)


def no_exception(page: Page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def test_page_renders_metrics_charts_and_no_exception(page: Page):
    settled(page)
    assert re.fullmatch(r"\d+\.\d+", metric(page, "Test MSE"))
    assert re.fullmatch(r"\d+\.\d%", metric(page, "Test accuracy"))
    assert page.evaluate(CHARTS_DRAWN) >= 2
    expect(page.get_by_role("tab", name="Gradient conflict")).to_be_visible()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_switching_tabs_draws_the_tab_without_errors(page: Page):
    settled(page)
    page.get_by_role("tab", name="Method", exact=True).click()
    expect(page.locator(".katex").first).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name="Gradient conflict").click()
    page.wait_for_function(f"{CHARTS_DRAWN} >= 3", timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_small_sweep_draws_its_pareto_chart(page: Page):
    settled(page)
    page.get_by_role("tab", name="Weight sweep").click()
    commit_number(page, "sweep.points", 5)
    commit_number(page, "sweep.seeds", 2)
    page.get_by_role("button", name="Run the sweep").click()
    expect(page.get_by_text(re.compile(r"of 10 members are on the Pareto front"))).to_be_visible(
        timeout=60_000
    )
    front = page.locator(".st-key-sweep-chart")
    expect(front.locator("canvas, svg").first).to_be_visible()
    expect(front.get_by_role("img").first).to_contain_text(re.compile("test MSE.*test accuracy"))
    expect(page.get_by_text(re.compile(r"^α = 0\.50 · seed 0"))).to_be_visible()  # its member
    no_exception(page)


def test_a_small_face_off_shows_its_table(page: Page):
    settled(page)
    page.get_by_role("tab", name="Method face-off").click()
    chosen = page.locator(".st-key-faceoff-methods")
    removable = chosen.get_by_role("button", name=re.compile("^Remove "))
    expect(removable).to_have_count(len(METHODS))  # every method by default
    none_chosen = page.get_by_text("Choose at least one method.")  # drawn by the rerun
    chosen.get_by_role("button", name="Clear all").click()  # one rerun, not one per method
    expect(none_chosen).to_be_visible(timeout=30_000)
    settled(page)
    for name in ("static", "mgda"):
        label = METHODS[name].label
        box = chosen.get_by_role("combobox", name="Methods")
        # typed first: the list filtered to a few options (a click on an option of the whole,
        # long list once landed while it was redrawn, and chose nothing)
        box.fill(label)
        page.get_by_role("option", name=label, exact=True).click()
        box.press("Escape")  # close the list (while open, the rest is hidden from roles)
        expect(chosen.get_by_role("button", name=f"Remove {label}")).to_be_visible(timeout=30_000)
        expect(none_chosen).to_have_count(0, timeout=30_000)  # the first choice's rerun is over
        page.wait_for_timeout(300)  # let the rerun the change asks for begin
        settled(page)
    expect(removable).to_have_count(2)
    commit_number(page, "faceoff.seeds", 2)
    page.get_by_role("button", name="Run the face-off").click()
    table = page.locator('[data-testid="stDataFrame"] table')
    expect(table).to_contain_text("MGDA", timeout=60_000)
    expect(table).to_contain_text("Static weights")
    expect(table).to_contain_text("±")
    expect(page.get_by_text("Positive is better than training each task alone")).to_be_visible()
    no_exception(page)


def test_a_pinned_run_shows_in_the_pinned_tab(page: Page):
    settled(page)
    name = page.get_by_role("textbox", name="Pin as")
    name.fill("My baseline")
    name.press("Enter")
    settled(page)
    page.get_by_role("button", name="Pin this run").click()
    settled(page)
    page.get_by_role("tab", name="Pinned runs").click()
    expect(page.locator('[data-testid="stDataFrame"] table')).to_contain_text("My baseline")
    expect(page.get_by_role("button", name="Unpin")).to_be_visible()
    no_exception(page)


def test_the_headline_alpha_and_the_sidebars_follow_each_other(page: Page):
    """Beside the chart, alpha moves the sidebar's slider and retrains; and the other way."""
    settled(page)
    headline = page.locator(".st-key-headline-alpha")
    sidebar = page.locator(".st-key-weighting-alpha")
    expect(headline.locator("input[type='range']")).to_have_value("0.5")
    headline_chart = page.locator('[data-testid="stVegaLiteChart"]').first  # drawn on a canvas
    expect(headline_chart.locator("canvas")).to_have_count(1)
    headline.locator("input[type='range']").press("ArrowRight")
    expect(sidebar.locator("input[type='range']")).to_have_value("0.51")
    expect(
        page.get_by_text("Weights in force: regression 0.51, classification 0.49")
    ).to_be_visible()
    for expected in ("0.5", "0.49"):  # one step at a time: each press is a rerun
        settled(page)
        sidebar.locator("input[type='range']").press("ArrowLeft")
        expect(headline.locator("input[type='range']")).to_have_value(expected, timeout=30_000)
    expect(
        page.get_by_text("Weights in force: regression 0.49, classification 0.51")
    ).to_be_visible()
    settled(page)
    assert "headline" not in page.url
    assert page.url.count("weighting.weights=") == 1
    no_exception(page)


def test_moving_the_alpha_slider_retrains_and_updates_the_metrics(
    page: Page, server: str, browser: Browser
):
    """Twenty quick key presses on the sidebar's alpha: the page retrains and shows new metrics.

    And every press counts once the reruns are over: both sliders and the run at 0.7. (Before
    :mod:`ui.weights_control` told a stale headline value from a move, a rerun replacing an
    unfinished one carried the headline slider's old value back into the sidebar, and alpha
    often ended at 0.5 with the headline slider somewhere between.)
    """
    open_default(page, server)
    before = metric(page, "Test MSE")
    drawn_before = page.evaluate(SVG_DRAWINGS)
    slider = page.locator(".st-key-weighting-alpha")
    thumb = slider.locator("input[type='range']")  # the slider's keyboard-focusable input
    expect(thumb).to_have_value("0.5")
    thumb.focus()
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    expect(thumb).to_have_value("0.7")
    expect(slider.get_by_test_id("stSliderThumbValue")).to_have_text("0.70")
    page.wait_for_function(
        """([selector, before]) => {
            const value = document.querySelector(selector);
            return value && value.innerText.trim() !== before;
        }""",
        arg=[METRIC_VALUE, before],
        timeout=30_000,
    )
    settled(page)
    assert metric(page, "Test MSE") != before
    expect(thumb).to_have_value("0.7")
    expect(page.locator(".st-key-headline-alpha input[type='range']")).to_have_value("0.7")
    expect(page.get_by_text("Weights in force: regression 0.7, classification 0.3")).to_be_visible()
    assert page.evaluate(CHARTS_DRAWN) >= 2
    assert page.locator('[data-testid="stException"]').count() == 0
    # The charts took the new run's data into the views they had (the spec is the same, see
    # ui.charting): they must draw what a page opened on that run draws from scratch.
    drawn = page.evaluate(SVG_DRAWINGS)
    assert len(drawn) >= 2 and drawn != drawn_before
    fresh = browser.new_page(viewport=page.viewport_size)
    fresh.goto(page.url, wait_until="domcontentloaded")
    expect(fresh.get_by_text("Weights in force: regression 0.7, classification 0.3")).to_be_visible(
        timeout=45_000
    )
    fresh.wait_for_function(f"{CHARTS_DRAWN} >= {page.evaluate(CHARTS_DRAWN)}", timeout=45_000)
    settled(fresh)
    assert fresh.evaluate(SVG_DRAWINGS) == drawn
    fresh.close()


def test_a_shared_link_opens_the_same_run(page: Page, server: str):
    cfg = mtl.preset("conflicting").with_(
        epochs=40, seed=5, **{"weighting.weights": (0.8, 0.2), "data.angle": 120.0}
    )
    row = mtl.train(cfg).summary.iloc[0]
    page.goto(f"{server}/?{urlencode(to_query(cfg))}", wait_until="domcontentloaded")
    box = page.locator('[data-testid="stMetric"]').filter(
        has=page.get_by_text("Test MSE", exact=True)
    )
    expect(box.locator(METRIC_VALUE)).to_have_text(f"{row['test_mse']:#.4g}", timeout=45_000)
    assert metric(page, "Test accuracy") == f"{row['test_accuracy']:.1%}"
    expect(page.get_by_role("spinbutton", name="Epochs")).to_have_value("40")
    expect(page.get_by_text("was adjusted")).to_have_count(0)
    no_exception(page)
