"""Does alpha trade one task for the other on the first screen, beyond seed noise?

For the page's default preset (``ui.state.DEFAULT_PRESET``) and, for contrast, the Adam preset
``conflicting``: test MSE and test accuracy at alpha 0.1 and alpha 0.9, each the mean over three
seeds (0, 1, 2, the model's initialisation; the data stay the preset's), trained as one
population with :func:`mtl.sweep`.

Spread: max - min over the three seeds at one alpha, the larger of the two alphas' spreads.
Ratio: |mean at 0.9 - mean at 0.1| / that spread. The goal for the default preset is a ratio
above 3 for both metrics. The seconds of one run of the default preset are printed too, with
one run of the notebook preset measured in the same process as the baseline.

Run: ``python bench/bench_tradeoff.py``. Exits 1 when the default preset misses the goal.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch
from _timing import best_of

import mtl
from ui.state import DEFAULT_PRESET

ALPHAS = (0.1, 0.9)
SEEDS = (0, 1, 2)
GOAL = 3.0


def tradeoff(cfg: mtl.RunConfig) -> dict[str, tuple[float, float, float, float]]:
    """Per metric: mean at alpha 0.1, mean at alpha 0.9, seed spread (max - min), ratio."""
    result = mtl.sweep(cfg, weights=[(a, 1 - a) for a in ALPHAS], seeds=list(SEEDS))
    summary = result.summary
    out = {}
    for metric in ("test_mse", "test_accuracy"):
        low = summary[np.isclose(summary["w_regression"], ALPHAS[0])][metric].to_numpy()
        high = summary[np.isclose(summary["w_regression"], ALPHAS[1])][metric].to_numpy()
        spread = max(float(np.ptp(low)), float(np.ptp(high)))
        move = abs(float(high.mean()) - float(low.mean()))
        out[metric] = (float(low.mean()), float(high.mean()), spread, move / max(spread, 1e-12))
    return out


def report(name: str) -> float:
    """Print one preset's figures; return the smaller of its two ratios."""
    figures = tradeoff(mtl.preset(name))
    print(f"preset {name!r} (seeds {SEEDS}, spread = max - min over seeds):")
    for metric, (low, high, spread, ratio) in figures.items():
        print(
            f"  {metric:14s} alpha 0.1: {low:.4g}  alpha 0.9: {high:.4g}  "
            f"change {high - low:+.4g}  spread {spread:.3g}  ratio {ratio:.1f}x"
        )
    return min(ratio for *_, ratio in figures.values())


def main() -> int:
    torch.set_num_threads(1)
    worst = report(DEFAULT_PRESET)
    report("conflicting")
    one_run = best_of(lambda: mtl.train(mtl.preset(DEFAULT_PRESET)), repeat=3)
    notebook = best_of(lambda: mtl.train(mtl.preset("notebook")), repeat=3)
    print(
        f"one run of {DEFAULT_PRESET!r}: {one_run * 1000:.0f} ms "
        f"({one_run / notebook:.2f}x one notebook run, {notebook * 1000:.0f} ms)"
    )
    met = worst > GOAL
    print(f"goal: both ratios > {GOAL:g} on {DEFAULT_PRESET!r}: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
