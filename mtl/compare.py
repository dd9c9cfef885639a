"""What-if comparisons: Pareto fronts, Delta_m, and method face-offs.

The questions these answer: "which weights give the best trade-off between the two tasks?"
(:func:`pareto_front` over a weight sweep) and "which weighting method wins on this data?"
(:func:`face_off`, each method trained on the same data and seeds, with :func:`delta_m` against
single-task baselines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from mtl.budget import Request, check_request
from mtl.config import ConfigError, RunConfig, WeightingSpec
from mtl.engine import Population, ProgressFn, StopFn, resolve_device, train_population
from mtl.results import Result, full_log_limit, summary_split

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
        results: method name -> its population's :class:`Result` (one member per seed).
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
    """Train each method in ``methods`` over ``seeds`` (one batched population per method).

    Every method starts from ``cfg``: the static method keeps ``cfg``'s weights, a method equal
    to ``cfg``'s keeps its hyper-parameters, and the others use their papers' defaults. The
    single-task baselines are trained too, as one more population. ``on_progress(done, total)``
    counts epochs over all populations; ``should_stop()`` is passed to every population's training
    (:class:`mtl.engine.Cancelled` ends the whole face-off, returning nothing).

    The whole face-off (every method's population and the baselines) is priced once, before the
    first population trains (:mod:`mtl.budget`): over the work budget, a
    :class:`~mtl.errors.ConfigError` (field ``work``) says what to lower, and nothing has run.
    ``device`` is where to compute, as in :func:`mtl.train`.
    """
    where = resolve_device(device)
    if not methods:
        raise ConfigError("face_off.methods", list(methods), "at least one method")
    if not seeds:
        raise ConfigError("face_off.seeds", list(seeds), "at least one seed")
    seeds = tuple(int(s) for s in seeds)
    check_request(Request.face_off(cfg, tuple(methods), len(seeds)))
    total = cfg.epochs * (len(methods) + 1)

    def progress_from(offset: int) -> ProgressFn | None:
        if on_progress is None:
            return None
        return lambda done, _total: on_progress(offset + done, total)

    # the face-off's populations share one full-log allowance, in proportion to their members
    members = len(seeds) * (len(methods) + 2)
    limit = full_log_limit()

    def log_limit(k: int) -> int:
        return max(1, limit * k // members) if limit else 0

    results: dict[str, Result] = {}
    for i, method in enumerate(methods):
        params = cfg.weighting.params if method == cfg.weighting.method else ()
        spec = WeightingSpec(method=method, weights=cfg.weighting.weights, params=params)
        run_cfg = cfg.with_(weighting=spec)
        population = Population(weights=(spec.weights,) * len(seeds), seeds=seeds)
        results[method] = train_population(
            run_cfg,
            population,
            progress_from(i * cfg.epochs),
            should_stop,
            log_limit(len(seeds)),
            device=where,
        )
    baseline_cfg = cfg.with_(weighting=WeightingSpec(method="static", weights=(1.0, 0.0)))
    baseline = train_population(
        baseline_cfg,
        Population(
            weights=((1.0, 0.0),) * len(seeds) + ((0.0, 1.0),) * len(seeds), seeds=seeds + seeds
        ),
        progress_from(len(methods) * cfg.epochs),
        should_stop,
        log_limit(2 * len(seeds)),
        device=where,
    )
    summary = pd.concat(
        [r.summary.assign(method=name) for name, r in results.items()], ignore_index=True
    )
    split = summary_split(summary)
    baselines = _baselines(baseline.summary, split)
    return FaceOff(results, baseline, summary, _table(summary, baselines, split), baselines)


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
