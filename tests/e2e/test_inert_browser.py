"""In a real browser, text a visitor chose renders as text: no link, no image, no formatting.

Two checks against what Chromium actually draws from Streamlit's Markdown:

- the page itself, opened from a hostile link (the reported attack: a Markdown link to another
  site and an image from a third party in the ``epochs`` value, in an unknown key and in the
  method name): the warning shows the literal text, the page holds no ``<a>`` to the attacker's
  host and no ``<img>`` from it, and the browser requests nothing from either;
- :mod:`ui.inert` itself, on a bare page (``inert_probe_app.py``) that shows every hostile string
  of ``tests/test_inert.py`` as a list item, after a bold title and in a code span: each renders
  as exactly its text, with no element Markdown would have made from it; and a select box and a
  multiselect (where a CSV's column names appear) show such options as plain text.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from scripts.serve import ROOT, _stop, free_port, wait_healthy
from tests.test_inert import HOSTILE
from tests.test_inert import _expected as one_line
from ui.inert import WORD_JOINER

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

LINK = "[Sign in again](https://evil.example/login)"
IMAGE = "![t](http://127.0.0.1:9/t.png)"
ATTACK = f"**Session expired.** {LINK} {IMAGE}"
ATTACKER_HOSTS = ("evil.example", "127.0.0.1:9")
PROBE = Path(__file__).with_name("inert_probe_app.py")


def _readable(text: str) -> str:
    """What a person reads: word joiners dropped, runs of white space as one space."""
    return re.sub(r"\s+", " ", text.replace(WORD_JOINER, "")).strip()


def _record_attacker_requests(tab: Page) -> list[str]:
    seen: list[str] = []

    def record(request: Request) -> None:
        if urlsplit(request.url).netloc in ATTACKER_HOSTS:  # the host, not the page's query
            seen.append(request.url)

    tab.on("request", record)
    return seen


def _no_attacker_elements(tab: Page) -> None:
    for host in ATTACKER_HOSTS:
        assert tab.locator(f'a[href*="{host}"]').count() == 0, host
        assert tab.locator(f'img[src*="{host}"]').count() == 0, host


def test_a_hostile_link_shows_its_markdown_as_text(browser: Browser, server: str):
    tab = browser.new_page(viewport={"width": 1400, "height": 1200})
    requests = _record_attacker_requests(tab)
    query = urlencode({"epochs": ATTACK, f"{LINK}{IMAGE}": "1", "weighting.method": ATTACK})
    tab.goto(f"{server}/?{query}", wait_until="domcontentloaded")
    warning = tab.locator('[data-testid="stAlertContentWarning"]')
    expect(warning).to_contain_text("This link was adjusted", timeout=90_000)
    tab.wait_for_selector('[data-testid="stMetricValue"]', timeout=90_000)
    text = _readable(warning.inner_text())
    assert text.count(ATTACK) == 2, text  # the epochs value and the method name, as typed
    assert f"{LINK}{IMAGE}" in text  # the unknown key
    body = warning.locator('[data-testid="stMarkdownContainer"]')
    assert body.locator("strong").count() == 1  # the page's own title, nothing else
    assert body.locator("a, img, em, code, .katex, span[role='img']").count() == 0
    _no_attacker_elements(tab)
    tab.wait_for_timeout(500)  # give a (wrongly) rendered image time to be requested
    assert requests == []
    tab.close()


@contextlib.contextmanager
def _probe_server(log_dir: Path) -> Iterator[str]:
    """``streamlit run inert_probe_app.py`` on a free port (stopped on exit)."""
    port = free_port()
    with (log_dir / "probe.log").open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(PROBE),
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, process)
            yield url
        finally:
            _stop(process)


def test_every_hostile_string_renders_literally(browser: Browser, tmp_path: Path):
    with _probe_server(tmp_path) as url:
        tab = browser.new_page()
        requests = _record_attacker_requests(tab)
        tab.goto(url, wait_until="domcontentloaded")
        last = len(HOSTILE) - 1
        tab.wait_for_selector(f".st-key-code{last} code", timeout=90_000)
        tab.wait_for_timeout(500)
        for i, value in enumerate(HOSTILE):
            expected = _readable(one_line(value))
            item = tab.locator(f".st-key-text{i} [data-testid='stMarkdownContainer']")
            assert item.locator("*").evaluate_all("e => e.map(x => x.tagName)") == ["UL", "LI"]
            assert _readable(item.inner_text()) == expected, (value, item.inner_text())
            warn = tab.locator(f".st-key-warn{i} [data-testid='stMarkdownContainer']")
            tags = warn.locator("*").evaluate_all("e => e.map(x => x.tagName)")
            assert tags == ["P", "STRONG"], (value, tags)
            assert _readable(warn.inner_text()) == f"Title. {expected}", value
            span = tab.locator(f".st-key-code{i} [data-testid='stCaptionContainer']")
            tags = span.locator("*").evaluate_all("e => e.map(x => x.tagName)")
            assert tags == ["P", "CODE"], (value, tags)
            assert _readable(span.locator("code").inner_text()) == expected, value
        for key in ("pick", "picks"):  # options (a CSV's column names) are plain text
            options = tab.locator(f".st-key-{key}")
            assert options.locator("a, img, strong, em, code, .katex").count() == 0, key
            shown = options.evaluate(
                "e => [e.innerText, ...[...e.querySelectorAll('input')].map(i => i.value)].join()"
            )
            assert _readable(one_line(HOSTILE[0])) in _readable(shown), (key, shown)
        _no_attacker_elements(tab)
        assert requests == []
        tab.close()
