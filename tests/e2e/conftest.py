"""Browser-test plumbing: one headless Chromium for the whole session (each test opens its own
page or context in it), one ``streamlit run app.py`` server for the session (``server``), and
each test's outcome exposed to fixtures (for failure screenshots).

The server is shared by every browser-test file that runs in this process: starting one and
loading its first page (imports, the first training) costs some 10 s. With ``pytest -n``, the
files that use it are one unit of work (``tests/conftest.py``'s ``SHARED_SERVER_FILES``), so one
worker starts it for them all. The files open their own pages, so
they share only the server's caches. A file that needs a server of its own (other settings)
defines its own ``server`` fixture.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from scripts.serve import CHROMIUM, CHROMIUM_ARGS, running_server

FIRST_PAGE_MS = 120_000
"""How long a file's first page may take to show its metrics: a cap, not a wait. The first page a
server draws pays for its cold start (importing torch, Streamlit and the page, the first
training); under load (other workers starting their own servers and browsers, load average 6
here) that took over 45 s once, where a warm page takes under 2 s."""


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Store the report of each phase on the item as ``rep_<phase>``."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is not installed (scripts/setup.sh --test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        except Exception as error:  # a browser that cannot start is a failure, never a skip
            pytest.fail(f"Chromium did not start: {error}")
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of the session's ``streamlit run app.py`` (default settings)."""
    with running_server(tmp_path_factory.mktemp("e2e-server")) as url:
        yield url
