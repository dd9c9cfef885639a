"""The page's server-side setup: torch threads and allocator, secrets, and training slots.

Read once per server process (:func:`setup_runtime` is a cached resource, secrets do not change
while the server runs), shared by every session.

Slots: at most :func:`max_trainings` computations (cache misses) train at once in one server
process (a semaphore shared by every session, :func:`_slots`); the others show "Waiting for a
free slot…" and stop waiting as soon as their own run is superseded or their tab closes
(:func:`training_slot`, asked by :mod:`ui.run`). A cache hit never takes a slot.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import math
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import streamlit as st

from mtl.budget import set_work_budget
from mtl.engine import Cancelled, StopFn
from mtl.runtime import configure_allocator, configure_threads

ENV_MAX_TRAININGS = "MTL_MAX_TRAININGS"
"""Environment variable: how many trainings one server runs at once (see :func:`max_trainings`)."""
WAITING = "Waiting for a free slot…"
"""What a computation shows while every training slot is taken."""
WAIT_POLL_SECONDS = 0.1
"""How often a waiting computation looks for a free slot and checks it is still wanted."""


@st.cache_resource(show_spinner=False)
def setup_runtime() -> int:
    """Pin torch's thread count (see :mod:`mtl.runtime`) and apply a hosted work budget.

    A ``work_budget`` in Streamlit secrets (e.g. set in Community Cloud's app settings) tightens
    or loosens :mod:`mtl.budget`'s per-request limit; without secrets the environment or the
    default applies. A malformed value is ignored rather than stopping the page.
    """
    budget = _secret_budget()
    if budget is not None:
        set_work_budget(budget)
    configure_allocator()
    return configure_threads()


_frozen = threading.Event()
"""Set once this process has moved its long-lived objects out of the collector's sight."""
_runs_started = itertools.count()
"""Counts the script runs :func:`freeze_long_lived` saw before it froze."""


def freeze_long_lived() -> None:
    """Once per process, from its second script run on: hide the objects alive now from the GC.

    Streamlit runs a full garbage collection (``gc.collect(2)``) after every script run
    (``runner.postScriptGC``), and Python runs one itself now and then. Each walks every object
    the collector tracks: here some 300,000 (torch, pandas, Altair and its Vega-Lite schema,
    loaded once), 0.5-0.9 s measured on this 2-core machine under load, with the interpreter lock
    held, so the page's last messages waited and an alpha change felt slow. :func:`gc.freeze`
    moves the objects alive now to a permanent generation that collections skip; only what later
    runs create is walked (a few ms).

    It runs at the start of a later run, not the first, so that the first run's lazy imports and
    schema loads are frozen and its garbage was already collected (after that run). Frozen
    objects are still freed by reference counting as usual; only a reference cycle among them
    would outlive the process, a one-time bounded cost.
    """
    if not _frozen.is_set() and next(_runs_started) >= 1:
        _frozen.set()
        gc.freeze()


def _secret_budget() -> float | None:
    """``work_budget`` (seconds) from Streamlit secrets, or None when absent or malformed."""
    try:
        value = st.secrets.get("work_budget")
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return None
    try:
        budget = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return budget if budget is not None and math.isfinite(budget) and budget >= 0 else None


def usable_cores() -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota.

    A container often sees all of the host's cores but may only use a quota of them
    (``/sys/fs/cgroup/cpu.max``, e.g. ``200000 100000`` = 2 cores); the smaller counts.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def max_trainings() -> int:
    """How many trainings may run at once in this server.

    ``$MTL_MAX_TRAININGS`` if set to a positive integer, else ``max_trainings`` from Streamlit
    secrets, else :func:`usable_cores` (each training uses one torch thread, so more at once
    would only share the cores and finish later, while holding their memory longer).
    """
    for raw in (os.environ.get(ENV_MAX_TRAININGS), _secret("max_trainings")):
        try:
            n = int(float(raw)) if raw is not None and str(raw).strip() else 0
        except (TypeError, ValueError):
            n = 0
        if n >= 1:
            return n
    return usable_cores()


@functools.cache
def _secret(name: str) -> Any:
    """``name`` from Streamlit secrets, or None when there are no secrets or no such key.

    Read once per process: secrets do not change while the server runs.
    """
    try:
        return st.secrets.get(name)
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return None


@st.cache_resource(show_spinner=False)
def _slots(n: int) -> threading.BoundedSemaphore:
    """The process-wide semaphore of ``n`` training slots (one per ``n``, shared by sessions)."""
    return threading.BoundedSemaphore(n)


@contextlib.contextmanager
def training_slot(
    placeholder: Any, stop: StopFn, slots: threading.Semaphore | None = None
) -> Iterator[None]:
    """Hold one of the server's training slots for the block, waiting for one if need be.

    While every slot is taken, ``placeholder.info`` shows :data:`WAITING`, and ``stop()`` (the
    page passes :func:`ui.run.should_stop`) is asked every :data:`WAIT_POLL_SECONDS`: when it
    says so (or raises), the wait ends with :class:`~mtl.engine.Cancelled` (or that exception)
    and no slot is taken. ``slots`` defaults to the server's (:func:`_slots` of
    :func:`max_trainings`).
    """
    slots = slots if slots is not None else _slots(max_trainings())
    if not slots.acquire(blocking=False):
        placeholder.info(
            f"{WAITING} Other visitors' trainings are using the server; this one starts as soon "
            "as one of them ends.",
            icon=":material/hourglass_top:",
        )
        while not slots.acquire(timeout=WAIT_POLL_SECONDS):
            if stop():
                raise Cancelled(0)
    try:
        yield
    finally:
        slots.release()
