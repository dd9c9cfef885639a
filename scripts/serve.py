"""Start ``streamlit run app.py`` on a free port for a browser to drive (tests, screenshots).

Used by ``tests/e2e/test_browser.py`` and ``scripts/screenshot.py``::

    with running_server(log_dir) as url:
        ...  # open url in a browser

The server runs headless in its own process group with one torch thread and is always stopped
(its group terminated, then killed if it lingers) when the block exits. Its output goes to
``log_dir/streamlit.log``, never into the repository.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The repository root (where app.py lives)."""

CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium, driven by Playwright instead of a downloaded browser."""
CHROMIUM_ARGS: list[str] = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Flags for a headless Chromium in a container: no sandbox, GPU or background traffic."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 45.0) -> None:
    """Poll ``url/_stcore/health`` until it answers ``ok``; fail if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode} before serving")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"streamlit did not answer at {url}/_stcore/health within {timeout:.0f} s")


@contextlib.contextmanager
def running_server(
    log_dir: Path,
    port: int | None = None,
    *,
    script: Path = ROOT / "app.py",
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run the page on ``port`` (a free one by default) and yield its base URL.

    ``script`` is the page's script (``app.py`` by default; a benchmark may pass a wrapper that
    times it), run from its own directory (where ``.streamlit/config.toml`` is read); ``env``
    adds variables to the server's environment.
    """
    port = port or free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log = (log_dir / "streamlit.log").open("wb")
    env = os.environ | {"MTL_TORCH_THREADS": "1", "PYTHONUNBUFFERED": "1"} | (env or {})
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
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
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        _stop(process)
        log.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server's process group (SIGTERM, then SIGKILL after 10 s)."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
