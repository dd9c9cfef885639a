"""Command line: train a preset and print its final figures, or a small weight sweep.

Examples::

    python -m mtl                              # the notebook, as published
    python -m mtl --preset conflicting --alpha 0.8
    python -m mtl --preset penguins --method equal_mean --epochs 300
    python -m mtl --preset conflicting --sweep 11 --seeds 3
    python -m mtl --preset penguins --dataset iris   # any bundled dataset, the preset's model
    python -m mtl --preset autompg --alpha 0.5 --balanced --standardize-target
    python -m mtl --preset conflicting --sweep 41 --grid log

A sweep is the page's (:mod:`mtl.sweeps`): static weights ``(alpha, 1 - alpha)`` on an even grid
(or ``--grid log``: the ratio of the weights log-spaced; ``--grid balanced``: the even grid with a
balanced start), seeds from the run's own seed on.
"""

from __future__ import annotations

import argparse
import sys

import mtl
from mtl.data import DATASETS
from mtl.runtime import configure_threads
from mtl.sweeps import (
    DEFAULT_GRID,
    GRIDS,
    LOG_DECADES,
    MAX_POINTS,
    MAX_SEEDS,
    seeds_from,
    sweep_config,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mtl", description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="notebook", choices=mtl.PRESETS)
    parser.add_argument(
        "--dataset",
        choices=list(DATASETS),  # every registered dataset, bundled real ones included
        help="train on this dataset instead of the preset's (keeps the preset's other settings)",
    )
    parser.add_argument("--alpha", type=float, help="weights (alpha, 1 - alpha)")
    parser.add_argument(
        "--balanced",
        action="store_true",
        help="balanced start: the weights are relative to each task's first-step loss "
        "(weighting.scale = balanced), so --alpha 0.5 starts with equal weighted losses",
    )
    parser.add_argument(
        "--standardize-target",
        action="store_true",
        help="train on the standardised regression target; MSE is still in the target's units",
    )
    parser.add_argument("--method", help="weighting method, e.g. static, equal_mean")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--sweep",
        type=int,
        metavar="N",
        help=f"sweep N alphas from 0 to 1 with static weights (2 <= N <= {MAX_POINTS})",
    )
    parser.add_argument(
        "--grid",
        choices=GRIDS,
        default=DEFAULT_GRID,
        help="the sweep's grid: even alphas; log: w_regression / w_classification from "
        f"1e-{LOG_DECADES} to 1e{LOG_DECADES}; balanced: even alphas with a balanced start",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        metavar="S",
        help=f"seeds per alpha, from the run's seed on (1 <= S <= {MAX_SEEDS})",
    )
    return parser


def _config(args: argparse.Namespace) -> mtl.RunConfig:
    cfg = mtl.preset(args.preset)
    changes: dict[str, object] = {}
    if args.dataset is not None:
        changes["data.name"] = args.dataset
    if args.alpha is not None:
        changes["weighting.weights"] = mtl.WeightingSpec.alpha(args.alpha).weights
    if args.method is not None:
        changes["weighting.method"] = args.method
    if args.balanced:
        changes["weighting.scale"] = "balanced"
    if args.standardize_target:
        changes["data.standardize_target"] = True
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    if args.lr is not None:
        changes["optim.lr"] = args.lr
    if args.seed is not None:
        changes["seed"] = args.seed
    return cfg.with_(**changes)


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (2 for a bad argument)."""
    args = _parser().parse_args(argv)
    configure_threads()
    try:
        cfg = _config(args)
        if args.sweep is not None:
            if args.method is not None and args.method != "static":
                raise mtl.ConfigError(
                    "--method", args.method, "no method with --sweep (it varies static weights)"
                )
            cfg = sweep_config(cfg, args.grid)
            result = mtl.sweep(
                cfg, grid=args.grid, points=args.sweep, seeds=seeds_from(cfg, args.seeds)
            )
        else:
            result = mtl.train(cfg)
    except (mtl.ConfigError, mtl.DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    split = "test" if cfg.data.test_fraction > 0 else "train"
    columns = ["w_regression", "seed", f"{split}_mse", f"{split}_accuracy", "diverged"]
    float_format = "%.4g" if args.sweep is not None and args.grid == "log" else "%.4f"
    print(
        f"{args.preset}{'' if args.dataset is None else ' on ' + args.dataset}: "
        f"{result.n_members} member(s), {cfg.epochs} epochs, "
        f"{cfg.weighting.method} weighting"
        f"{' (balanced start)' if cfg.weighting.scale == 'balanced' else ''}, "
        f"{result.seconds:.2f} s ({split} split)"
    )
    print(result.summary[columns].to_string(index=False, float_format=float_format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
