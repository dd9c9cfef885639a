"""Latency a person feels: an alpha change until the page has finished updating, in a browser.

Starts a real ``streamlit run`` server (:mod:`scripts.serve`, one torch thread), opens the default
page in headless Chromium (Playwright, Debian's ``/usr/bin/chromium``), one session, and changes
alpha with the keyboard on the slider (one ArrowRight or ArrowLeft press: 0.01), waiting for the
page to settle after each change:

1. **New alpha** (``--changes`` presses to the right, 0.51, 0.52, ...): every value is trained for
   the first time, a cache miss, the honest figure.
2. **Cache hit** (as many presses alternating left and right over two values just trained): the
   run is found in the cache; what is left is the page's own work.

What is measured, in the page itself (``performance.now()``, no round trip to Playwright): from
the key press's event time to the last change the page made in response, i.e. the last DOM
mutation or canvas draw (a chart's repaint) after which the page stayed quiet for
``QUIET_MS``, with the status widget gone and the caption under the chart naming the new
weight. That is when the page has finished updating, the stale elements' fade cleared included.

Beside each browser figure, the server's script time of the same runs (the page is served
through ``bench/_timed_app.py``, which times every script run): the ratio page / script is what
the browser, the websocket and the rendering add to the computation.

``--floor`` also measures ``bench/_floor_app.py`` the same way, in the same sitting: a page with the
same slider, one metric, one chart and the caption, and nothing else. Its figure is what Streamlit's
round trip and redraw alone cost on this machine, the floor under any page's latency. The
benchmark also prints the default run's training time alone (best of 5, one torch thread, in this
process): a new alpha costs at least the floor plus that.

``--app PATH`` measures another checkout's ``app.py`` (e.g. the previous commit's, exported to a
temporary directory) with the same browser procedure, so before and after can be measured in one
sitting. The machine's load average is printed with the figures: on a shared machine they move
with it.

Run: ``python bench/bench_latency.py [--changes 30] [--control weighting.alpha] [--floor]``.
Prints the median and 95th percentile of each kind of change (goal: median of a new alpha at most
300 ms); exits 0 either way (figures for reading, not a gate).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import best_of
from playwright.sync_api import Page, sync_playwright

import mtl
from mtl.runtime import configure_threads
from scripts.serve import CHROMIUM, CHROMIUM_ARGS, ROOT, running_server
from ui.state import DEFAULT_PRESET

GOAL_MS = 300.0
"""The goal for the median of a new alpha (issue 14)."""
QUIET_MS = 700.0
"""The page counts as finished once nothing changed for this long (then the last change is the
end). Longer than the gap between a rerun's messages; the figure does not include it."""
TIMEOUT_MS = 60_000.0

PROBE = """
() => {
  if (window.__latency) return;
  const state = { start: null, last: null };
  window.__latency = state;
  const mark = () => { if (state.start !== null) state.last = performance.now(); };
  new MutationObserver(mark).observe(document.body, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
  for (const name of ['clearRect', 'fillRect', 'drawImage']) {  // charts repaint their canvas
    const original = CanvasRenderingContext2D.prototype[name];
    CanvasRenderingContext2D.prototype[name] = function (...args) {
      mark();
      return original.apply(this, args);
    };
  }
  document.addEventListener('keydown', (event) => {
    state.start = event.timeStamp;  // the input event's own time, same clock as performance.now()
    state.last = null;
  }, true);
}
"""
"""Installed once in the page: the key press's time and the time of the page's last change."""

SETTLED = """
([expected, quiet]) => {
  const s = window.__latency;
  if (s.start === null || s.last === null) return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  const captions = Array.from(document.querySelectorAll('[data-testid="stCaptionContainer"]'));
  if (!captions.some((c) => c.innerText.includes(expected))) return false;
  return performance.now() - s.last >= quiet;
}
"""
"""True once the page shows the new weight, runs nothing, and has been quiet for ``quiet`` ms."""


def weight_caption(alpha: float) -> str:
    """What the caption under the chart says for static weights (alpha, 1 - alpha)."""
    return f"regression {alpha:.3g}, classification {1 - alpha:.3g}"


def press(page: Page, thumb_selector: str, key: str, alpha: float) -> float:
    """Press ``key`` on the slider, wait until the page has settled; the latency in ms."""
    page.locator(thumb_selector).press(key)
    page.wait_for_function(
        SETTLED, arg=[weight_caption(alpha), QUIET_MS], polling=50, timeout=TIMEOUT_MS
    )
    return float(page.evaluate("() => window.__latency.last - window.__latency.start"))


