"""Cached training for the page, a throttled progress bar, and the last good result.

Cache keying: ``st.cache_data`` hashes a dataclass through ``dataclasses.asdict``, which deep-copies
every field, the uploaded dataset's tensors included, and then hashes tensors through their
``__reduce__``: slow, and not guaranteed stable. It never calls ``Dataset.__hash__``. So the
config is passed unhashed (``_cfg``) beside an explicit key, :func:`cache_key`: the config's
``repr`` (a frozen dataclass: every field, floats exactly) plus the uploaded dataset's full
SHA-256 fingerprint (its ``repr`` shows only a prefix).

Progress: Streamlit replays the elements a cached function draws when the cache is hit, and it
cannot replay calls on an element created outside the function (``CacheReplayClosureError``). So
the progress bar is created, updated (at most :data:`MAX_PROGRESS_UPDATES` times) and emptied
inside the cached function; a cache hit replays those few messages, which costs nothing visible.

Sweeps and face-offs (:func:`sweep`, :func:`face_off`) follow the same pattern, keyed on the
config's key plus their grid, seeds and methods. Their progress counts epochs of the whole
population (a sweep's members all advance together), not members. They are far larger than a
run, so fewer of them are kept (:data:`MAX_COMPARISONS` each).

Work nobody waits for stops (:func:`should_stop`, passed to the core's ``should_stop`` hook):
the core asks it before every epoch and every 0.2 s inside a long one. It reads
``st.session_state``, one of Streamlit's own yield points: when the session has a pending rerun
(a newer interaction superseded this run) or a stop (the tab closed: Streamlit requests a stop
when a session's websocket disconnects), Streamlit raises its ``RerunException`` /
``StopException`` right there, exactly as it would at the next ``st.*`` call, without sending
anything to the browser. The exception unwinds the training, ``st.cache_data`` stores nothing
for a call that raised, and Streamlit goes on with the new run (or ends the session's run). As a
second guard, a session the runtime no longer counts as active makes :func:`should_stop` return
True; the core then raises :class:`mtl.engine.Cancelled`, which the public wrappers turn into
``st.stop()``.

Slots: at most :func:`max_trainings` computations (cache misses) train at once in one server
process (a semaphore shared by every session, :func:`_slots`); the others show "Waiting for a
free slot…" and stop waiting as soon as their own run is superseded or their tab closes. A cache
hit never takes a slot.

Memory: after a run, sweep or face-off was computed (not on a cache hit), the public wrappers call
:func:`mtl.runtime.release_memory` once the cache has stored the result, so what the work and
its pickling freed goes back to the operating system instead of staying in this session
thread's malloc arena.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

import mtl
from mtl.budget import set_work_budget
from mtl.compare import FaceOff
from mtl.compare import face_off as run_face_off
from mtl.data import split_dataset
from mtl.engine import Cancelled, ProgressFn, StopFn
from mtl.runtime import configure_allocator, configure_threads, release_memory
from mtl.sweeps import alpha_grid, seeds_from
from mtl.weighting import METHODS
from ui import inert

MAX_PROGRESS_UPDATES = 20
"""Most progress-bar updates per run: each is a message to the browser."""

ENV_MAX_TRAININGS = "MTL_MAX_TRAININGS"
"""Environment variable: how many trainings one server runs at once (see :func:`max_trainings`)."""
WAITING = "Waiting for a free slot…"
"""What a computation shows while every training slot is taken."""
STOP_POLL_SECONDS = 0.05
"""Least time between two looks at Streamlit's state in :func:`should_stop` (one thread)."""
WAIT_POLL_SECONDS = 0.1
"""How often a waiting computation looks for a free slot and checks it is still wanted."""

T = TypeVar("T")

LAST_GOOD = "_run.last_good"
"""Session key of ``(key, Result)``: the last run trained from a valid configuration."""
PREVIOUS = "_run.previous"
"""Session key of ``(data key, summary row)``: the run shown before, for the metrics' deltas."""

MAX_SCATTER_ROWS = 2000
"""Rows the data scatter draws at most (a random sample beyond that keeps the page light)."""

MAX_COMPARISONS = 4
"""Sweeps (and face-offs) kept in the cache: each holds hundreds of members' histories."""


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


