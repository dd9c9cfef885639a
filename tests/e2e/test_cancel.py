"""Work nobody waits for stops: a real server's CPU returns to idle soon after a tab closes.

A long run (the default preset with batch size 1: about a second per epoch here, many minutes in
all) is started in headless Chromium; once the server is busy training, the tab is closed, and
the server process's CPU use (``utime + stime`` from ``/proc/<pid>/stat``) is sampled every
0.1 s. Idle means under 10% of one core over a 1 s window (or under a third of the share the
training itself got, when other processes crowd the cores); it must begin within 5 s of the
close. A second test supersedes the long run with a two-epoch run (a changed control) and checks
the same from the moment that run's result is on screen. The measured times are printed
(``pytest -s``).

"The server is training" is read from the websocket: the frame that carries the progress bar's
first message ("Training…"), which the server sends just before the training starts. The page
itself may draw that bar many seconds later on a busy machine: while a script runs, Streamlit's
status icon re-renders every 200 ms, and each of those updates restarts React's (lower-priority)
retry of the elements whose widget code was still loading when they first arrived, so on crowded
cores the progress bar and the sidebar's widgets can stay skeletons for 5-25 s although every
message was received within a second or two. The second test therefore opens the long run's
configuration at one epoch first (the page completes, every widget's code is loaded), then starts
the long run from the epochs box, whose later changes the page then shows at once.
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

    Samples the CPU time every 0.1 s until the first such window is complete (then returns its
    start: later samples cannot change the answer), or until ``horizon`` seconds after
    ``start``; inf if the process never idles for a whole window in that time.
    """
    samples: list[tuple[float, float]] = []
    first = 0  # the earliest sample whose window is not complete yet
    while (now := time.monotonic()) < start + horizon:
        t1, c1 = now, _cpu_seconds(pid)
        samples.append((t1, c1))
        # the windows this sample completes, earliest first (each ends at its first sample at
        # least WINDOW later, which is this one)
        while t1 - samples[first][0] >= WINDOW:
            t0, c0 = samples[first]
            if (c1 - c0) / (t1 - t0) < idle:
                return max(0.0, t0 - start)
            first += 1
        time.sleep(0.1)
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


TRAINING = "Training…".encode()
"""What the frame of a run's first progress message holds (:func:`ui.run._compute`'s label)."""


def _trainings(page: Page) -> list[float]:
    """A list that grows by one (the time) for each websocket frame that starts a training."""
    starts: list[float] = []

    def frame(payload: str | bytes) -> None:
        if isinstance(payload, bytes) and TRAINING in payload:
            starts.append(time.monotonic())

    page.on("websocket", lambda socket: socket.on("framereceived", frame))
    return starts


def _wait_for(page: Page, starts: list[float], count: int, timeout: float = 60.0) -> None:
    """Wait until ``starts`` (:func:`_trainings` of ``page``) holds ``count`` trainings.

    Waits with the page's own clock: Playwright delivers the frames while it waits.
    """
    deadline = time.monotonic() + timeout
    while len(starts) < count:
        assert time.monotonic() < deadline, f"no training began within {timeout:.0f} s"
        page.wait_for_timeout(50)


def _new_page(browser: Browser) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(60_000)
    return page


def _busy(pid: int) -> float:
    """Check the server is busy training; return the idle threshold: :data:`IDLE`, or a third of
    the share the training gets on crowded cores."""
    busy = _busy_share(pid)
    print(f"\ntraining: {busy:.0%} of a core")
    assert busy > 0.05, "the server should be busy training the long run"
    return min(IDLE, busy / 3)


def test_closing_the_tab_stops_the_training(server: tuple[str, int], browser: Browser) -> None:
    url, pid = server
    page = _new_page(browser)
    starts = _trainings(page)
    page.goto(f"{url}/?{urlencode(to_query(LONG))}", wait_until="domcontentloaded")
    _wait_for(page, starts, 1)
    idle = _busy(pid)
    page.context.close()  # the tab (and its websocket) goes away
    closed = time.monotonic()
    seconds = _seconds_to_idle(pid, closed, idle)
    print(f"closed tab -> server idle (under {idle:.0%} of a core) after {seconds:.2f} s")
    assert seconds <= LIMIT - WINDOW, f"still busy {seconds:.1f} s after the tab closed"


def _set_epochs(page: Page, epochs: int) -> None:
    box = page.locator(".st-key-epochs input")
    box.fill(str(epochs))
    box.press("Enter")


def test_a_newer_rerun_supersedes_the_training(server: tuple[str, int], browser: Browser) -> None:
    url, pid = server
    page = _new_page(browser)
    starts = _trainings(page)
    page.goto(f"{url}/?{urlencode(to_query(LONG.with_(epochs=1)))}", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stMetricValue"]')  # the page is complete
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached")
    trained = len(starts)  # the one-epoch run's training, unless another test cached it
    page.locator(".st-key-epochs").scroll_into_view_if_needed()  # off-screen: a skeleton
    _set_epochs(page, LONG.epochs)
    _wait_for(page, starts, trained + 1)
    idle = _busy(pid)
    _set_epochs(page, 2)  # two epochs: a couple of seconds of work
    changed = time.monotonic()
    # the new run's result appears; the superseded one must not keep training behind it
    page.wait_for_selector('[data-testid="stMetricValue"]')
    _wait_for(page, starts, trained + 2)  # the two-epoch run was trained, not found cached
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached")
    shown = time.monotonic()
    seconds = _seconds_to_idle(pid, shown, idle)
    print(
        f"change -> new result after {shown - changed:.2f} s; server idle (under {idle:.0%} "
        f"of a core) {seconds:.2f} s after that"
    )
    assert seconds <= LIMIT - WINDOW, f"still busy {seconds:.1f} s after the new result"
    assert not page.locator('[data-testid="stException"]').count()
    page.context.close()