def script_times(log: Path, seen: int) -> tuple[list[float], int]:
    """The completed script runs' times (s) logged after the first ``seen`` lines; the count."""
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    done = [float(t) for t, ending in (line.split() for line in lines[seen:]) if ending == "done"]
    return done, len(lines)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values``, linear interpolation (as numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def report(name: str, page_ms: list[float], server_s: list[float]) -> None:
    """One line: median and p95 in the browser, and the server's script time beside it."""
    median = statistics.median(page_ms)
    line = (
        f"  {name:<22} median {median:6.0f} ms   p95 {percentile(page_ms, 0.95):6.0f} ms   "
        f"(n={len(page_ms)})"
    )
    if server_s:
        script = statistics.median(server_s) * 1e3
        line += f"   script {script:5.0f} ms median; page / script {median / script:.2f}x"
    print(line)


def measure(app: Path, changes: int, control: str, floor: bool = False) -> None:
    """Serve ``app``, change alpha ``changes`` times each way, print the figures.

    ``floor``: ``app`` is the floor page, which trains nothing (both kinds of change are then
    Streamlit's round trip alone); the figures are labelled so, and no goal is judged.
    """
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "script_times.txt"
        env = {"BENCH_APP": str(app), "BENCH_SCRIPT_TIMES": str(log)}
        load_before = os.getloadavg()
        with (
            running_server(Path(tmp), script=ROOT / "bench" / "_timed_app.py", env=env) as url,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(url, wait_until="domcontentloaded")
            page.wait_for_selector('[data-testid="stMetricValue"]', timeout=TIMEOUT_MS)
            page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached")
            page.evaluate(PROBE)
            thumb = f".st-key-{control.replace('.', '-')} input[type='range']"
            alpha = float(page.locator(thumb).input_value())
            _, seen = script_times(log, 0)

            fresh: list[float] = []
            fresh_server: list[float] = []
            for _ in range(changes):
                alpha = round(alpha + 0.01, 2)
                fresh.append(press(page, thumb, "ArrowRight", alpha))
                times, seen = script_times(log, seen)
                fresh_server += times
            hits: list[float] = []
            hits_server: list[float] = []
            for i in range(changes):  # back and forth over the last two values trained
                key, step = ("ArrowLeft", -0.01) if i % 2 == 0 else ("ArrowRight", 0.01)
                alpha = round(alpha + step, 2)
                hits.append(press(page, thumb, key, alpha))
                times, seen = script_times(log, seen)
                hits_server += times
            browser.close()
        load_after = os.getloadavg()
    print(f"alpha change until the page has settled, {app} (control {control!r}), one session:")
    if floor:
        report("floor, a new value", fresh, fresh_server)
        report("floor, a value seen", hits, hits_server)
    else:
        report("new alpha (training)", fresh, fresh_server)
        report("cache hit", hits, hits_server)
        verdict = "met" if statistics.median(fresh) <= GOAL_MS else "not met"
        print(f"  goal: new-alpha median <= {GOAL_MS:.0f} ms: {verdict}")
    print(
        "  load average (1, 5, 15 min) before "
        + ", ".join(f"{v:.2f}" for v in load_before)
        + "; after "
        + ", ".join(f"{v:.2f}" for v in load_after)
        + f"; {os.cpu_count()} cores"
    )


def training_time() -> float:
    """The default page's run trained alone: best of 5, one torch thread, in ms (no page)."""
    configure_threads(1)
    cfg = mtl.preset(DEFAULT_PRESET)
    return best_of(lambda: mtl.train(cfg), repeat=5) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=30, help="changes of each kind")
    parser.add_argument(
        "--control",
        default="weighting.alpha",
        help="widget key of the alpha slider to press (the sidebar's by default)",
    )
    parser.add_argument("--app", type=Path, default=ROOT / "app.py", help="the page to serve")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure bench/_floor_app.py (Streamlit's round trip alone) in this sitting",
    )
    args = parser.parse_args()
    measure(args.app.resolve(), args.changes, args.control)
    if args.floor:
        measure(ROOT / "bench" / "_floor_app.py", args.changes, args.control, floor=True)
    print(
        f"the default run ({DEFAULT_PRESET!r}) trained alone: {training_time():.0f} ms "
        "(best of 5, one thread); a new alpha costs at least this plus the floor"
    )


if __name__ == "__main__":
    main()
