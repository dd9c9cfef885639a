"""The tuned face-off: one mixed population against one population per method.

On the page's default preset (``ui.state.DEFAULT_PRESET``), one torch thread, every registered
weighting method x the 4 learning rates of :data:`mtl.compare.LR_FACTORS` x 3 seeds, plus the
tuned static front (11 α x 4 rates x 3 seeds; its ends are the single-task baselines), all
trained on the same rows (the training rows less the validation part):

1. mixed: :func:`mtl.compare.tuned_face_off`, everything in one mixed population (and the
   selection, intervals, grouping and front that follow);
2. per method: the same members, one population per method (its 4 rates x 3 seeds in one
   population, with per-member learning rates) and one for the static front: what a face-off
   without mixed methods costs at best. The per-method populations' members are the same
   runs as the mixed population's (``tests/test_mixed.py``);
3. per method and rate: one population per method and learning rate (3 seeds each) and per α
   and rate of the front: what the engine could do before populations mixed learning rates.

Goal: 1 under 10 s and at least 5x faster than 2 (3 is printed for reference). All are measured
in this process, interleaved (best of ``--repeat``, default 2). Run:
``python bench/bench_tuned.py``. Exits 0 either way.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mtl
from mtl.budget import Request, face_off_config, price
from mtl.compare import FRONT_POINTS, LR_FACTORS, tuned_face_off, validation_split
from mtl.engine import Population, train_population
from mtl.runtime import configure_threads
from mtl.weighting import METHODS
from ui.state import DEFAULT_PRESET

GOAL_SECONDS = 10.0
GOAL_RATIO = 5.0


def per_method_and_rate(cfg: mtl.RunConfig, methods: list[str], seeds: tuple[int, ...]) -> None:
    """The same members, one population per method and rate, and per α and rate of the front."""
    fit, _ = validation_split(cfg)
    lrs = tuple(cfg.optim.lr * f for f in LR_FACTORS)
    alphas = [i / (FRONT_POINTS - 1) for i in range(FRONT_POINTS)]
    for lr in lrs:
        for method in methods:
            run_cfg = face_off_config(cfg, method).with_(**{"optim.lr": lr})
            population = Population(weights=(run_cfg.weighting.weights,) * len(seeds), seeds=seeds)
            train_population(run_cfg, population, log_limit=2 * len(seeds), split=fit)
        front = [(a, s) for a in alphas for s in seeds]
        population = Population(
            weights=tuple((a, 1.0 - a) for a, _ in front), seeds=tuple(s for _, s in front)
        )
        train_population(
            cfg.with_(**{"optim.lr": lr}), population, log_limit=2 * len(front), split=fit
        )


def per_method(cfg: mtl.RunConfig, methods: list[str], seeds: tuple[int, ...]) -> None:
    """The same members as the tuned face-off, one population per method and one for the front."""
    fit, _ = validation_split(cfg)
    lrs = tuple(cfg.optim.lr * f for f in LR_FACTORS)
    per = [(lr, s) for lr in lrs for s in seeds]
    for method in methods:
        run_cfg = face_off_config(cfg, method)
        population = Population(
            weights=(run_cfg.weighting.weights,) * len(per),
            seeds=tuple(s for _, s in per),
            lrs=tuple(lr for lr, _ in per),
        )
        train_population(run_cfg, population, log_limit=2 * len(per), split=fit)
    alphas = [i / (FRONT_POINTS - 1) for i in range(FRONT_POINTS)]
    front = [(a, lr, s) for a in alphas for lr, s in per]
    population = Population(
        weights=tuple((a, 1.0 - a) for a, _, _ in front),
        seeds=tuple(s for *_, s in front),
        lrs=tuple(lr for _, lr, _ in front),
    )
    train_population(cfg, population, log_limit=2 * len(front), split=fit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    configure_threads(1)
    cfg = mtl.preset(DEFAULT_PRESET)
    methods = list(METHODS)
    seeds = (0, 1, 2)
    members = (len(methods) + FRONT_POINTS) * len(LR_FACTORS) * len(seeds)
    estimate = price(
        Request.tuned_face_off(cfg, methods, len(seeds), len(LR_FACTORS), FRONT_POINTS)
    ).seconds
    tuned_face_off(cfg, methods[:2], seeds=seeds)  # warm-up
    jobs = {
        "mixed": lambda: tuned_face_off(cfg, methods, seeds=seeds),
        "method": lambda: per_method(cfg, methods, seeds),
        "rate": lambda: per_method_and_rate(cfg, methods, seeds),
    }
    wall: dict[str, list[float]] = {name: [] for name in jobs}
    cpu: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(args.repeat):
        for name, job in jobs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            job()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    mixed, split, rate = (min(wall[n]) for n in jobs)
    c_mixed, c_split, c_rate = (min(cpu[n]) for n in jobs)
    print(
        f"tuned face-off: {len(methods)} methods x {len(LR_FACTORS)} rates x {len(seeds)} seeds "
        f"+ the static front ({FRONT_POINTS} α x {len(LR_FACTORS)} x {len(seeds)}) = {members} "
        f"members x {cfg.epochs} epochs (budget estimate {estimate:.1f} s)"
    )
    print("  wall time (CPU time of this process, one thread: steadier on a shared machine)")
    print(
        f"  one mixed population:      {mixed:6.2f} s ({c_mixed:6.2f} s) "
        f"(goal < {GOAL_SECONDS:.0f} s)"
    )
    print(
        f"  one population per method: {split:6.2f} s ({c_split:6.2f} s) "
        f"({len(methods) + 1} populations)"
    )
    print(f"  one population per method and rate: {rate:6.2f} s ({c_rate:6.2f} s)")
    print(
        f"  ratio to per method: {split / mixed:.1f}x ({c_split / c_mixed:.1f}x) faster "
        f"(goal >= {GOAL_RATIO:.0f}x)"
    )
    print(f"  ratio to per method and rate: {rate / mixed:.1f}x ({c_rate / c_mixed:.1f}x) faster")
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
