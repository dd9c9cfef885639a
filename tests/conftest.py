"""Suite-wide setup for parallel runs (``pytest -n auto --dist loadfile``, the README's command).

Each test file runs whole on one worker (``loadfile``), so its module fixtures (a trained
population, a ``streamlit run`` server) are built once; the browser-test files spread over the
workers like the rest. The cancellation tests, which measure a server's CPU, judge idleness
against the share the training itself gets, so a busy neighbour does not fail them.

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

import pytest
import torch

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Schedule the longest test files first: a run must not end on one worker's long file.

    ``--dist loadfile`` hands out whole files in the order of the collection (pyproject turns off
    xdist's own order, by number of tests, which put the long browser files, a few tests each,
    last). Files are ordered by their time in ``durations.json``, longest first; a file it does
    not know comes first of all (its cost is unknown). Tests keep their order within a file.
    """
    try:
        seconds: dict[str, float] = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    root = config.rootpath

    def cost(item: pytest.Item) -> float:
        path = item.path.relative_to(root).as_posix()
        return seconds.get(path, math.inf)

    items.sort(key=cost, reverse=True)  # stable: a file's tests stay in their order


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
