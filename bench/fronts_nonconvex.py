"""Linear (static) weights against Tchebycheff: each front's hypervolume and non-supported points.

For each candidate configuration, trains the page's weight sweep twice, as one batched population
each: static weights ``(alpha, 1 - alpha)`` and the same alpha grid read as Tchebycheff (or STCH)
preferences. Prints per front: its members, the hypervolume against the common reference (the
nadir of both fronts, :func:`mtl.compare.front_reference`), and how many points of the front are
not supported (not on its convex hull, :func:`mtl.compare.supported`). This script is the source of
the figures quoted for the ``nonconvex`` preset.

Usage: ``python bench/fronts_nonconvex.py [--points 21] [--seeds 1] [--only NAME] [--method stch]``
"""

from __future__ import annotations

import argparse
import time

import mtl
from mtl.compare import front_reference, hypervolume, pareto_front, supported
from mtl.results import summary_split
from mtl.sweeps import alpha_grid, seeds_from


def candidates() -> dict[str, mtl.RunConfig]:
    """The configurations to compare: the preset first, then variations."""
    out: dict[str, mtl.RunConfig] = {}
    if "nonconvex" in mtl.PRESETS:
        out["nonconvex"] = mtl.preset("nonconvex")
        out["nonconvex, wide MLP (64)"] = mtl.preset("nonconvex").with_(
            **{"model.shape": "shared", "model.width": 64, "model.depth": 1}
        )
    base = mtl.preset("conflicting")
    out["conflicting (wide MLP)"] = base
    for shape in ("notebook", "article"):
        for angle in (120.0, 150.0, 170.0):
            for scale in (1.0, 5.0):
                out[f"{shape} angle={angle:g} scale={scale:g}"] = base.with_(
                    **{
                        "model.shape": shape,
                        "data.angle": angle,
                        "data.target_scale": scale,
                    }
                )
    for angle in (90.0, 120.0, 150.0):
        out[f"notebook n=1000 angle={angle:g}"] = base.with_(
            **{
                "model.shape": "notebook",
                "data.angle": angle,
                "data.target_scale": 1.0,
                "data.n_samples": 1000,
            }
        )
    for width in (1, 2):
        out[f"shared w={width} tanh angle=150"] = base.with_(
            **{"model.width": width, "model.depth": 1, "model.activation": "tanh"}
        )
    return out


def compare(cfg: mtl.RunConfig, points: int, seeds: int, method: str) -> dict[str, float]:
    """Train both sweeps; their hypervolumes, front sizes and non-supported counts."""
    weights = [(a, 1.0 - a) for a in alpha_grid(points)]
    seed_list = seeds_from(cfg, seeds)
    linear = mtl.sweep(
        cfg.with_(weighting=mtl.WeightingSpec()), weights=weights, seeds=seed_list
    ).summary
    pref = mtl.sweep(
        cfg.with_(weighting=mtl.WeightingSpec(method=method)), weights=weights, seeds=seed_list
    ).summary
    split = summary_split(linear)
    mse, acc = f"{split}_mse", f"{split}_accuracy"
    ref = front_reference(linear, pref, minimize=mse, maximize=acc)
    out: dict[str, float] = {}
    for name, s in (("linear", linear), (method, pref)):
        front = pareto_front(s, mse, acc)
        out[f"{name}_hv"] = hypervolume(s, ref, mse, acc)
        out[f"{name}_front"] = int(front.sum())
        out[f"{name}_unsupported"] = int((front & ~supported(s, mse, acc)).sum())
        out[f"{name}_diverged"] = int(s["diverged"].sum())
    out["ref_mse"], out["ref_acc"] = ref
    both = [linear[pareto_front(linear, mse, acc)], pref[pareto_front(pref, mse, acc)]]
    out["ideal_mse"] = min(float(f[mse].min()) for f in both)
    out["ideal_acc"] = max(float(f[acc].max()) for f in both)
    return out


def main() -> None:
    """Print one line per candidate."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=21)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--only", default="")
    parser.add_argument("--method", default="tchebycheff")
    args = parser.parse_args()
    for name, cfg in candidates().items():
        if args.only and args.only not in name:
            continue
        start = time.perf_counter()
        r = compare(cfg, args.points, args.seeds, args.method)
        m = args.method
        print(
            f"{name:32s} HV linear {r['linear_hv']:.4g} vs {m} {r[f'{m}_hv']:.4g} "
            f"(ratio {r[f'{m}_hv'] / max(r['linear_hv'], 1e-300):.2f}); front "
            f"{r['linear_front']} / {r[f'{m}_front']}, non-supported {r['linear_unsupported']} / "
            f"{r[f'{m}_unsupported']}; diverged {r['linear_diverged']} / {r[f'{m}_diverged']}; "
            f"ref ({r['ref_mse']:.4g}, {r['ref_acc']:.3f}), ideal ({r['ideal_mse']:.4g}, "
            f"{r['ideal_acc']:.3f}); {time.perf_counter() - start:.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
