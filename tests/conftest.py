"""Suite-wide setup for parallel runs (``pytest -n auto --dist loadfile``, the README's command).

Each test file runs whole on one worker (``loadfile``), so its module fixtures (a trained
population, a ``streamlit run`` server) are built once. The browser-test files that share the
session's server (:data:`SHARED_SERVER_FILES`) are one unit of work
(:func:`pytest_xdist_make_scheduler`): one worker starts one server and one Chromium for them
all, instead of one per worker. The cancellation tests, which measure a server's CPU, judge
idleness against the share the training itself gets, so a busy neighbour does not fail them.

Each test process uses one torch thread, an xdist worker or a serial run (``-n 0``) alike: the
workers already keep every core busy, and intra-op threads spinning on cores another process
holds only slow each other down. Measured with the machine busy (load ~3.5 on 2 cores), a
200-epoch training of the conflicting preset took 0.8 s of CPU on one thread and 13-15 s on
two. The figures the tests check do not depend on it (the engine's small tensors run on one
thread either way), and a serial run now sees the threads the suite's workers see.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from xdist.scheduler import LoadFileScheduling

torch.set_num_threads(1)


DURATIONS = Path(__file__).with_name("durations.json")
"""Seconds each test file took in a recorded run (``scripts/test_durations.py`` writes it)."""


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker per core, and one more.

    A worker is not always computing: the browser tests wait on a ``streamlit run`` server and
    Chromium (other processes), the cancellation tests watch a server sit idle, the page tests
    poll their script's thread. On this 2-core machine two workers kept the cores 70-75% busy
    (user + system time over wall time x cores) over a run; a third fills the gaps.
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when set.
    """
    chosen = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if chosen and chosen.isdigit():
        return int(chosen)
    return (os.cpu_count() or 1) + 1


SHARED_SERVER_FILES = frozenset(
    {
        "tests/e2e/test_browser.py",
        "tests/e2e/test_console.py",
        "tests/e2e/test_inert_browser.py",
        "tests/e2e/test_learn.py",
    }
)
"""The browser-test files that use the session's ``server`` (:mod:`tests.e2e.conftest`).

``tests/test_durations.py`` checks this list against the files' source."""

SHARED_SERVER = "tests/e2e: the files that share the session's server"
"""The unit of work of :data:`SHARED_SERVER_FILES`."""


def unit_of(path: str) -> str:
    """The unit of work of a test file (its path relative to the repository): itself, or
    :data:`SHARED_SERVER` for a browser-test file that uses the shared server."""
    return SHARED_SERVER if path in SHARED_SERVER_FILES else path


class FilesAndSharedServer(LoadFileScheduling):
    """``--dist loadfile`` with the browser files that share a server as one unit of work.

    Each worker that runs one of those files starts the session's ``streamlit run`` server and
    Chromium (about 10 s of CPU, and the server's first trainings): one worker runs them all. A
    unit is what ``_split_scope`` returns for a test id (the extension point xdist's own
    ``loadfile`` and ``loadgroup`` schedulers override; ``loadgroup``'s marks cannot serve: on
    pytest 9.2 its group suffix is never applied, pytest-dev/pytest-xdist#1386).
    """

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(super()._split_scope(nodeid))


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which always answers
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadFileScheduling | None:
    """The README's ``--dist loadfile`` schedules with :class:`FilesAndSharedServer`."""
    if config.getvalue("dist") != "loadfile":
        return None
    return FilesAndSharedServer(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Schedule the longest units of work first: a run must not end on one worker's long unit.

    Units (files, and :data:`SHARED_SERVER`) go out in the order of the collection (pyproject
    turns off xdist's own order, by number of tests, which put the long browser files, a few
    tests each, last). They are ordered by the time of their files in ``durations.json``,
    longest first; a unit with a file it does not know comes first of all (its cost is unknown).
    Tests keep their order within a unit.
    """
    try:
        seconds: dict[str, float] = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    root = config.rootpath

    def path(item: pytest.Item) -> str:
        return item.path.relative_to(root).as_posix()

    files: dict[str, set[str]] = {}  # unit -> its files
    for item in items:
        files.setdefault(unit_of(path(item)), set()).add(path(item))
    cost = {unit: sum(seconds.get(f, math.inf) for f in paths) for unit, paths in files.items()}
    items.sort(key=lambda item: cost[unit_of(path(item))], reverse=True)  # stable


def pytest_collection_finish(session: pytest.Session) -> None:
    """Scan the installed packages for Streamlit components once per test process, not per page.

    Every new ``AppTest`` asks a fresh ``BidiComponentManager`` to scan all installed
    distributions for component manifests, reading and parsing each package's metadata. A
    ``streamlit run`` server scans once at start and shares the result with every session; the
    page tests make a new ``AppTest`` per test, and the scan was most of a new page's cost: 0.28 s
    of CPU with it, 0.08 s without (the default page, cached, measured in one process). The
    installed packages do not change during a run, so the scan's result is kept, as a server
    keeps it. Only where the collected tests imported Streamlit: a run of core tests does not
    import it for this.
    """
    if "streamlit" not in sys.modules:
        return
    from streamlit.components.v2 import manifest_scanner

    scan = manifest_scanner.scan_component_manifests
    if not hasattr(scan, "cache_info"):
        manifest_scanner.scan_component_manifests = functools.cache(scan)
