"""What-if comparisons: wall time of the default sweep and of the default face-off.

On the page's first screen (``ui.state.DEFAULT_PRESET``, the "tradeoff" preset), one thread:

1. The default weight sweep: 101 values of α x 3 seeds = 303 members, trained as one population
   (``mtl.sweep``), as the page's "Run the sweep" button does.
2. The default face-off: every weighting method over 3 seeds plus the single-task baselines
   (``mtl.compare.face_off``: one mixed population, GradDrop included), as "Run the face-off"
   does; beside it, for reference, the same members trained one population per method (what the
   face-off did before it mixed methods), measured in this process.
3. The page around them (Streamlit's AppTest, in this process): the script time of the rerun that
   runs the sweep or the face-off (a cache miss: training, the Pareto front, the charts) and of a
   rerun that shows them again (a cache hit).

Goal for 1 and 2: under 3 s each, short enough to feel interactive. Run:
``python bench/bench_compare.py``. Prints the times against the goal; exits 0 either way (the
figures are for reading, not a pass/fail gate on a noisy machine).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import best_of
from streamlit.testing.v1 import AppTest

import mtl
from mtl.budget import face_off_config
from mtl.compare import face_off
from mtl.engine import Population, train_population
from mtl.runtime import configure_threads
from mtl.weighting import METHODS
from ui.state import DEFAULT_PRESET

ROOT = Path(__file__).resolve().parents[1]
GOAL = 3.0


def per_method(cfg: mtl.RunConfig, methods: list[str], seeds: tuple[int, ...]) -> None:
    """The face-off's members, one population per method and one for the baselines."""
    for method in methods:
        run_cfg = face_off_config(cfg, method)
        population = Population(weights=(run_cfg.weighting.weights,) * len(seeds), seeds=seeds)
        train_population(run_cfg, population)
    weights = ((1.0, 0.0),) * len(seeds) + ((0.0, 1.0),) * len(seeds)
    baseline_cfg = cfg.with_(weighting=mtl.WeightingSpec(weights=(1.0, 0.0)))
    train_population(baseline_cfg, Population(weights=weights, seeds=seeds + seeds))


def page_times(tab: str, button: str) -> tuple[float, float]:
    """Script time of the rerun that runs ``button`` on ``tab`` (a miss), then of a plain rerun."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.session_state["view.tab"] = tab
    at.run()
    at.button(key=button).click()
    start = time.perf_counter()
    at.run()
    miss = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"the page raised: {at.exception[0].message}")
    start = time.perf_counter()
    at.run()
    return miss, time.perf_counter() - start


def main() -> None:
    # AppTest runs without a server: silence Streamlit's "missing ScriptRunContext" warnings.
    for name in ("scriptrunner_utils.script_run_context", "caching.cache_data_api"):
        logging.getLogger(f"streamlit.runtime.{name}").setLevel(logging.ERROR)
    from mtl.sweeps import DEFAULT_POINTS, DEFAULT_SEEDS, alpha_grid, seeds_from, sweep_config

    configure_threads(1)  # like the page on a small shared server; also steadier timings
    cfg = mtl.preset(DEFAULT_PRESET)
    weights = [(a, 1.0 - a) for a in alpha_grid(DEFAULT_POINTS)]
    seeds = seeds_from(cfg, DEFAULT_SEEDS)
    members = len(weights) * len(seeds)

    sweep = best_of(lambda: mtl.sweep(sweep_config(cfg), weights=weights, seeds=seeds), repeat=3)
    print(
        f"default sweep, {DEFAULT_POINTS} α x {len(seeds)} seeds = {members} members x "
        f"{cfg.epochs} epochs: {sweep:.2f} s ({sweep / GOAL:.0%} of the {GOAL:.0f} s goal)"
    )
    methods = list(METHODS)
    duel = best_of(lambda: face_off(cfg, methods, seeds), repeat=3)
    split = best_of(lambda: per_method(cfg, methods, seeds), repeat=3)
    print(
        f"default face-off, {len(methods)} methods + baselines x {len(seeds)} seeds x "
        f"{cfg.epochs} epochs: {duel:.2f} s ({duel / GOAL:.0%} of the {GOAL:.0f} s goal); "
        f"one population per method: {split:.2f} s ({split / duel:.1f}x the face-off's time)"
    )
    for tab, button in (("Weight sweep", "sweep.run"), ("Method face-off", "faceoff.run")):
        miss, hit = page_times(tab, button)
        print(f"page, {tab.lower()}: run from the button {miss:.2f} s, shown again {hit:.3f} s")


if __name__ == "__main__":
    main()
