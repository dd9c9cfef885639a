"""The largest sweep one device finishes in 10 seconds, on the conflicting preset.

Grows the member count geometrically (1, 2, 4, ... up to :data:`mtl.config.MAX_MEMBERS`) and
trains one sweep of that many members (weights spread over alpha in [0, 1]) on the chosen device
until a sweep takes more than 10 s; prints every size's time, then the largest K that finished
under 10 s. The work budget is switched off for the measurement.

Run: ``python bench/bench_device.py [device]`` (default: ``$MTL_DEVICE``, else ``cpu``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mtl
from mtl.budget import set_work_budget
from mtl.config import MAX_MEMBERS
from mtl.engine import resolve_device

LIMIT_SECONDS = 10.0


def main() -> None:
    torch.set_num_threads(1)  # like the page on a small shared server
    device = resolve_device(sys.argv[1] if len(sys.argv) > 1 else None)
    set_work_budget(0)
    cfg = mtl.preset("conflicting")
    mtl.sweep(cfg, weights=[(0.5, 0.5)], device=device)  # warm-up
    best: tuple[int, float] | None = None
    k = 1
    while k <= MAX_MEMBERS:
        weights = [(i / max(k - 1, 1), 1 - i / max(k - 1, 1)) for i in range(k)]
        start = time.perf_counter()
        mtl.sweep(cfg, weights=weights, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
        print(f"{device}: K = {k:>4}, {cfg.epochs} epochs: {seconds:.2f} s")
        if seconds > LIMIT_SECONDS:
            break
        best = (k, seconds)
        k *= 2
    if best is None:
        print(f"{device}: even K = 1 takes more than {LIMIT_SECONDS:.0f} s")
    else:
        capped = " (the member cap)" if best[0] * 2 > MAX_MEMBERS else ""
        print(
            f"largest sweep under {LIMIT_SECONDS:.0f} s on {device}: "
            f"K = {best[0]}{capped} in {best[1]:.2f} s"
        )


if __name__ == "__main__":
    main()