def should_stop() -> bool:
    """Whether nobody waits for this session's computation any more (the core's hook).

    Cheap enough for every epoch: a clock read, and at most every :data:`STOP_POLL_SECONDS` (per
    session thread) a session-state lookup and a dictionary lookup (tens of microseconds), no
    message to the browser. A pending rerun or stop makes Streamlit raise its own control
    exception from the lookup (see the module docstring); a session that is no longer active
    returns True.
    """
    now = time.monotonic()
    if now < getattr(_work, "next_stop_check", 0.0):
        return False
    _work.next_stop_check = now + STOP_POLL_SECONDS
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:  # not in a script run (e.g. a bare call from a test)
        return False
    _ = LAST_GOOD in st.session_state  # Streamlit's yield point: may raise Rerun/StopException
    if Runtime.exists():
        return not Runtime.instance().is_active_session(ctx.session_id)
    return False


@contextlib.contextmanager
def training_slot(
    placeholder: Any, stop: StopFn | None = None, slots: threading.Semaphore | None = None
) -> Iterator[None]:
    """Hold one of the server's training slots for the block, waiting for one if need be.

    While every slot is taken, ``placeholder.info`` shows :data:`WAITING`, and ``stop()``
    (default :func:`should_stop`) is asked every :data:`WAIT_POLL_SECONDS`: when it says so (or
    raises), the wait ends with :class:`~mtl.engine.Cancelled` (or that exception) and no slot
    is taken. ``slots`` defaults to the server's (:func:`_slots` of :func:`max_trainings`).
    """
    stop = stop if stop is not None else should_stop
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


def _compute(label: str, work: Callable[[ProgressFn, StopFn], T]) -> T:
    """Run ``work(on_progress, should_stop)`` in a training slot, with a progress bar.

    Called inside a cached function's body (a cache miss). The waiting message and the bar share
    one placeholder, emptied at the end whatever happens.
    """
    _computed()
    placeholder = st.empty()
    try:
        with training_slot(placeholder):
            bar = placeholder.progress(0.0, text=f"{label}…")
            progress = ThrottledProgress(
                lambda f, text: bar.progress(f, text=text), MAX_PROGRESS_UPDATES, label=label
            )
            return work(progress, should_stop)  # looked up now: tests may replace it
    finally:
        placeholder.empty()


def _cancelled() -> NoReturn:
    """End this script run quietly: its computation was cancelled because nobody waits for it."""
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises; this keeps the type checker honest


_work = threading.local()
"""``computed``: whether a cached function ran its body in this thread (each session's script
runs in a thread of its own) since :func:`_releasing` last looked; ``next_stop_check``: when
:func:`should_stop` next looks at Streamlit's state for this thread."""


def _computed() -> None:
    """Mark that a cached function is computing (a cache miss), from inside its body."""
    _work.computed = True


@contextlib.contextmanager
def _releasing() -> Iterator[None]:
    """Release freed memory after the block if a cached function computed inside it.

    The block is the call of a cached function; by the time it returns (or raises), Streamlit
    has pickled and stored the value, so the temporary memory of both is free.
    """
    _work.computed = False
    try:
        yield
    finally:
        if getattr(_work, "computed", False):
            _work.computed = False
            release_memory()


def cache_key(cfg: mtl.RunConfig) -> str:
    """A string that identifies ``cfg`` completely, uploaded data included."""
    table = cfg.data.table
    return repr(cfg) + (f"|data={table.fingerprint}" if table is not None else "")


class ThrottledProgress:
    """An ``on_progress(done, total)`` callback that forwards at most ``max_updates`` updates.

    ``update(fraction, text)`` is called when the fraction has grown by ``1 / max_updates`` since
    the last forwarded update, and always at the end, so a 2000-epoch run sends about 20 messages.
    """

    def __init__(
        self, update: Callable[[float, str], Any], max_updates: int = 20, label: str = "Training"
    ) -> None:
        self.update = update
        self.step = 1.0 / max(1, max_updates)
        self.shown = 0.0
        self.calls = 0
        self.label = label

    def __call__(self, done: int, total: int) -> None:
        """Forward the progress if it moved enough (or the run is complete)."""
        fraction = min(1.0, done / total) if total > 0 else 1.0
        if fraction >= 1.0 or fraction - self.shown >= self.step:
            self.shown = fraction
            self.calls += 1
            self.update(fraction, f"{self.label}: epoch {done} of {total}")


@st.cache_data(max_entries=16, show_spinner=False)
def _train(key: str, _cfg: mtl.RunConfig) -> mtl.Result:
    """Train ``_cfg`` (identified by ``key``) with a progress bar; cached on ``key`` only."""
    return _compute(
        "Training",
        lambda progress, stop: mtl.train(_cfg, on_progress=progress, should_stop=stop),
    )


