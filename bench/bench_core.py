"""Core training speed, as ratios against baselines measured in this same process.

1. A weight sweep of 101 members x 100 epochs on the notebook's data, trained as one population,
   against the same 101 runs done one after another in the notebook's own style
   (goal: the population is at least 25x faster).
2. One run of the notebook preset (logging every component and metric) against the notebook's
   bare training loop (goal: at most 1.5x its time). The two are timed in turn, repeat after
   repeat, so a change in the machine's load hits both alike.
3. The 101-member sweep against one run (goal: at most 3x), timed in turn like 2.

Run: ``python bench/bench_core.py``. Prints the times and the ratios; exits 0 either way (the
figures are for reading, not a pass/fail gate on a noisy machine).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn as nn
import torch.optim as optim

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import mtl

ALPHAS = [i / 100 for i in range(101)]


class SimpleModel(nn.Module):
    """The notebook's model."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.classifier = nn.Linear(1, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: D102
        regression_output = self.linear(x)
        return regression_output, self.classifier(regression_output)


def notebook_run(alpha: float, epochs: int = 100) -> float:
    """The notebook's data, model and bare training loop for one alpha."""
    torch.manual_seed(0)
    regression_data = torch.randn(100, 1) * 10
    regression_targets = regression_data * 2 + 3 + torch.randn(100, 1) * 2
    torch.cat((torch.randn(50, 1) - 2, torch.randn(50, 1) + 2))
    classification_targets = torch.cat((torch.zeros(50), torch.ones(50))).long()
    model = SimpleModel()
    mse_loss, cross_entropy_loss = nn.MSELoss(), nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    for _ in range(epochs):
        optimizer.zero_grad()
        regression_output, classification_output = model(regression_data)
        loss1 = mse_loss(regression_output, regression_targets)
        loss2 = cross_entropy_loss(classification_output, classification_targets)
        loss = alpha * loss1 + (1 - alpha) * loss2
        loss.backward()
        optimizer.step()
    return loss.item()


def interleaved(
    fns: list[Callable[[], object]], repeat: int, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    """Best-of-``repeat`` times of ``fns`` (seconds), called in turn after one warm-up each.

    ``clock=time.process_time`` measures this process's CPU time instead of wall time: on a
    machine loaded by other work (one torch thread) it is the steadier figure.
    """
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = clock()
            fn()
            best[i] = min(best[i], clock() - start)
    return best


def main() -> None:
    torch.set_num_threads(1)  # like the page on a small shared server; also steadier timings
    cfg = mtl.preset("notebook")

    sweep_weights = [(a, 1 - a) for a in ALPHAS]
    for clock, label in ((time.perf_counter, "wall"), (time.process_time, "CPU")):
        sequential, population = interleaved(
            [
                lambda: [notebook_run(a) for a in ALPHAS],
                lambda: mtl.sweep(cfg, weights=sweep_weights),
            ],
            repeat=3,
            clock=clock,
        )
        print(
            f"[{label}] sweep 101 x 100 epochs: notebook-style loop {sequential:.3f} s, "
            f"population {population:.3f} s, speed-up {sequential / population:.1f}x "
            "(goal >= 25x)"
        )
        # the sweep again, in turn with the single run, so ratio 3 compares like with like
        bare, ours, population = interleaved(
            [
                lambda: notebook_run(0.5),
                lambda: mtl.train(cfg),
                lambda: mtl.sweep(cfg, weights=sweep_weights),
            ],
            repeat=25,
            clock=clock,
        )
        print(
            f"[{label}] one run, 100 epochs: notebook bare loop {bare * 1e3:.1f} ms, "
            f"mtl.train {ours * 1e3:.1f} ms, ratio {ours / bare:.2f}x (goal <= 1.5x)"
        )
        print(
            f"[{label}] sweep of 101 against one run: {population / ours:.2f}x (goal <= 3x; "
            f"{population / bare:.2f}x the bare loop)"
        )


if __name__ == "__main__":
    main()
