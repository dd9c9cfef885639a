"""Work nobody waits for stops: a real server's CPU returns to idle soon after a tab closes.

A long run (the default preset with batch size 1: about a second per epoch here, many minutes in
all) is started from a link in headless Chromium; once the server is busy training, the tab is
closed, and the server process's CPU use (``utime + stime`` from ``/proc/<pid>/stat``) is
sampled every 0.1 s. Idle means under 10% of one core over a 1 s window (or under a third of
the share the training itself got, when other processes crowd the cores); it must begin within
5 s of the close. A second test supersedes the long run with a one-epoch run (a changed
control) and checks the same from the moment that run's result is on screen. The measured
times are printed (``pytest -s``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page

import mtl
from mtl.urlstate import to_query
from scripts.serve import running_server
from ui.state import DEFAULT_PRESET

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

LONG = mtl.preset(DEFAULT_PRESET).with_(**{"optim.batch_size": 1, "epochs": 1000})
"""About a minute of training on one core here (the work budget would refuse it, so this server
runs without one): only cancellation ends it in time."""
IDLE = 0.10
"""Idle: under this share of one core over a :data:`WINDOW`."""
WINDOW = 1.0
LIMIT = 5.0
"""Seconds after the close (or the change) by which idle must have begun."""
TICK = os.sysconf("SC_CLK_TCK")


def _server_pid(port: int) -> int:
    """The pid of the streamlit process serving ``port``."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmdline) and str(port).encode() in cmdline:
            return int(proc.name)
    raise LookupError(f"no streamlit process serves port {port}")


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime: fields 14 and 15


def _seconds_to_idle(
    pid: int, start: float, idle: float, horizon: float = LIMIT + 3 * WINDOW
) -> float:
    """Seconds from ``start`` until the first :data:`WINDOW` under ``idle`` (a core share) begins.

    Samples the CPU time every 0.1 s until ``horizon`` seconds after ``start``; inf if the
    process never idles for a whole window in that time.
    """
    samples: list[tuple[float, float]] = []
    while (now := time.monotonic()) < start + horizon:
        samples.append((now, _cpu_seconds(pid)))
        time.sleep(0.1)
    for i, (t0, c0) in enumerate(samples):
        for t1, c1 in samples[i + 1 :]:
            if t1 - t0 >= WINDOW:
                if (c1 - c0) / (t1 - t0) < idle:
                    return max(0.0, t0 - start)
                break
    return float("inf")


def _busy_share(pid: int) -> float:
    """The process's CPU share of one core over the next second."""
    t0, c0 = time.monotonic(), _cpu_seconds(pid)
    time.sleep(WINDOW)
    return (_cpu_seconds(pid) - c0) / (time.monotonic() - t0)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MTL_WORK_BUDGET", "0")  # no budget: the long run must be long
        with running_server(tmp_path_factory.mktemp("e2e-cancel")) as url:
            yield url, _server_pid(int(url.rsplit(":", 1)[1]))


def _start_long_run(browser: Browser, url: str, pid: int) -> tuple[Page, float]:
    """Open the long run's link, wait until the server trains it; return the page and the idle
    threshold: :data:`IDLE`, or a third of the share the training gets on crowded cores."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{url}/?{urlencode(to_query(LONG))}", wait_until="domcontentloaded")
    page.locator('[data-testid="stProgress"]').first.wait_for(timeout=60_000)
    busy = _busy_share(pid)
    print(f"\ntraining: {busy:.0%} of a core")
    assert busy > 0.05, "the server should be busy training the long run"
    return page, min(IDLE, busy / 3)


def test_closing_the_tab_stops_the_training(server: tuple[str, int], browser: Browser) -> None:
    url, pid = server
    page, idle = _start_long_run(browser, url, pid)
    page.context.close()  # the tab (and its websocket) goes away
    closed = time.monotonic()
    seconds = _seconds_to_idle(pid, closed, idle)
    print(f"closed tab -> server idle (under {idle:.0%} of a core) after {seconds:.2f} s")
    assert seconds <= LIMIT - WINDOW, f"still busy {seconds:.1f} s after the tab closed"


def test_a_newer_rerun_supersedes_the_training(server: tuple[str, int], browser: Browser) -> None:
    url, pid = server
    page, idle = _start_long_run(browser, url, pid)
    page.locator(".st-key-epochs").scroll_into_view_if_needed()  # off-screen: a skeleton
    epochs = page.locator(".st-key-epochs input")
    # while the long run trains, the server forwards the page's messages slowly (the training
    # thread holds the interpreter most of the time), so the box may take a while to arrive
    epochs.fill("1", timeout=90_000)  # one epoch: about a second of work
    epochs.press("Enter")
    changed = time.monotonic()
    # the new run's result appears; the superseded one must not keep training behind it
    page.wait_for_selector('[data-testid="stMetricValue"]', timeout=60_000)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
    shown = time.monotonic()
    seconds = _seconds_to_idle(pid, shown, idle)
    print(
        f"change -> new result after {shown - changed:.2f} s; server idle (under {idle:.0%} "
        f"of a core) {seconds:.2f} s after that"
    )
    assert seconds <= LIMIT - WINDOW, f"still busy {seconds:.1f} s after the new result"
    assert not page.locator('[data-testid="stException"]').count()
    page.context.close()