def train(cfg: mtl.RunConfig) -> mtl.Result:
    """The result of ``cfg``, from the cache or trained now; remembered as the last good one.

    Raises ``mtl.ConfigError`` / ``mtl.DataError`` for a configuration the engine refuses (for
    example a batch larger than the training split); nothing is remembered then.
    """
    key = cache_key(cfg)
    try:
        with _releasing():
            result = _train(key, cfg)
    except Cancelled:
        _cancelled()
    last = st.session_state.get(LAST_GOOD)
    if last is None or last[0] != key:
        if last is not None:
            st.session_state[PREVIOUS] = (data_key(last[1].config.data), last[1].summary.iloc[0])
        st.session_state[LAST_GOOD] = (key, result)
    return result


def data_key(spec: mtl.DataSpec) -> str:
    """A string that identifies the data (and its split) of a run, uploads included."""
    return repr(spec) + (spec.table.fingerprint if spec.table is not None else "")


def last_good() -> mtl.Result | None:
    """The last result trained from a valid configuration in this session, if any."""
    last = st.session_state.get(LAST_GOOD)
    return None if last is None else last[1]


def previous_summary(current: mtl.Result) -> pd.Series | None:
    """The summary row of the run shown before ``current``, if it used the same data.

    The metrics' arrows compare the two; across different data the comparison means nothing.
    """
    previous = st.session_state.get(PREVIOUS)
    if previous is None or previous[0] != data_key(current.config.data):
        return None
    return previous[1]


@dataclass(frozen=True)
class DataView:
    """What the Data tab draws for one dataset.

    Attributes:
        frame: one row per sample (at most :data:`MAX_SCATTER_ROWS`), under internal column
            names that no file can collide with: the raw features ``x0, x1, ...``, the
            regression target ``target``, ``class`` (the class name) and ``split``.
        x, y: the columns of ``frame`` to plot against each other.
        titles: internal column name -> the name shown (the file's own, whatever characters
            it holds), for the axes, legend and tooltips.
        caption: why those two columns, in a sentence (the real names).
        extras: for the notebook, its unused ``classification_data`` beside the inputs actually
            used, with the class labels: ``value, class, source``; else ``None``.
        description, source: the dataset's own paragraph and provenance.
    """

    frame: pd.DataFrame
    x: str
    y: str
    titles: dict[str, str]
    caption: str
    extras: pd.DataFrame | None
    description: str
    source: str


def _columns(dataset: mtl.Dataset) -> tuple[list[str], str, dict[str, str]]:
    """Internal names of the features and the target, and every internal name's title.

    A feature or target named ``class``, ``split``, ``member`` or ``epoch``, two names that
    differ only in punctuation (``a.b`` and ``a_b``), or a name full of quotes and brackets:
    none of them can collide with each other or with the page's own columns, because the frame
    never uses them as column names; they are only shown.
    """
    features = [f"x{j}" for j in range(len(dataset.feature_names))]
    titles = dict(zip(features, (str(n) for n in dataset.feature_names), strict=True))
    titles["target"] = str(dataset.regression_names[0])
    titles["class"] = "class"
    titles["split"] = "split"
    return features, "target", titles


@st.cache_data(max_entries=16, show_spinner=False)
def _data_view(key: str, _spec: mtl.DataSpec) -> DataView:
    """Build :class:`DataView` for ``_spec`` (identified by ``key``)."""
    dataset = mtl.build_dataset(_spec)
    split = split_dataset(dataset, _spec.test_fraction, _spec.seed, _spec.standardize)
    features, target, titles = _columns(dataset)
    x = dataset.x.double().numpy()
    y = dataset.y_reg[:, 0].double().numpy()
    frame = pd.DataFrame(x, columns=features)
    frame[target] = y
    classes = np.asarray(dataset.class_names, dtype=object)[dataset.y_cls.numpy()]
    frame["class"] = classes
    labels = np.full(dataset.n_rows, "train", dtype=object)
    labels[split.test_index.numpy()] = "test"
    frame["split"] = labels
    if len(features) == 1:
        chosen = features[0]
        caption = (
            f"The only feature, {inert.code(titles[chosen])}, against the regression target "
            f"{inert.code(titles[target])}."
        )
    else:
        corr = [abs(_corr(x[:, j], y)) for j in range(x.shape[1])]
        j = int(np.nanargmax(corr)) if not all(math.isnan(c) for c in corr) else 0
        chosen = features[j]
        caption = (
            f"The regression target {inert.code(titles[target])} against "
            f"{inert.code(titles[chosen])}, the feature most correlated with it "
            f"(|r| = {corr[j]:.2f}; {len(features)} features in all)."
        )
    caption += " Colour: class. Hollow points: test rows."
    if len(frame) > MAX_SCATTER_ROWS:
        frame = frame.sample(MAX_SCATTER_ROWS, random_state=0).sort_index()
        caption += f" A random {MAX_SCATTER_ROWS} of the {dataset.n_rows} rows are drawn."
    extras = None
    if "classification_data" in dataset.extras:
        unused = dataset.extras["classification_data"][:, 0].double().numpy()
        extras = pd.concat(
            [
                pd.DataFrame({"value": x[:, 0], "class": classes, "source": "inputs used"}),
                pd.DataFrame({"value": unused, "class": classes, "source": "classification_data"}),
            ],
            ignore_index=True,
        )
    return DataView(
        frame, chosen, target, titles, caption, extras, dataset.description, dataset.source
    )


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation, NaN for a constant column."""
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def data_view(spec: mtl.DataSpec) -> DataView:
    """The Data tab's content for ``spec``, cached on the data's key."""
    return _data_view(data_key(spec), spec)


# ---------------------------------------------------------------- sweeps and face-offs


@dataclass(frozen=True)
class SweepRequest:
    """A sweep the person asked for: the configuration, the α points and the number of seeds."""

    cfg: mtl.RunConfig
    points: int
    seeds: int

    @property
    def key(self) -> str:
        """The cache key: the config's key, the grid and the seeds."""
        return f"{cache_key(self.cfg)}|points={self.points}|seeds={self.seeds}"


