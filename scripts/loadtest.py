"""Load test: many concurrent browser sessions against one real ``streamlit run`` server.

Starts the page (one torch thread, as deployed), opens ``--sessions`` separate browser contexts
(each its own Streamlit session) in one headless Chromium, and drives them all at once: every
session pins the first run, moves the alpha slider ``--changes`` times (each a retrain),
measuring the time from the key press to the page showing that alpha's result, pins again, runs a
small weight sweep (unless ``--no-sweeps``), and checks that its pinned-runs tab shows its two
pins and nobody else's. A pin click the page does not confirm within 30 s is clicked again, as a
person would, and counted. At the end it reports the latency median and 95th percentile, the
unconfirmed pin clicks, the errors seen (exception boxes, wrong pins, time-outs), and the
server's resident memory. Each error leaves a full-page screenshot and the page's text in an
artifacts folder (printed at the end; never inside the repository). Exits 1 if any error was
seen.

    .venv/bin/python scripts/loadtest.py --sessions 8 --changes 6
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve import CHROMIUM, CHROMIUM_ARGS, running_server

METRIC = '[data-testid="stMetric"]:has-text("Test MSE") [data-testid="stMetricValue"]'
"""Playwright selector of the test MSE's value (``:has-text`` is Playwright's, not the DOM's)."""
EXCEPTION = '[data-testid="stException"]'


@dataclass
class Session:
    """What one simulated visitor saw."""

    index: int
    artifacts: Path
    latencies: list[float] = field(default_factory=list)
    sweeps: list[float] = field(default_factory=list)
    clicks: int = 0
    lost_clicks: int = 0
    errors: list[str] = field(default_factory=list)


async def _failed(page: Page, session: Session, error: str) -> None:
    """Record ``error`` and keep what the page showed then (screenshot and text)."""
    n = len(session.errors)
    session.errors.append(f"session {session.index}: {error}")
    stem = session.artifacts / f"session{session.index}-error{n}"
    with contextlib.suppress(Exception):  # a closed page still leaves the error recorded
        await page.screenshot(path=f"{stem}.png", full_page=True)
        text = await page.locator('[data-testid="stMain"]').inner_text(timeout=5_000)
        stem.with_suffix(".txt").write_text(f"{error}\n\n{text}", encoding="utf-8")


async def _settled(page: Page) -> None:
    await page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)


async def _metric(page: Page) -> str:
    return (await page.locator(METRIC).first.inner_text()).strip()


async def _change_alpha(page: Page, steps: int, session: Session) -> None:
    """Move the alpha slider by ``steps`` and time the retrain until the page shows its result.

    Each key press can start a rerun of its own, so the first new metric may belong to an
    intermediate alpha. The change counts as done when the address bar (written in the same run,
    just before the metrics) holds the slider's final alpha and that run has finished.
    """
    await _settled(page)
    thumb = page.locator(".st-key-weighting-alpha input[type='range']")
    value = await thumb.input_value()
    await thumb.focus()
    key = "ArrowRight" if steps > 0 else "ArrowLeft"
    start = time.perf_counter()
    for _ in range(abs(steps)):
        await page.keyboard.press(key)
    target = await thumb.input_value()
    try:
        await page.wait_for_function(
            """(alpha) => {
                const weights = new URLSearchParams(location.search).get("weighting.weights");
                return weights !== null && Number(weights.split(",")[0]) === alpha;
            }""",
            arg=float(target),
            timeout=60_000,
        )
        await _settled(page)
        await _metric(page)
        session.latencies.append(time.perf_counter() - start)
    except Exception as error:  # a time-out is an error of the run, not of the script
        first_line = str(error).splitlines()[0]
        await _failed(page, session, f"no result for alpha {value} -> {target} ({first_line})")


async def _confirmed(page: Page, name: str, timeout: float) -> bool:
    """Whether the page confirms the pin ``name`` (its caption under the button) in time."""
    try:
        await page.wait_for_function(
            """(name) => {
                const main = document.querySelector('[data-testid="stMain"]');
                return main && main.innerText.includes(`Pinned “${name}”`);
            }""",
            arg=name,
            timeout=timeout * 1000,
        )
    except Exception:
        return False
    return True


async def _pin(page: Page, session: Session, name: str) -> None:
    """Pin the run on screen under ``name``, as a person would: click again if nothing happens.

    A click the page never confirms within 30 s is counted (``lost_clicks``) and repeated once;
    if the second one is not confirmed either, the session records an error.
    """
    await _settled(page)
    box = page.get_by_role("textbox", name="Pin as")
    await box.fill(name)
    await box.press("Enter")
    await _settled(page)
    button = page.get_by_role("button", name="Pin this run")
    session.clicks += 1
    await button.click()
    if not await _confirmed(page, name, 30):
        session.lost_clicks += 1
        await button.click()
        if not await _confirmed(page, name, 30):
            await _failed(page, session, f"pinning {name} was never confirmed")
    await _settled(page)


