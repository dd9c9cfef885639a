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

Memory: after a run, sweep or face-off was computed (not on a cache hit), the public wrappers call
:func:`mtl.runtime.release_memory` once the cache has stored the result, so what the work and
its pickling freed goes back to the operating system instead of staying in this session
thread's malloc arena.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

import mtl
from mtl.budget import set_work_budget
from mtl.compare import FaceOff
from mtl.compare import face_off as run_face_off
from mtl.data import split_dataset
from mtl.runtime import configure_allocator, configure_threads, release_memory
from mtl.sweeps import alpha_grid, seeds_from
from mtl.weighting import METHODS
from ui import inert

MAX_PROGRESS_UPDATES = 20
"""Most progress-bar updates per run: each is a message to the browser."""

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


_work = threading.local()
"""``computed``: whether a cached function ran its body in this thread (each session's script
runs in a thread of its own) since :func:`_releasing` last looked."""


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
    _computed()
    bar = st.progress(0.0, text="Training…")
    try:
        return mtl.train(
            _cfg,
            on_progress=ThrottledProgress(
                lambda f, text: bar.progress(f, text=text), MAX_PROGRESS_UPDATES
            ),
        )
    finally:
        bar.empty()


def train(cfg: mtl.RunConfig) -> mtl.Result:
    """The result of ``cfg``, from the cache or trained now; remembered as the last good one.

    Raises ``mtl.ConfigError`` / ``mtl.DataError`` for a configuration the engine refuses (for
    example a batch larger than the training split); nothing is remembered then.
    """
    key = cache_key(cfg)
    with _releasing():
        result = _train(key, cfg)
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


def _progress_bar(label: str) -> tuple[Any, ThrottledProgress]:
    bar = st.progress(0.0, text=f"{label}…")
    return bar, ThrottledProgress(
        lambda f, text: bar.progress(f, text=text), MAX_PROGRESS_UPDATES, label=label
    )


@st.cache_data(max_entries=MAX_COMPARISONS, show_spinner=False)
def _sweep(key: str, _request: SweepRequest) -> mtl.Result:
    """Train the sweep ``_request`` (identified by ``key``) with a progress bar."""
    _computed()
    weights = [(a, 1.0 - a) for a in alpha_grid(_request.points)]
    seeds = seeds_from(_request.cfg, _request.seeds)
    label = f"Sweep of {len(weights) * len(seeds)} members"
    bar, progress = _progress_bar(label)
    try:
        return mtl.sweep(_request.cfg, weights=weights, seeds=seeds, on_progress=progress)
    finally:
        bar.empty()


def sweep(request: SweepRequest) -> mtl.Result:
    """The sweep's result: ``len(alpha_grid) * seeds`` members in one population, cached.

    Member ``i * seeds + j`` has α = ``alpha_grid[i]`` and seed ``seeds_from(cfg)[j]``. Raises
    ``mtl.ConfigError`` (e.g. field ``work``, over the work budget) or ``mtl.DataError``.
    """
    with _releasing():
        return _sweep(request.key, request)


@st.cache_data(max_entries=MAX_COMPARISONS, show_spinner=False)
def _face_off(key: str, _request: FaceOffRequest) -> FaceOff:
    """Run the face-off ``_request`` (identified by ``key``) with a progress bar."""
    _computed()
    label = f"Face-off of {len(_request.methods)} methods and the single-task baselines"
    bar, progress = _progress_bar(label)
    try:
        return run_face_off(
            _request.cfg,
            _request.methods,
            seeds_from(_request.cfg, _request.seeds),
            on_progress=progress,
        )
    finally:
        bar.empty()


def face_off(request: FaceOffRequest) -> FaceOff:
    """The face-off's outcome (:class:`mtl.compare.FaceOff`), cached.

    The methods are trained in :data:`~mtl.weighting.METHODS` order whatever order they were
    chosen in, so one set of methods is one cache entry.
    """
    ordered = tuple(m for m in METHODS if m in request.methods)
    canonical = FaceOffRequest(request.cfg, ordered, request.seeds)
    with _releasing():
        return _face_off(canonical.key, canonical)
