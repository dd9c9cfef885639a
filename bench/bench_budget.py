"""Calibrate the work budget's cost model: real time against the estimate, per kind of request.

The budget (``mtl/budget.py``) prices a request in estimated seconds from counts of what the
engine computes (steps, multiply-adds, parameters, epochs, ...) times unit costs. It is right when
a request at the budget's edge takes about the budget's time whatever its shape: so this script
trains a grid of model shapes, weighting methods, batch sizes, data sizes and member counts, each
scaled (by its epochs) to an estimate of about 0.3 s, and prints real / estimated time for each.
The model extrapolates the rest: a request's estimate grows linearly in its counts.

Goal: every ratio within 2x of every other (max / min <= 2), and ratios near or below 1, so the
heaviest request the page lets through takes at most about the budget's seconds.

    .venv/bin/python bench/bench_budget.py          # the table and the max/min ratio
    .venv/bin/python bench/bench_budget.py --fit    # also fit the unit costs (non-negative least
                                                    # squares on relative error) and print them

One torch thread, as the page runs; best of three CPU timings per case, each case between two
timings of a reference run that measure the machine's load. About 2 minutes on a quiet machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mtl
from mtl import budget
from mtl.budget import DataShape, population_counts, population_seconds
from mtl.compare import face_off
from mtl.engine import Population, train_population
from mtl.runtime import configure_threads
from mtl.weighting import METHODS

REFERENCE_QUIET = 0.0266
"""Seconds of the reference, one ``mtl.train(mtl.preset("notebook"))``, on a quiet core of the
development machine (``bench_core.py``'s figure in the README). Each case is measured right after
the reference, and its time divided by the reference's slowdown (``load``), so a busy shared
machine shifts neither the fit nor the ratios."""
TARGET = 0.15
"""Estimated seconds each case is scaled to (by its epochs)."""
MAX_ONE_EPOCH = 1.2
"""Cases whose single epoch is estimated longer than this are skipped (kept short)."""


@dataclass(frozen=True)
class Case:
    """One measured population: a label, its configuration and its members."""

    label: str
    cfg: mtl.RunConfig
    members: int


def _synthetic(n: int, width: int, depth: int) -> mtl.RunConfig:
    return mtl.preset("conflicting").with_(
        **{"data.n_samples": n, "model.width": width, "model.depth": depth}
    )


def cases() -> list[Case]:
    """The grid: shapes x batch sizes x members, methods, data sizes."""
    shapes = {
        "notebook": mtl.preset("notebook"),
        "article": mtl.preset("article"),
        "linear": mtl.preset("linear"),
        "mlp16x2": _synthetic(256, 16, 2),
        "mlp64x1": _synthetic(256, 64, 1),
        "mlp256x3": _synthetic(256, 256, 3),
        "mlp32x8": _synthetic(256, 32, 8),
    }
    out: list[Case] = []
    for name, cfg in shapes.items():
        for batch in (None, 32, 1):
            if batch is not None and batch >= DataShape.of(cfg.data).n_train:
                continue
            for k in (1, 300):
                c = cfg.with_(**{"optim.batch_size": batch})
                out.append(Case(f"{name} static b={batch or 'full'} K={k}", c, k))
    base = shapes["mlp16x2"]
    for method in METHODS:
        for batch, k in ((1, 1), (None, 300)):
            c = base.with_(
                weighting=mtl.WeightingSpec(method=method), **{"optim.batch_size": batch}
            )
            out.append(Case(f"mlp16x2 {method} b={batch or 'full'} K={k}", c, k))
    ub = mtl.WeightingSpec(method="mgda", params=(("upper_bound", True),))
    out.append(Case("mlp16x2 mgda-ub b=full K=300", base.with_(weighting=ub), 300))
    out.append(
        Case(
            "mlp64x1 mgda b=32 K=30",
            shapes["mlp64x1"].with_(
                weighting=mtl.WeightingSpec(method="mgda"), **{"optim.batch_size": 32}
            ),
            30,
        )
    )
    out.append(
        Case(
            "mlp256x3 cagrad b=full K=30",
            shapes["mlp256x3"].with_(weighting=mtl.WeightingSpec(method="cagrad")),
            30,
        )
    )
    for n in (2000, 20_000):
        for batch in (None, 32, 1):
            for k in (1, 30):
                c = _synthetic(n, 16, 2).with_(**{"optim.batch_size": batch})
                out.append(Case(f"mlp16x2 n={n} static b={batch or 'full'} K={k}", c, k))
        c = _synthetic(n, 64, 1).with_(weighting=mtl.WeightingSpec(method="pcgrad"))
        out.append(Case(f"mlp64x1 n={n} pcgrad b=full K=30", c, 30))
    return out


def scaled(case: Case, shape: DataShape) -> Case | None:
    """``case`` with the epochs that bring its estimate near :data:`TARGET`, or None if too long."""
    one = population_seconds(case.cfg.with_(epochs=1), case.members, shape)
    if one > MAX_ONE_EPOCH:
        return None
    per_epoch = population_seconds(case.cfg.with_(epochs=2), case.members, shape) - one
    epochs = int(min(2000, max(1, 1 + (TARGET - one) / per_epoch)))
    return Case(case.label, case.cfg.with_(epochs=epochs), case.members)


def measure(case: Case) -> float:
    """Best of three CPU times of training ``case``'s population (seconds of one core).

    CPU time of this process rather than wall time: with one torch thread it is the core-seconds
    the budget is expressed in, and it does not count time other processes on a shared machine
    took from this one (wall time would).
    """
    population = Population(
        weights=(case.cfg.weighting.weights,) * case.members, seeds=tuple(range(case.members))
    )
    times = []
    for _ in range(3):
        start = time.process_time()
        train_population(case.cfg, population)
        times.append(time.process_time() - start)
    return min(times)


def reference() -> float:
    """Best of three CPU times of the reference run (seconds)."""
    cfg = mtl.preset("notebook")
    times = []
    for _ in range(3):
        start = time.process_time()
        mtl.train(cfg)
        times.append(time.process_time() - start)
    return min(times)


def fit(rows: list[tuple[Case, DataShape, float]]) -> None:
    """Fit unit costs by non-negative least squares on relative error and print them."""
    from scipy.optimize import nnls

    keys = [k for k in budget.UNIT_COSTS]
    methods = list(METHODS)
    matrix, real = [], []
    for case, shape, seconds in rows:
        counts = population_counts(case.cfg, case.members, shape)
        steps = counts.pop("method_step")
        row = [counts[k] for k in keys] + [
            steps if case.cfg.weighting.method == m else 0.0 for m in methods
        ]
        matrix.append(row)
        real.append(seconds)
    a = np.array(matrix) / np.array(real)[:, None]
    coef, _ = nnls(a, np.ones(len(real)))
    print("\nUNIT_COSTS = {")
    for key, value in zip(keys, coef[: len(keys)], strict=True):
        print(f'    "{key}": {value:.3g},')
    print("}\neach method's step_cost (its class attribute in mtl/weighting/<method>.py):")
    for method, value in zip(methods, coef[len(keys) :], strict=True):
        print(f"    {method}: step_cost = {value:.3g}")
    fitted = a @ coef  # estimate / real, per case, with the fitted costs
    print(
        f"with them, real / estimate: min {1 / fitted.max():.2f}, max {1 / fitted.min():.2f}; "
        f"max / min = {fitted.max() / fitted.min():.2f}"
    )


EDGE_BUDGET = 1.0
"""Seconds of budget for the edge requests: whole requests the page could send, each made as
large (by its epochs) as the budget lets through."""


def edge_requests() -> list[tuple[str, budget.Request]]:
    """Whole requests of every kind, with placeholder epochs (:func:`at_the_edge` sets them)."""
    conflicting = mtl.preset("conflicting")
    big = conflicting.with_(**{"data.n_samples": 20_000})
    wide = _synthetic(2000, 256, 4)
    return [
        ("run: notebook preset", budget.Request.run(mtl.preset("notebook"))),
        ("run: batch 1, 20,000 rows", budget.Request.run(big.with_(**{"optim.batch_size": 1}))),
        (
            "run: batch 32, 20,000 rows, mgda",
            budget.Request.run(
                big.with_(weighting=mtl.WeightingSpec(method="mgda"), **{"optim.batch_size": 32})
            ),
        ),
        ("run: MLP 256x4, 2,000 rows, full batch", budget.Request.run(wide)),
        ("sweep: 101 x 3, conflicting", budget.Request.sweep(conflicting, 101, 3)),
        (
            "sweep: 11 x 1, batch 32, 20,000 rows",
            budget.Request.sweep(big.with_(**{"optim.batch_size": 32}), 11, 1),
        ),
        (
            "face-off: all methods x 3, conflicting",
            budget.Request.face_off(conflicting, tuple(METHODS), 3),
        ),
        (
            "face-off: all methods x 3, batch 1",
            budget.Request.face_off(
                conflicting.with_(**{"optim.batch_size": 1}), tuple(METHODS), 3
            ),
        ),
    ]


def at_the_edge(request: budget.Request, seconds: float) -> budget.Request | None:
    """``request`` with the most epochs whose estimate fits in ``seconds`` (None if none does)."""

    def cost(epochs: int) -> float:
        return replace(request, cfg=request.cfg.with_(epochs=epochs)).seconds()

    if cost(1) > seconds:
        return None
    lo, hi = 1, 2000
    if cost(hi) <= seconds:
        lo = hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if cost(mid) <= seconds else (lo, mid)
    return replace(request, cfg=request.cfg.with_(epochs=lo))


def run_request(request: budget.Request) -> None:
    """Compute ``request`` through the public API, as the page does."""
    cfg = request.cfg
    if request.kind == "run":
        mtl.train(cfg)
    elif request.kind == "sweep":
        alphas = [i / max(1, request.weights - 1) for i in range(request.weights)]
        mtl.sweep(cfg, weights=[(a, 1 - a) for a in alphas], seeds=list(range(request.seeds)))
    else:
        face_off(cfg, request.methods, seeds=tuple(range(request.seeds)))


def edge(load_of: Callable[[], float]) -> list[float]:
    """Time whole requests at the edge of :data:`EDGE_BUDGET`; print and return real / budget."""
    print(
        f"\nWhole requests at the edge of a {EDGE_BUDGET:g} s budget (epochs set to the most "
        "that fits):"
    )
    print(f"{'request':<42} {'epochs':>6} {'est s':>6} {'real s':>6} {'load':>5} ratio")
    ratios = []
    for label, raw in edge_requests():
        request = at_the_edge(raw, EDGE_BUDGET)
        if request is None:
            continue
        before = load_of()
        start = time.process_time()
        run_request(request)
        seconds = time.process_time() - start
        load = (before * load_of()) ** 0.5
        estimate = request.seconds()
        ratios.append(seconds / load / estimate)
        print(
            f"{label:<42} {request.cfg.epochs:>6} {estimate:>6.3f} {seconds:>6.3f} "
            f"{load:5.2f} {ratios[-1]:5.2f}",
            flush=True,
        )
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fit", action="store_true", help="fit and print the unit costs")
    parser.add_argument("--only", default="", help="run only cases whose label contains this")
    parser.add_argument("--edge", action="store_true", help="only the whole requests at the edge")
    args = parser.parse_args()
    configure_threads(1)
    budget.set_work_budget(0)  # measure past the budget; the estimates are what is checked
    train_population(mtl.preset("notebook"), Population(((0.5, 0.5),), (0,)))  # warm-up
    started = time.perf_counter()
    if args.edge:
        ratios = edge(lambda: reference() / REFERENCE_QUIET)
        print(
            f"real / estimate: min {min(ratios):.2f}, max {max(ratios):.2f}; "
            f"{time.perf_counter() - started:.0f} s"
        )
        return
    rows: list[tuple[Case, DataShape, float]] = []
    print(
        f"{'case':<40} {'rows':>6} {'epochs':>6} {'steps':>7} {'est s':>6} {'real s':>6} "
        f"{'load':>5} ratio"
    )
    for raw in cases():
        if args.only not in raw.label:
            continue
        shape = DataShape.of(raw.cfg.data)
        case = scaled(raw, shape)
        if case is None:
            continue
        estimate = population_seconds(case.cfg, case.members, shape)
        before = reference()
        raw_seconds = measure(case)
        load = (before * reference()) ** 0.5 / REFERENCE_QUIET  # the reference around the case
        seconds = raw_seconds / load
        rows.append((case, shape, seconds))
        steps = population_counts(case.cfg, case.members, shape)["step"]
        print(
            f"{case.label:<40} {shape.n_train + shape.n_test:>6} {case.cfg.epochs:>6} "
            f"{steps:>7.0f} {estimate:>6.3f} {raw_seconds:>6.3f} {load:5.2f} "
            f"{seconds / estimate:5.2f}",
            flush=True,
        )
    ratios = [s / population_seconds(c.cfg, c.members, sh) for c, sh, s in rows]
    print(
        f"\nreal: CPU seconds as measured; ratio: real / load / estimate, load: the reference's "
        f"slowdown against its quiet {REFERENCE_QUIET * 1e3:.1f} ms.\n"
        f"{len(rows)} cases in {time.perf_counter() - started:.0f} s; real / estimate: "
        f"min {min(ratios):.2f}, median {np.median(ratios):.2f}, max {max(ratios):.2f}; "
        f"max / min = {max(ratios) / min(ratios):.2f} (goal <= 2)"
    )
    edge_ratios = edge(lambda: reference() / REFERENCE_QUIET)
    print(
        f"whole requests at the edge: real / estimate min {min(edge_ratios):.2f}, max "
        f"{max(edge_ratios):.2f}; all in {time.perf_counter() - started:.0f} s"
    )
    if args.fit:
        fit(rows)


if __name__ == "__main__":
    main()