@dataclass(frozen=True)
class FaceOffRequest:
    """A face-off the person asked for: the configuration, the methods and the number of seeds."""

    cfg: mtl.RunConfig
    methods: tuple[str, ...]
    seeds: int

    @property
    def key(self) -> str:
        """The cache key: the config's key, the methods and the seeds."""
        return f"{cache_key(self.cfg)}|methods={','.join(self.methods)}|seeds={self.seeds}"


@st.cache_data(max_entries=MAX_COMPARISONS, show_spinner=False)
def _sweep(key: str, _request: SweepRequest) -> mtl.Result:
    """Train the sweep ``_request`` (identified by ``key``) with a progress bar."""
    weights = [(a, 1.0 - a) for a in alpha_grid(_request.points)]
    seeds = seeds_from(_request.cfg, _request.seeds)
    return _compute(
        f"Sweep of {len(weights) * len(seeds)} members",
        lambda progress, stop: mtl.sweep(
            _request.cfg, weights=weights, seeds=seeds, on_progress=progress, should_stop=stop
        ),
    )


def sweep(request: SweepRequest) -> mtl.Result:
    """The sweep's result: ``len(alpha_grid) * seeds`` members in one population, cached.

    Member ``i * seeds + j`` has α = ``alpha_grid[i]`` and seed ``seeds_from(cfg)[j]``. Raises
    ``mtl.ConfigError`` (e.g. field ``work``, over the work budget) or ``mtl.DataError``.
    """
    try:
        with _releasing():
            result = _sweep(request.key, request)
    except Cancelled:
        _cancelled()
    coarse_note(result.log_every, result.n_members, result.config.epochs)
    return result


def coarse_note(every: int, members: int, epochs: int) -> None:
    """Say so on the page when a result logged only every ``every``-th epoch."""
    if every > 1:
        st.caption(
            f"To keep memory small, this {members}-member result of {epochs} epochs logged every "
            f"{every}th epoch (and the last) rather than every epoch: its curves are drawn from "
            "those epochs, and every figure shown, the final ones included, is exact.",
        )


@st.cache_data(max_entries=MAX_COMPARISONS, show_spinner=False)
def _face_off(key: str, _request: FaceOffRequest) -> FaceOff:
    """Run the face-off ``_request`` (identified by ``key``) with a progress bar."""
    return _compute(
        f"Face-off of {len(_request.methods)} methods and the single-task baselines",
        lambda progress, stop: run_face_off(
            _request.cfg,
            _request.methods,
            seeds_from(_request.cfg, _request.seeds),
            on_progress=progress,
            should_stop=stop,
        ),
    )


def face_off(request: FaceOffRequest) -> FaceOff:
    """The face-off's outcome (:class:`mtl.compare.FaceOff`), cached.

    The methods are trained in :data:`~mtl.weighting.METHODS` order whatever order they were
    chosen in, so one set of methods is one cache entry.
    """
    ordered = tuple(m for m in METHODS if m in request.methods)
    canonical = FaceOffRequest(request.cfg, ordered, request.seeds)
    try:
        with _releasing():
            outcome = _face_off(canonical.key, canonical)
    except Cancelled:
        _cancelled()
    every = max(r.log_every for r in [*outcome.results.values(), outcome.baseline])
    coarse_note(every, len(outcome.summary), request.cfg.epochs)
    return outcome
