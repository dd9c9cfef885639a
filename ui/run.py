"""Cached training, sweeps and face-offs for the page, their progress bars, and cancellation.

Cache keying: the config is passed unhashed (``_cfg``) beside an explicit key,
:func:`ui.keys.cache_key` (see :mod:`ui.keys` for why).

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

Slots: a computation (a cache miss) trains in one of the server's training slots
(:func:`ui.runtime.training_slot`), waiting for one if need be. A cache hit never takes a slot.

Memory: after a run, sweep or face-off was computed (not on a cache hit), the public wrappers call
:func:`mtl.runtime.release_memory` once the cache has stored the result, so what the work and
its pickling freed goes back to the operating system instead of staying in this session
thread's malloc arena.

The last good result and the previous run's summary live in :mod:`ui.memory`; :func:`train`
records them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

import mtl
from mtl.compare import FaceOff, TunedFaceOff
from mtl.compare import face_off as run_face_off
from mtl.compare import tuned_face_off as run_tuned_face_off
from mtl.engine import Cancelled, ProgressFn, StopFn
from mtl.runtime import release_memory
from mtl.sweeps import DEFAULT_GRID, seeds_from
from mtl.weighting import METHODS
from ui.keys import cache_key
from ui.memory import LAST_GOOD, remember
from ui.runtime import training_slot

MAX_PROGRESS_UPDATES = 20
"""Most progress-bar updates per run: each is a message to the browser."""

STOP_POLL_SECONDS = 0.05
"""Least time between two looks at Streamlit's state in :func:`should_stop` (one thread)."""

T = TypeVar("T")

MAX_COMPARISONS = 4
"""Sweeps (and face-offs) kept in the cache: each holds hundreds of members' histories."""


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


def _compute(label: str, work: Callable[[ProgressFn, StopFn], T]) -> T:
    """Run ``work(on_progress, should_stop)`` in a training slot, with a progress bar.

    Called inside a cached function's body (a cache miss). The waiting message and the bar share
    one placeholder, emptied at the end whatever happens.
    """
    _computed()
    placeholder = st.empty()
    try:
        with training_slot(placeholder, should_stop):  # looked up now: tests may replace it
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
    result = cached(cfg)
    remember(cache_key(cfg), result)
    return result


def cached(cfg: mtl.RunConfig) -> mtl.Result:
    """The result of ``cfg``, from the cache or trained now, without making it the run on screen.

    For runs the page shows beside the one on screen (the Learn mode's comparisons): the same
    cache and progress bar as :func:`train`, but the session's last good run and the metrics'
    deltas are left alone. Raises like :func:`train`.
    """
    try:
        with _releasing():
            return _train(cache_key(cfg), cfg)
    except Cancelled:
        _cancelled()


# ---------------------------------------------------------------- sweeps and face-offs


@dataclass(frozen=True)
class SweepRequest:
    """A sweep the person asked for: the configuration, the α points, the seeds and the grid.

    ``grid`` is one of :data:`mtl.sweeps.GRIDS`; ``cfg`` is :func:`mtl.sweeps.sweep_config` of the
    run for that grid.
    """

    cfg: mtl.RunConfig
    points: int
    seeds: int
    grid: str = DEFAULT_GRID

    @property
    def key(self) -> str:
        """The cache key: the config's key, the grid and the seeds."""
        return f"{cache_key(self.cfg)}|points={self.points}|seeds={self.seeds}|grid={self.grid}"


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
    seeds = seeds_from(_request.cfg, _request.seeds)
    return _compute(
        f"Sweep of {_request.points * len(seeds)} members",
        lambda progress, stop: mtl.sweep(
            _request.cfg,
            grid=_request.grid,
            points=_request.points,
            seeds=seeds,
            on_progress=progress,
            should_stop=stop,
        ),
    )


def sweep(request: SweepRequest) -> mtl.Result:
    """The sweep's result: ``points * seeds`` members in one population, cached.

    Member ``i * seeds + j`` has α = ``grid_alphas(grid, points)[i]`` and seed
    ``seeds_from(cfg)[j]`` (:mod:`mtl.sweeps`). Raises
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


# ---------------------------------------------------------------- the tuned face-off


@dataclass(frozen=True)
class TunedRequest:
    """A tuned face-off the person asked for: the configuration, the methods and the seeds."""

    cfg: mtl.RunConfig
    methods: tuple[str, ...]
    seeds: int

    @property
    def key(self) -> str:
        """The cache key: the config's key, the methods and the seeds."""
        return f"{cache_key(self.cfg)}|tuned|methods={','.join(self.methods)}|seeds={self.seeds}"


@st.cache_data(max_entries=MAX_COMPARISONS, show_spinner=False)
def _tuned(key: str, _request: TunedRequest) -> TunedFaceOff:
    """Run the tuned face-off ``_request`` (identified by ``key``) with a progress bar."""
    return _compute(
        f"Tuned face-off of {len(_request.methods)} methods and the static front",
        lambda progress, stop: run_tuned_face_off(
            _request.cfg,
            _request.methods,
            seeds_from(_request.cfg, _request.seeds),
            on_progress=progress,
            should_stop=stop,
        ),
    )


def tuned_face_off(request: TunedRequest) -> TunedFaceOff:
    """The tuned face-off's outcome (:class:`mtl.compare.TunedFaceOff`), cached.

    Like :func:`face_off`, the methods run in :data:`~mtl.weighting.METHODS` order, so one set
    of methods is one cache entry.
    """
    ordered = tuple(m for m in METHODS if m in request.methods)
    canonical = TunedRequest(request.cfg, ordered, request.seeds)
    try:
        with _releasing():
            return _tuned(canonical.key, canonical)
    except Cancelled:
        _cancelled()