async def _sweep(page: Page, session: Session) -> None:
    """Run a small weight sweep (a different grid per session) and wait for its front."""
    await page.get_by_role("tab", name="Weight sweep").click()
    points = page.locator(".st-key-sweep-points input")
    await points.fill(str(11 + session.index))
    await points.press("Enter")
    await _settled(page)
    start = time.perf_counter()
    await page.get_by_role("button", name="Run the sweep").click()
    await page.get_by_text("on the Pareto front").first.wait_for(timeout=120_000)
    session.sweeps.append(time.perf_counter() - start)


async def _check_pins(page: Page, session: Session, sessions: int) -> None:
    """The pinned-runs tab shows this session's two pins and nobody else's."""
    await page.get_by_role("tab", name="Pinned runs").click()
    mine = [f"S{session.index}-A", f"S{session.index}-B"]
    try:  # the tab draws on a rerun: wait until its visible text names both pins
        await page.wait_for_function(
            """(names) => {
                const main = document.querySelector('[data-testid="stMain"]');
                return main && names.every((name) => main.innerText.includes(name));
            }""",
            arg=mine,
            timeout=60_000,
        )
    except Exception:
        await _failed(page, session, "its pins are not both shown")
    await _settled(page)
    text = await page.locator('[data-testid="stMain"]').inner_text()
    others = [f"S{j}-A" for j in range(sessions) if j != session.index]
    if any(name in text for name in others):
        await _failed(page, session, "sees another session's pins")


async def _visit(
    browser: Browser, url: str, session: Session, changes: int, sessions: int, sweeps: bool
) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1200})
    page = await context.new_page()
    page.set_default_timeout(120_000)
    try:
        await page.goto(url, wait_until="domcontentloaded")
        await page.locator(METRIC).first.wait_for(timeout=120_000)
        await _pin(page, session, f"S{session.index}-A")
        for i in range(changes):
            # distinct alphas per session, so sessions do not just hit each other's cache
            await _change_alpha(page, (session.index % 4) + 1 if i % 2 == 0 else -1, session)
        await _pin(page, session, f"S{session.index}-B")
        if sweeps:
            await _sweep(page, session)
        await _check_pins(page, session, sessions)
        await _settled(page)
        if await page.locator(EXCEPTION).count():
            await _failed(page, session, "an exception box is on the page")
    except Exception as error:
        await _failed(page, session, f"{type(error).__name__}: {str(error).splitlines()[0]}")
    finally:
        await context.close()


def _server_rss_mb(port: int) -> float:
    """Resident memory of the streamlit process serving ``port``, in MB (Linux /proc)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmdline) and str(port).encode() in cmdline:
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    return float("nan")


async def _main(sessions: int, changes: int, sweeps: bool) -> int:
    artifacts = Path(tempfile.mkdtemp(prefix="mtl-loadtest-"))
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as url:
        port = int(url.rsplit(":", 1)[1])
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            visitors = [Session(i, artifacts) for i in range(sessions)]
            start = time.perf_counter()
            await asyncio.gather(
                *(_visit(browser, url, s, changes, sessions, sweeps) for s in visitors)
            )
            wall = time.perf_counter() - start
            await browser.close()
        rss = _server_rss_mb(port)
    latencies = sorted(t for s in visitors for t in s.latencies)
    errors = [e for s in visitors for e in s.errors]
    print(f"{sessions} concurrent sessions x {changes} changes in {wall:.1f} s")
    if latencies:
        p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
        print(
            f"change -> updated metric: median {statistics.median(latencies):.2f} s, "
            f"95th percentile {p95:.2f} s over {len(latencies)} changes"
        )
    sweep_times = sorted(t for s in visitors for t in s.sweeps)
    if sweep_times:
        print(
            f"sweeps (11 to {10 + sessions} alphas x 3 seeds, concurrent): median "
            f"{statistics.median(sweep_times):.1f} s, slowest {sweep_times[-1]:.1f} s"
        )
    clicks, lost = sum(s.clicks for s in visitors), sum(s.lost_clicks for s in visitors)
    print(f"pin clicks the page never confirmed (clicked again): {lost} of {clicks}")
    runs = sum(len(s.latencies) + 1 for s in visitors)
    print(f"server resident memory after {runs} runs and {len(sweep_times)} sweeps: {rss:.0f} MB")
    print(f"errors: {len(errors)}")
    for error in dict.fromkeys(errors):  # each distinct error once
        print("  " + error)
    if errors:
        print(f"screenshots and page text of each error: {artifacts}")
    else:
        artifacts.rmdir()
    return 1 if errors else 0


def main() -> None:
    """Parse the arguments and run the load test."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--changes", type=int, default=6)
    parser.add_argument("--no-sweeps", action="store_true", help="only runs and pins")
    args = parser.parse_args()
    sys.exit(asyncio.run(_main(args.sessions, args.changes, not args.no_sweeps)))


if __name__ == "__main__":
    main()
