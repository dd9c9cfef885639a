"""What-if comparisons: Pareto fronts, Delta_m, and method face-offs.

The questions these answer: "which weights give the best trade-off between the two tasks?"
(:func:`pareto_front` over a weight sweep) and "which weighting method wins on this data?"
(:func:`face_off`, each method trained on the same data and seeds, with :func:`delta_m` against
single-task baselines), and the same question asked carefully (:func:`tuned_face_off`: every
method at its best of one learning-rate grid chosen on validation rows, 95% intervals over seeds,
a grouping of the methods that cannot be told from the best, and the tuned static front as the
reference, all trained as one mixed population, :mod:`mtl.mixed`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from mtl.budget import (
    DataShape,
    Request,
    check_request,
    face_off_config,
    method_probe,
    population_seconds,
    trains_alone,
)
from mtl.config import ConfigError, RunConfig, WeightingSpec, check_range
from mtl.data import Split, build_dataset, split_dataset, split_rows
from mtl.engine import (
    Population,
    ProgressFn,
    StopFn,
    _Trainer,
    resolve_device,
    train_population,
)
from mtl.results import Result, full_log_limit, summary_split
from mtl.stats import seeds_to_separate, t_interval, welch
from mtl.weighting import METHODS

OBJECTIVES: dict[str, bool] = {"mse": False, "accuracy": True}
"""Metric -> whether higher is better; the two objectives of the trade-off."""


def pareto_front(
    frame: pd.DataFrame, minimize: str = "test_mse", maximize: str = "test_accuracy"
) -> pd.Series:
    """Which rows are non-dominated: no other row is at least as good in both and better in one.

    Rows with a missing (NaN) objective, such as diverged members, are never on the front.
    Returns a boolean Series aligned with ``frame``. O(n²) in numpy, fine for the few hundred
    members of a sweep.
    """
    lo = frame[minimize].to_numpy(dtype=float)
    hi = frame[maximize].to_numpy(dtype=float)
    valid = np.isfinite(lo) & np.isfinite(hi)
    # dominated[i] if some valid j has lo_j <= lo_i, hi_j >= hi_i and one of them strictly
    no_worse = (lo[None, :] <= lo[:, None]) & (hi[None, :] >= hi[:, None])
    better = (lo[None, :] < lo[:, None]) | (hi[None, :] > hi[:, None])
    dominated = (no_worse & better & valid[None, :]).any(axis=1)
    return pd.Series(valid & ~dominated, index=frame.index, name="pareto")


def delta_m(
    metrics: dict[str, float], baselines: dict[str, float], higher_is_better: dict[str, bool]
) -> float:
    """Delta_m in percent: the mean relative change of each metric against its baseline.

    LibMTL's definition (Lin & Zhang, 2023, "LibMTL: A Python Library for Multi-Task Learning",
    JMLR; after Maninis et al., 2019)::

        Delta_m = 100% / T * sum_t (-1)^{s_t} (M_t - B_t) / B_t

    with ``s_t = 1`` when lower is better for metric t (MSE), 0 when higher is better (accuracy).
    **Sign convention: positive is better** than the baselines; a method that matches both
    single-task baselines scores 0.
    """
    terms = []
    for name, value in metrics.items():
        base = baselines[name]
        sign = 1.0 if higher_is_better[name] else -1.0
        terms.append(sign * (value - base) / base)
    return 100.0 * float(np.mean(terms))


@dataclass(frozen=True)
class FaceOff:
    """Several weighting methods trained on the same data and seeds.

    Attributes:
        results: method name -> its members' :class:`Result` (one member per seed, numbered
            from 0; cut out of the face-off's mixed population, or the method's own population
            when it reads the representation's gradients; ``seconds`` is that population's).
        baseline: the single-task baselines' :class:`Result`: static weights ``(1, 0)``
            (regression alone) and ``(0, 1)`` (classification alone), one member per seed each.
        summary: every member's summary row with a ``method`` column.
        table: one row per method: mean and standard deviation over seeds of the final test
            (else train, :func:`mtl.results.summary_split`) MSE and accuracy, and ``delta_m``
            (percent, positive = better than the single-task baselines), ordered best first.
        baselines: what ``delta_m`` compares against, on the table's split: ``mse``, the mean
            MSE of regression alone, and ``accuracy``, the mean accuracy of classification alone.
    """

    results: dict[str, Result]
    baseline: Result
    summary: pd.DataFrame
    table: pd.DataFrame
    baselines: dict[str, float]


def face_off(
    cfg: RunConfig,
    methods: Sequence[str],
    seeds: Sequence[int] = (0, 1, 2),
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    *,
    device: str | torch.device | None = None,
) -> FaceOff:
    """Train each method in ``methods`` over ``seeds``, beside the single-task baselines.

    Every method is configured by :func:`mtl.budget.face_off_config`: the static method keeps
    ``cfg``'s weights, a method equal to ``cfg``'s keeps its hyper-parameters, the others use
    their papers' defaults, and the weights keep ``cfg``'s scale. The single-task baselines are
    static weights ``(1, 0)`` and ``(0, 1)`` over the same seeds.

    All of it trains as one mixed population (:mod:`mtl.mixed`): methods x seeds members plus
    the baselines, in one batched training, which pays the engine's per-step cost once instead
    of once per method. Each member is the same run as in a population of its method alone
    (``tests/test_compare.py``); :attr:`FaceOff.results` holds each method's members as a
    :class:`Result` of their own, as before. A method whose weights read the shared
    representation's gradients (MGDA-UB; :func:`trains_alone`) trains in a population of its
    own after it; GradDrop, which only combines them, mixes (only its own members' update
    goes back through the representation, :mod:`mtl.mixed`). ``on_progress(done, total)``
    counts epochs over the populations; ``should_stop()`` is passed to each
    (:class:`mtl.engine.Cancelled` ends the whole face-off, returning nothing).

    The whole face-off is priced once, before anything trains (:mod:`mtl.budget`): over the
    work budget, a :class:`~mtl.errors.ConfigError` (field ``work``) says what to lower, and
    nothing has run. ``device`` is where to compute, as in :func:`mtl.train`.
    """
    where = resolve_device(device)
    if not methods:
        raise ConfigError("face_off.methods", list(methods), "at least one method")
    if not seeds:
        raise ConfigError("face_off.seeds", list(seeds), "at least one seed")
    seeds = tuple(int(s) for s in seeds)
    check_request(Request.face_off(cfg, tuple(methods), len(seeds)))
    methods = tuple(dict.fromkeys(methods))
    configs = {m: face_off_config(cfg, m) for m in methods}
    own = [m for m in methods if trains_alone(cfg, m)]
    total = cfg.epochs * (1 + len(own))

    def progress_from(offset: int) -> ProgressFn | None:
        if on_progress is None:
            return None
        return lambda done, _total: on_progress(offset + done, total)

    # the face-off's populations share one full-log allowance, in proportion to their members
    members = len(seeds) * (len(methods) + 2)
    limit = full_log_limit()

    def log_limit(k: int) -> int:
        return max(1, limit * k // members) if limit else 0

    # one mixed population: each mixed method's seeds, then the baselines' (regression alone,
    # then classification alone)
    mixed = [m for m in methods if m not in own]
    baseline_cfg = cfg.with_(weighting=WeightingSpec(method="static", weights=(1.0, 0.0)))
    alone = [baseline_cfg.weighting, WeightingSpec(method="static", weights=(0.0, 1.0))]
    specs = [configs[m].weighting for m in mixed for _ in seeds]
    specs += [spec for spec in alone for _ in seeds]
    population = Population(
        weights=tuple(spec.weights for spec in specs),
        seeds=seeds * (len(mixed) + len(alone)),
        methods=tuple(specs),
    )
    whole = train_population(
        cfg,
        population,
        progress_from(0),
        should_stop,
        log_limit(len(specs)),
        device=where,
    )
    k = len(seeds)
    parts = {m: _members(whole, slice(i * k, (i + 1) * k), configs[m]) for i, m in enumerate(mixed)}
    baseline = _members(whole, slice(len(mixed) * k, len(specs)), baseline_cfg)
    for i, method in enumerate(own):
        parts[method] = train_population(
            configs[method],
            Population(weights=(configs[method].weighting.weights,) * k, seeds=seeds),
            progress_from((i + 1) * cfg.epochs),
            should_stop,
            log_limit(k),
            device=where,
        )
    results = {m: parts[m] for m in methods}
    summary = pd.concat(
        [r.summary.assign(method=name) for name, r in results.items()], ignore_index=True
    )
    split = summary_split(summary)
    baselines = _baselines(baseline.summary, split)
    return FaceOff(results, baseline, summary, _table(summary, baselines, split), baselines)


def _members(result: Result, members: slice, cfg: RunConfig) -> Result:
    """The members ``members`` of a population's ``result``, as a result of their own.

    Members are renumbered from 0 in every frame; ``cfg`` is the configuration they trained
    with (a member of a mixed population trains as its method's own population would).
    ``seconds`` stays the whole population's.
    """
    lo, hi = members.start, members.stop

    def part(frame: pd.DataFrame) -> pd.DataFrame:
        member = frame["member"].to_numpy()
        chosen = frame[(member >= lo) & (member < hi)].reset_index(drop=True)
        return chosen.assign(member=chosen["member"] - lo)

    return replace(
        result,
        config=cfg,
        history=part(result.history),
        metrics=part(result.metrics),
        diagnostics=part(result.diagnostics),
        summary=part(result.summary),
    )


def _baselines(baseline: pd.DataFrame, split: str) -> dict[str, float]:
    """The single-task baselines on ``split``, each the mean over seeds.

    Regression alone (weights ``(1, 0)``) gives the MSE, classification alone the accuracy.
    """
    single_reg = baseline[baseline.w_classification == 0.0]
    single_cls = baseline[baseline.w_regression == 0.0]
    return {
        "mse": float(single_reg[f"{split}_mse"].mean()),
        "accuracy": float(single_cls[f"{split}_accuracy"].mean()),
    }


def _table(summary: pd.DataFrame, baselines: dict[str, float], split: str) -> pd.DataFrame:
    """One row per method: means and spreads over seeds on ``split``, Δm, best first."""
    mse, acc = f"{split}_mse", f"{split}_accuracy"
    rows = []
    for method, group in summary.groupby("method", sort=False):
        means = {"mse": float(group[mse].mean()), "accuracy": float(group[acc].mean())}
        rows.append(
            {
                "method": method,
                "mse_mean": means["mse"],
                "mse_std": float(group[mse].std(ddof=0)),
                "accuracy_mean": means["accuracy"],
                "accuracy_std": float(group[acc].std(ddof=0)),
                "delta_m": delta_m(means, baselines, OBJECTIVES),
                "diverged": int(group["diverged"].sum()),
                "split": split,
            }
        )
    table = pd.DataFrame(rows).sort_values("delta_m", ascending=False, na_position="last")
    return table.reset_index(drop=True)


# ---------------------------------------------------------------- fronts: hypervolume, convexity


def _objectives(frame: pd.DataFrame, minimize: str, maximize: str) -> tuple[np.ndarray, np.ndarray]:
    """The two objectives as float arrays, both to be minimised: ``(minimize, -maximize)``."""
    return frame[minimize].to_numpy(dtype=float), -frame[maximize].to_numpy(dtype=float)


def hypervolume(
    summary: pd.DataFrame,
    reference: tuple[float, float],
    minimize: str = "test_mse",
    maximize: str = "test_accuracy",
) -> float:
    """The area the members dominate up to ``reference``, exactly, for two objectives.

    The objectives are those of the sweep's front on the page: ``minimize`` (the final MSE) is
    minimised and ``maximize`` (the final accuracy) maximised, i.e. ``1 - accuracy`` minimised.
    ``reference = (mse, accuracy)`` is a point worse than the members of interest in both: the
    hypervolume is the area of the set of ``(m, a)`` with ``m <= reference[0]``,
    ``a >= reference[1]`` that some member dominates (its MSE at most ``m`` and its accuracy at
    least ``a``), in MSE units times accuracy (a fraction). Larger is better.

    Dominated members add nothing; members with a missing (NaN) objective, and members not
    strictly better than the reference in both objectives, contribute nothing. Computed exactly:
    sort by MSE and add one rectangle per step of the running best accuracy (O(n log n)).
    """
    lo, hi = _objectives(summary, minimize, maximize)
    ref_lo, ref_hi = float(reference[0]), -float(reference[1])
    inside = np.isfinite(lo) & np.isfinite(hi) & (lo < ref_lo) & (hi < ref_hi)
    lo, hi = lo[inside], hi[inside]
    if not len(lo):
        return 0.0
    order = np.lexsort((hi, lo))  # by the first objective, ties by the second
    lo, best = lo[order], np.minimum.accumulate(hi[order])  # best second objective so far
    widths = np.diff(np.append(lo, ref_lo))
    return float(np.sum(widths * (ref_hi - best)))


def front_reference(
    *summaries: pd.DataFrame, minimize: str = "test_mse", maximize: str = "test_accuracy"
) -> tuple[float, float]:
    """The nadir of the given sweeps' Pareto fronts: ``(worst MSE, worst accuracy)`` over them.

    The usual hypervolume reference when fronts are compared: the same point for all of them,
    where every front's extreme members (one objective's best) add no area, so the hypervolume
    measures the trade-offs between the extremes. Each sweep's front is taken on its own
    (:func:`pareto_front`). NaN when no front has a member.
    """
    worst_lo, worst_hi = -np.inf, np.inf
    for summary in summaries:
        front = summary[pareto_front(summary, minimize, maximize)]
        if len(front):
            worst_lo = max(worst_lo, float(front[minimize].max()))
            worst_hi = min(worst_hi, float(front[maximize].min()))
    if not np.isfinite(worst_lo):
        return (float("nan"), float("nan"))
    return (worst_lo, worst_hi)


def supported(
    summary: pd.DataFrame, minimize: str = "test_mse", maximize: str = "test_accuracy"
) -> pd.Series:
    """Which members are *supported* points of the front: on the front and on its convex hull.

    A supported point minimises some weighted sum ``w_1 mse + w_2 (1 - accuracy)`` (``w >= 0``)
    over the front; a point of the front that is not supported lies in a dent of the front (a
    non-convex stretch), where no weighted sum of these two objectives picks it. Computed as the
    front's lower convex hull in ``(mse, 1 - accuracy)`` (Andrew's monotone chain); points on a
    hull edge count as supported. Returns a boolean Series aligned with ``summary`` (False off the
    front). The answer does not depend on the axes' units (a positive rescaling of either
    objective keeps a hull a hull).
    """
    on_front = pareto_front(summary, minimize, maximize)
    lo, hi = _objectives(summary, minimize, maximize)
    rows = np.flatnonzero(on_front.to_numpy())
    rows = rows[np.lexsort((hi[rows], lo[rows]))]
    hull: list[int] = []
    for i in rows:  # lower hull, left to right: drop the last point while it is above the chord
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (lo[b] - lo[a]) * (hi[i] - hi[a]) - (hi[b] - hi[a]) * (lo[i] - lo[a])
            scale = abs(lo[i] - lo[a]) * abs(hi[b] - hi[a]) + abs(hi[i] - hi[a]) * abs(
                lo[b] - lo[a]
            )
            if cross < -1e-12 * scale:  # b lies strictly above the chord a-i: not on the hull
                hull.pop()
            else:
                break
        hull.append(int(i))
    mask = np.zeros(len(summary), dtype=bool)
    mask[hull] = True
    return pd.Series(mask, index=summary.index, name="supported")


def region_beyond_hull(
    linear: pd.DataFrame,
    other: pd.DataFrame,
    reference: tuple[float, float],
    minimize: str = "test_mse",
    maximize: str = "test_accuracy",
    points: int = 400,
) -> pd.DataFrame:
    """Where ``other``'s front reaches beyond the convex hull of ``linear``'s front.

    The hull region of the linear front is every ``(m, a)`` that some convex combination of its
    members dominates: below the upper concave chain through its supported points
    (:func:`supported`) in the page's axes (MSE right, accuracy up), flat after the last one and
    empty before the first. Every linear member lies in it. ``other``'s dominated region is below
    its step line (the best accuracy among its members with an MSE at most ``m``). The region
    returned is what ``other`` dominates outside the hull region, cut at ``reference``: a frame
    with ``mse``, ``low`` and ``high`` (accuracy) on a grid of about ``points`` MSE values (plus
    the steps' corners), ``low == high`` where there is nothing. Empty when either front is.
    """
    lin_lo, lin_hi = linear[minimize].to_numpy(float), linear[maximize].to_numpy(float)
    hull = supported(linear, minimize, maximize).to_numpy()
    order = np.argsort(lin_lo[hull])
    hull_x, hull_y = lin_lo[hull][order], lin_hi[hull][order]
    oth_lo, oth_hi = other[minimize].to_numpy(float), other[maximize].to_numpy(float)
    ok = np.isfinite(oth_lo) & np.isfinite(oth_hi) & (oth_lo < reference[0])
    oth_lo, oth_hi = oth_lo[ok], oth_hi[ok]
    empty = pd.DataFrame({"mse": [], "low": [], "high": []})
    if not len(hull_x) or not len(oth_lo):
        return empty
    start = float(min(oth_lo.min(), hull_x.min()))
    stop = float(reference[0])
    if not stop > start:
        return empty
    corners = np.concatenate([oth_lo, np.nextafter(oth_lo, -np.inf), hull_x])
    grid = np.unique(np.concatenate([np.linspace(start, stop, points), corners]))
    grid = grid[(grid >= start) & (grid <= stop)]
    # the hull's upper chain: linear between supported points, flat after, nothing before
    floor = float(reference[1])
    chain = np.interp(grid, hull_x, hull_y)
    chain = np.where(grid < hull_x[0], floor, np.maximum(chain, floor))
    # other's step line: the best accuracy among its members with MSE <= x
    order = np.argsort(oth_lo)
    best = np.maximum.accumulate(oth_hi[order])
    idx = np.searchsorted(oth_lo[order], grid, side="right") - 1
    step = np.where(idx >= 0, best[np.clip(idx, 0, None)], floor)
    high = np.maximum(step, chain)
    return pd.DataFrame({"mse": grid, "low": chain, "high": high})


# ---------------------------------------------------------------- the tuned face-off

LR_FACTORS: tuple[float, ...] = (1 / 3, 1.0, 3.0, 10.0)
"""The learning-rate grid of a tuned face-off, as factors of the configuration's rate: half-decade
steps from a third of it to ten times it (defaults are usually set cautiously low, so the grid
reaches further up than down). Every method, the static front and the baselines get this grid."""

VALIDATION_FRACTION = 0.2
"""The share of the training rows a tuned face-off holds out to pick each method's setting."""

FRONT_POINTS = 11
"""α points of the tuned static front (0, 0.1, ..., 1; the ends are the single-task baselines)."""

VALIDATION_STREAM = 0x5A11D
"""Added to the data seed to draw the validation rows (a stream of its own, see
:func:`validation_split`)."""

LEVEL = 0.95
"""Confidence level of the intervals and 1 - the significance level of the grouping."""


def validation_split(cfg: RunConfig, fraction: float = VALIDATION_FRACTION) -> tuple[Split, Split]:
    """The tuned face-off's data: ``(fit, test)`` splits sharing the same training rows.

    The configuration's own split (:func:`mtl.data.split_dataset`) gives the training and test
    rows; ``round(fraction x training rows)`` of the training rows, drawn by a permutation from
    ``torch.Generator().manual_seed(data seed + VALIDATION_STREAM)``, are held out for validation.
    The models train on the rest. ``fit`` holds those rows and the validation rows (as its
    ``test`` part); ``test`` the same rows and the test rows. Both are standardised on the rows
    the models train on. Deterministic: the same configuration gives the same rows.

    Raises :class:`ConfigError` when the configuration has no test split (``data.test_fraction``
    0: the face-off reports on held-out rows) or too few training rows to hold some out.
    """
    dataset = build_dataset(cfg.data)
    if cfg.data.test_fraction <= 0:
        raise ConfigError(
            "data.test_fraction",
            cfg.data.test_fraction,
            "a test split (above 0): a tuned face-off picks settings on validation rows and "
            "reports on test rows",
        )
    full = split_dataset(dataset, cfg.data.test_fraction, cfg.data.seed, False)
    train_index = full.train_index
    n_val = round(len(train_index) * fraction)
    if n_val < 1 or len(train_index) - n_val < 2:
        raise ConfigError(
            "data.n_samples",
            dataset.n_rows,
            f"enough training rows to hold out {fraction:.0%} for validation",
        )
    order = torch.randperm(
        len(train_index), generator=torch.Generator().manual_seed(cfg.data.seed + VALIDATION_STREAM)
    )
    val = train_index[order[:n_val]].sort().values
    fit = train_index[order[n_val:]].sort().values
    std_x, std_y = cfg.data.standardize, cfg.data.standardize_target
    return (
        split_rows(dataset, fit, val, std_x, std_y),
        split_rows(dataset, fit, full.test_index, std_x, std_y),
    )


@dataclass(frozen=True)
class TunedFaceOff:
    """A tuned face-off: every method at its best learning rate, with noise made visible.

    Attributes:
        table: one row per method, best mean test Δm first: ``method``; ``lr`` (the chosen
            learning rate) and ``lr_factor`` (it over the configuration's); ``val_delta_m`` (the
            selection score); per metric ``mse``, ``accuracy`` and ``delta_m`` the mean over
            seeds on the test rows with its 95% t-interval (``_mean``, ``_lo``, ``_hi``;
            ``delta_m`` is the mean itself); ``group`` (``"best"``, ``"tied"``: Welch's test
            cannot tell it from the best at 5%, or ``"behind"``); ``p_value`` (that test's);
            ``seeds_needed`` (seeds per method at which its observed gap to the best would be
            significant, NaN beyond 100 or for the best); ``front`` (``"beyond"``, ``"on"`` or
            ``"behind"`` the tuned static front, see :func:`front_position`); ``cost`` (estimated
            time per epoch relative to static weighting, from the work budget's measured cost
            model); ``diverged`` (members, at the chosen rate, of ``len(seeds)``).
        front: one row per α of the tuned static sweep: ``alpha``, its chosen ``lr``, the mean
            test ``mse_mean``/``accuracy_mean``, ``delta_m`` and ``pareto`` (on the front).
        summary: every member: ``method`` (``"static front"`` for the sweep), ``alpha`` (NaN
            for methods), ``lr``, ``seed``, ``val_mse``, ``val_accuracy``, ``test_mse``,
            ``test_accuracy``, ``diverged``.
        baselines: the single-task baselines on the test rows (``mse``: regression alone,
            ``accuracy``: classification alone), each at the rate its validation score chose.
        val_baselines: the same on the validation rows (what selection compares against).
        lrs: the learning-rate grid. seeds: the seeds. n_validation: validation rows.
        verdict: the sentence placing the methods against the front.
        hint: what more seeds would settle ('' when nothing is tied with the best).
        seconds: wall time of the training.
    """

    table: pd.DataFrame
    front: pd.DataFrame
    summary: pd.DataFrame
    baselines: dict[str, float]
    val_baselines: dict[str, float]
    lrs: tuple[float, ...]
    seeds: tuple[int, ...]
    n_validation: int
    verdict: str
    hint: str
    seconds: float


def bounded(
    interval: tuple[float, float, float], lo: float, hi: float
) -> tuple[float, float, float]:
    """A ``(mean, low, high)`` interval cut to the values the metric can take, ``[lo, hi]``.

    With three seeds the t-interval is wide (t = 4.30) and can reach an MSE below 0 or an accuracy
    above 100%. The metric's true mean lies in ``[lo, hi]``, so the cut interval covers it
    whenever the uncut one does: same confidence, and no bar drawn where no value can be.
    """
    mean, low, high = interval
    return mean, min(max(low, lo), hi), max(min(high, hi), lo)


def tuned_face_off(
    cfg: RunConfig,
    methods: Sequence[str],
    seeds: Sequence[int] = (0, 1, 2),
    lrs: Sequence[float] | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    *,
    front_points: int = FRONT_POINTS,
    validation: float = VALIDATION_FRACTION,
    device: str | torch.device | None = None,
) -> TunedFaceOff:
    """Tune every method's learning rate on validation rows and compare them on test rows.

    Protocol (the fair comparison Kurin et al., 2022 and Xin et al., 2022 ask for):

    1. Rows: :func:`validation_split` holds out ``validation`` of the training rows; the models
       train on the rest; the test rows are only used for the report.
    2. Grid: every method, every α of the static front (``front_points`` values from 0 to 1, the
       ends being the single-task baselines) gets the same learning rates ``lrs`` (default: the
       configuration's times :data:`LR_FACTORS`) and the same ``seeds``. Methods keep their
       papers' default hyper-parameters (the configuration's own method keeps its, static keeps
       the configuration's weights). All of it is one mixed population (:mod:`mtl.mixed`): one
       batched training for methods x rates x seeds members.
    3. Selection: the baselines pick their rate by their own validation figure (regression alone:
       lowest mean MSE; classification alone: highest mean accuracy). Every method and every α
       picks the rate with the best **validation Δm** (:func:`delta_m` of its mean validation MSE
       and accuracy against the validation baselines); rates where a seed diverged are skipped
       unless all are.
    4. Report on the test rows at the chosen rate: per seed MSE, accuracy and Δm (against the
       baselines' test figures), their mean and 95% t-interval over the seeds; the grouping by
       Welch's two-sided t-test at 5% on the per-seed Δm against the best method (highest mean):
       methods it cannot tell apart are ``"tied"``; the ``hint`` says how many seeds would
       settle the closest ties (:func:`mtl.stats.seeds_to_separate`).
    5. The tuned static front: the α points at their chosen rates, Pareto-filtered on mean test
       MSE and accuracy; each method is placed against it (:func:`front_position`) and
       ``verdict`` says which land beyond it, on it (within noise) or behind it.

    The whole population is priced before anything trains (:class:`mtl.budget.Request`
    ``tuned_face_off``). A method whose weights read the shared representation's gradients
    (MGDA-UB; :func:`trains_alone`) trains its rates x seeds in a population of its own, on the
    same rows (:mod:`mtl.mixed` cannot mix it with the rest); GradDrop mixes (only its own
    members' update goes back through the representation). ``on_progress(done,
    total)`` counts epochs over the populations.
    """
    start = time.perf_counter()
    where = resolve_device(device)
    if not methods:
        raise ConfigError("face_off.methods", list(methods), "at least one method")
    if not seeds:
        raise ConfigError("face_off.seeds", list(seeds), "at least one seed")
    methods = tuple(dict.fromkeys(methods))
    seeds = tuple(int(s) for s in seeds)
    grid = tuple(cfg.optim.lr * f for f in LR_FACTORS) if lrs is None else tuple(map(float, lrs))
    if not grid:
        raise ConfigError("face_off.lrs", list(grid), "at least one learning rate")
    for lr in grid:
        check_range("optim.lr", lr)
    alphas = tuple(i / (front_points - 1) for i in range(front_points))
    check_request(Request.tuned_face_off(cfg, methods, len(seeds), len(grid), len(alphas)))
    fit, test = validation_split(cfg, validation)
    own = [m for m in methods if trains_alone(cfg, m)]
    total = cfg.epochs * (1 + len(own))

    def progress_from(offset: int) -> ProgressFn | None:
        if on_progress is None:
            return None
        return lambda done, _total: on_progress(offset + done, total)

    # members: each method x rate x seed, then each alpha x rate x seed (the static front); the
    # methods that read the representation's gradients train in populations of their own
    rows: list[dict[str, Any]] = []
    specs: list[WeightingSpec] = []
    weights: list[tuple[float, ...]] = []
    for method in methods:
        spec = face_off_config(cfg, method).weighting
        for lr in grid:
            for seed in seeds:
                rows.append({"method": method, "alpha": math.nan, "lr": lr, "seed": seed})
                specs.append(spec)
                weights.append(spec.weights)
    static = WeightingSpec()
    for alpha in alphas:
        for lr in grid:
            for seed in seeds:
                rows.append({"method": FRONT, "alpha": alpha, "lr": lr, "seed": seed})
                specs.append(static)
                weights.append((alpha, 1.0 - alpha))
    summary = pd.DataFrame(rows)
    for column in ("val_mse", "val_accuracy", "test_mse", "test_accuracy"):
        summary[column] = math.nan
    summary["diverged"] = False
    log = max(1, 2 * len(rows))
    parts = [(cfg, ~summary["method"].isin(own).to_numpy(), True)]
    parts += [(face_off_config(cfg, m), (summary["method"] == m).to_numpy(), False) for m in own]
    for i, (part_cfg, chosen, mixed) in enumerate(parts):
        idx = np.flatnonzero(chosen)
        population = Population(
            weights=tuple(weights[j] for j in idx),
            seeds=tuple(rows[j]["seed"] for j in idx),
            lrs=tuple(rows[j]["lr"] for j in idx),
            methods=tuple(specs[j] for j in idx) if mixed else None,
        )
        trainer = _Trainer(part_cfg, population, log, where, split=fit)
        result = trainer.run(progress_from(i * cfg.epochs), should_stop)
        diverged = result.summary["diverged"].to_numpy(dtype=bool)
        test_mse, test_acc = _evaluate(trainer, test)
        figures = {
            "val_mse": result.summary["test_mse"].to_numpy(dtype=float),
            "val_accuracy": result.summary["test_accuracy"].to_numpy(dtype=float),
            "test_mse": test_mse,
            "test_accuracy": test_acc,
        }
        for column, values in figures.items():
            summary.loc[idx, column] = np.where(diverged, np.nan, values)
        summary.loc[idx, "diverged"] = diverged
    return _tuned_outcome(cfg, methods, summary, grid, seeds, len(fit.test_index), start)


FRONT = "static front"
"""The ``method`` of the static front's members in :attr:`TunedFaceOff.summary`."""


def reads_representation(cfg: RunConfig, method: str) -> bool:
    """Whether ``method``, as a face-off configures it, reads the shared representation's gradients.

    Such a method (GradDrop, MGDA-UB) needs more of the backward pass than the rest. What it
    reads may depend on its hyper-parameters, so a one-member instance is asked.
    """
    return method_probe(cfg, method).gradients_of != "parameters"


def _evaluate(trainer: _Trainer, split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Every member's final MSE and accuracy on ``split``'s held-out rows, as the recorder does.

    The MSE is in the target's own units (a standardised target's predictions mapped back).
    """
    device = trainer.device
    with torch.no_grad():
        reg, logits = trainer.model.forward(split.x_test.to(device))
        err = split.to_target_units(reg.cpu()) - split.y_reg_test_units
        mse = err.square().mean(dim=(-2, -1))
        accuracy = (logits.cpu().max(dim=-1).indices == split.y_cls_test).float().mean(-1)
    return mse.numpy().astype(float), accuracy.numpy().astype(float)


def _mean(values: np.ndarray) -> float:
    """The mean of ``values`` without the NaN ones (NaN when all are), as ``Series.mean``.

    pandas' arithmetic (NaN set to 0, the whole array summed, divided by the count), so the
    same float as the frame's mean.
    """
    nan = np.isnan(values)
    count = values.size - int(nan.sum())
    if count == 0:
        return math.nan
    return float(np.where(nan, 0.0, values).sum() / count)


class _Figures:
    """A tuned face-off's summary as arrays: the selection's arithmetic on row positions.

    Choosing each of a face-off's few dozen methods and α's rate from its 4 rates x 3 seeds
    with a frame per group (``groupby``, column means) cost about 0.1 s, a few percent of
    the whole face-off (``bench/bench_tuned.py``); on arrays it is a few milliseconds. The
    means are :func:`_mean`, the frame's floats.
    """

    def __init__(self, summary: pd.DataFrame) -> None:
        self.columns = {
            column: summary[column].to_numpy(dtype=float)
            for column in ("alpha", "lr", "val_mse", "val_accuracy", "test_mse", "test_accuracy")
        }
        self.method = summary["method"].to_numpy(dtype=object)
        self.diverged = summary["diverged"].to_numpy(dtype=bool)

    def by_lr(self, rows: np.ndarray) -> dict[float, np.ndarray]:
        """``rows`` (positions) split by learning rate, the rates ascending."""
        lrs = self.columns["lr"][rows]
        return {float(lr): rows[lrs == lr] for lr in np.unique(lrs)}

    def means(self, rows: np.ndarray, split: str) -> dict[str, float]:
        """The mean MSE and accuracy of ``rows`` on ``split`` (``"val"`` or ``"test"``)."""
        return {
            "mse": _mean(self.columns[f"{split}_mse"][rows]),
            "accuracy": _mean(self.columns[f"{split}_accuracy"][rows]),
        }

    def pick(self, by_lr: dict[float, np.ndarray], score: Any) -> float:
        """The rate with the highest ``score(rows)``; rates with a diverged seed come last."""

        def key(lr: float) -> tuple[int, float]:
            rows = by_lr[lr]
            value = score(rows)
            ok = not self.diverged[rows].any()
            return (int(ok), value if math.isfinite(value) else -math.inf)

        return max(by_lr, key=key)


def _tuned_outcome(
    cfg: RunConfig,
    methods: tuple[str, ...],
    summary: pd.DataFrame,
    grid: tuple[float, ...],
    seeds: tuple[int, ...],
    n_validation: int,
    start: float,
) -> TunedFaceOff:
    """Selection, intervals, grouping and the front from every member's figures."""
    fig = _Figures(summary)
    alpha = fig.columns["alpha"]
    sweep = np.flatnonzero(fig.method == FRONT)
    reg_alone = fig.by_lr(sweep[alpha[sweep] == 1.0])
    cls_alone = fig.by_lr(sweep[alpha[sweep] == 0.0])
    reg_lr = fig.pick(reg_alone, lambda rows: -fig.means(rows, "val")["mse"])
    cls_lr = fig.pick(cls_alone, lambda rows: fig.means(rows, "val")["accuracy"])
    val_base = {
        "mse": fig.means(reg_alone[reg_lr], "val")["mse"],
        "accuracy": fig.means(cls_alone[cls_lr], "val")["accuracy"],
    }
    base = {
        "mse": fig.means(reg_alone[reg_lr], "test")["mse"],
        "accuracy": fig.means(cls_alone[cls_lr], "test")["accuracy"],
    }

    def val_score(rows: np.ndarray) -> float:
        return delta_m(fig.means(rows, "val"), val_base, OBJECTIVES)

    def chosen(rows: np.ndarray) -> tuple[float, np.ndarray]:
        groups = fig.by_lr(rows)
        lr = fig.pick(groups, val_score)
        return lr, groups[lr]

    # the tuned static front
    front_rows = []
    for a in np.unique(alpha[sweep]):
        lr, g = chosen(sweep[alpha[sweep] == a])
        means = fig.means(g, "test")
        front_rows.append(
            {
                "alpha": float(a),
                "lr": lr,
                "mse_mean": means["mse"],
                "accuracy_mean": means["accuracy"],
                "delta_m": delta_m(means, base, OBJECTIVES),
            }
        )
    front = pd.DataFrame(front_rows)
    front["pareto"] = pareto_front(front, minimize="mse_mean", maximize="accuracy_mean")

    shape = DataShape.of(cfg.data)
    n = len(grid) * len(seeds)
    static_seconds = population_seconds(face_off_config(cfg, "static"), n, shape)
    table_rows = []
    per_seed: dict[str, list[float]] = {}
    for method in methods:
        lr, g = chosen(np.flatnonzero(fig.method == method))
        test_mse = [float(v) for v in fig.columns["test_mse"][g]]
        test_acc = [float(v) for v in fig.columns["test_accuracy"][g]]
        dms = [
            delta_m({"mse": m, "accuracy": a}, base, OBJECTIVES)
            if math.isfinite(m) and math.isfinite(a)
            else math.nan
            for m, a in zip(test_mse, test_acc, strict=True)
        ]
        per_seed[method] = dms
        mse = bounded(t_interval(test_mse, LEVEL), 0.0, math.inf)
        acc = bounded(t_interval(test_acc, LEVEL), 0.0, 1.0)
        dm = t_interval(dms, LEVEL)
        table_rows.append(
            {
                "method": method,
                "lr": lr,
                "lr_factor": lr / cfg.optim.lr,
                "val_delta_m": val_score(g),
                "mse_mean": mse[0],
                "mse_lo": mse[1],
                "mse_hi": mse[2],
                "accuracy_mean": acc[0],
                "accuracy_lo": acc[1],
                "accuracy_hi": acc[2],
                "delta_m": dm[0],
                "delta_m_lo": dm[1],
                "delta_m_hi": dm[2],
                "delta_m_sd": float(np.nanstd(dms, ddof=1)) if len(dms) > 1 else math.nan,
                "cost": population_seconds(face_off_config(cfg, method), n, shape) / static_seconds,
                "diverged": int(fig.diverged[g].sum()),
            }
        )
    table = pd.DataFrame(table_rows).sort_values("delta_m", ascending=False, na_position="last")
    table = table.reset_index(drop=True)
    best = str(table["method"].iloc[0])
    groups, p_values, needed = [], [], []
    for method, sd, mean in zip(
        table["method"], table["delta_m_sd"], table["delta_m"], strict=True
    ):
        if method == best:
            groups.append("best")
            p_values.append(math.nan)
            needed.append(math.nan)
            continue
        _, _, p = welch(per_seed[best], per_seed[method])
        tied = not (math.isfinite(p) and p < 1 - LEVEL)
        groups.append("tied" if tied else "behind")
        p_values.append(p)
        best_sd = float(table["delta_m_sd"].iloc[0])
        n_needed = seeds_to_separate(float(table["delta_m"].iloc[0] - mean), best_sd, float(sd))
        needed.append(math.nan if n_needed is None else float(n_needed))
    table["group"] = groups
    table["p_value"] = p_values
    table["seeds_needed"] = needed
    pareto = front[front["pareto"]]
    table["front"] = [front_position(row, pareto) for row in table.itertuples(index=False)]
    return TunedFaceOff(
        table=table,
        front=front,
        summary=summary,
        baselines=base,
        val_baselines=val_base,
        lrs=grid,
        seeds=seeds,
        n_validation=n_validation,
        verdict=front_verdict(table),
        hint=seeds_hint(table, len(seeds)),
        seconds=time.perf_counter() - start,
    )


def front_position(row: Any, front: pd.DataFrame) -> str:
    """Where a method's test figures lie against the tuned static front, given seed noise.

    With ``row``'s 95% intervals (``mse_lo/hi``, ``accuracy_lo/hi``; the means when there is
    one seed): ``"beyond"`` when even its pessimistic corner (highest MSE, lowest accuracy of
    the intervals) is dominated by no front point, i.e. no tuned static weighting is at least as
    good on both tasks beyond noise; ``"behind"`` when even its optimistic corner (lowest MSE,
    highest accuracy) is dominated by a front point; otherwise ``"on"`` (within noise).
    """

    def corner(value: float, fallback: float) -> float:
        return value if math.isfinite(value) else fallback

    if not (math.isfinite(row.mse_mean) and math.isfinite(row.accuracy_mean)):
        return "behind"
    mse, acc = front["mse_mean"].to_numpy(float), front["accuracy_mean"].to_numpy(float)

    def dominated(m: float, a: float) -> bool:
        return bool((((mse <= m) & (acc >= a)) & ((mse < m) | (acc > a))).any())

    worst = (corner(row.mse_hi, row.mse_mean), corner(row.accuracy_lo, row.accuracy_mean))
    best = (corner(row.mse_lo, row.mse_mean), corner(row.accuracy_hi, row.accuracy_mean))
    if not dominated(*worst):
        return "beyond"
    if dominated(*best):
        return "behind"
    return "on"


def _labels(methods: Sequence[str]) -> str:
    labels = [METHODS[m].label for m in methods]
    if len(labels) <= 2:
        return " and ".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def front_verdict(table: pd.DataFrame) -> str:
    """One sentence: which methods land beyond the tuned static front, on it, or behind it."""
    parts: list[str] = []
    for where in ("beyond", "on", "behind"):
        chosen = list(table.loc[table["front"] == where, "method"])
        if not chosen:
            continue
        one = len(chosen) == 1
        verb, them = ("lands", "it") if one else ("land", "them")
        front = "it" if parts else "the tuned static front"
        words = {
            "beyond": f"beyond {front} (no tuned static weighting matches {them} on both tasks, "
            "beyond seed noise)",
            "on": f"on {front} within seed noise",
            "behind": f"behind {front} (a tuned static weighting beats {them} on both tasks "
            "beyond noise)",
        }[where]
        parts.append(f"{_labels(chosen)} {verb} {words}")
    if not parts:
        return ""
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]


def seeds_hint(table: pd.DataFrame, seeds: int, most: int = 10) -> str:
    """What more seeds would settle: the ties with the best that up to ``most`` seeds resolve."""
    tied = table[table["group"] == "tied"]
    if tied.empty:
        return ""
    best = METHODS[str(table["method"].iloc[0])].label
    within = tied[tied["seeds_needed"] <= most]
    beyond = len(tied) - len(within)
    if seeds < 2:
        return (
            f"With one seed nothing can be told apart: run at least 2 (better 3 or more) seeds "
            f"to see which methods differ from {best}."
        )
    parts = []
    if not within.empty:
        n = int(within["seeds_needed"].min())
        closest = within.loc[within["seeds_needed"] == n, "method"]
        if n > seeds:
            parts.append(
                f"with about {n} seeds (now {seeds}), {_labels(list(closest))} would likely "
                f"separate from {best} if the gaps seen here are real"
            )
    if beyond:
        parts.append(
            f"{beyond} tied method(s) differ from {best} by less than seed noise would let "
            f"{most} seeds detect: treat them as equivalent here"
        )
    if not parts:
        return ""
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:]
