"""Cost of every weighting method, as ratios against baselines measured in this same process.

On the ``conflicting`` preset (shared MLP 2 x 32, 384 training rows, full batch, Adam), shortened
to 50 epochs:

1. per-epoch cost of one run (K = 1) of each method relative to static weighting
   (goal for the gradient-based methods, those that read the per-task gradients: at most 3x);
2. a 64-member sweep (64 seeds) of each method relative to one run of the same method
   (goal: about 1x, "a sweep of a dynamic method costs about what one run costs", since the
   method's state and arithmetic are vectorised over members). The model's own arithmetic grows
   with K, so two more columns separate the method from the model: the sweep relative to a
   static-weights sweep of the same size (the method's overhead in a sweep), and relative to the
   64 runs done one after another (64 x one run).

Run: ``python bench/bench_methods.py [method ...]`` (default: every method; static is always
measured, as the baseline). Prints a table; exits 0 either way (the figures are for reading, not
a pass/fail gate on a noisy machine).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import best_of

import mtl
from mtl.weighting import METHODS

EPOCHS = 50
MEMBERS = 64


def main() -> None:
    torch.set_num_threads(1)  # like the page on a small shared server; also steadier timings
    base = mtl.preset("conflicting").with_(epochs=EPOCHS)
    seeds = list(range(MEMBERS))

    wanted = set(sys.argv[1:]) | {"static"} if len(sys.argv) > 1 else set(METHODS)
    rows = []
    for name, cls in METHODS.items():
        if name not in wanted:
            continue
        cfg = base.with_(**{"weighting.method": name})
        one = best_of(lambda cfg=cfg: mtl.train(cfg), repeat=7)
        sweep = best_of(lambda cfg=cfg: mtl.sweep(cfg, seeds=seeds), repeat=3)
        rows.append((name, cls.kind == "gradient", one, sweep))  # reads the gradients

    static_one = next(one for name, _, one, _ in rows if name == "static")
    static_sweep = next(sweep for name, _, _, sweep in rows if name == "static")
    print(f"conflicting preset, {EPOCHS} epochs, full batch, 1 thread; sweep = {MEMBERS} seeds")
    header = (
        f"{'method':<12} {'kind':<9} {'ms/epoch':>9} {'x static':>9} {'sweep ms':>9} "
        f"{'sweep/run':>10} {'x static sweep':>15} {'/ 64 runs':>10}"
    )
    print(header)
    print("-" * len(header))
    for name, gradient_based, one, sweep in rows:
        kind = "gradient" if gradient_based else "loss"
        print(
            f"{name:<12} {kind:<9} {one / EPOCHS * 1e3:>9.3f} {one / static_one:>8.2f}x "
            f"{sweep * 1e3:>9.1f} {sweep / one:>9.2f}x {sweep / static_sweep:>14.2f}x "
            f"{sweep / (MEMBERS * one):>9.2f}x"
        )
    gradient = [one / static_one for _, g, one, _ in rows if g]
    if gradient:
        print(f"gradient-based methods: worst {max(gradient):.2f}x static per epoch (goal <= 3x)")
    dynamic = [(sweep / one, sweep / static_sweep) for n, _, one, sweep in rows if n != "static"]
    print(
        f"{MEMBERS}-member sweeps: {min(a for a, _ in dynamic):.1f}x to "
        f"{max(a for a, _ in dynamic):.1f}x one run of the same method (goal about 1x); "
        f"{min(b for _, b in dynamic):.2f}x to {max(b for _, b in dynamic):.2f}x a static sweep"
    )


if __name__ == "__main__":
    main()
