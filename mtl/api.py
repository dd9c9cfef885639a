"""The public entry points: :func:`train` (one run) and :func:`sweep` (a population).

Each prices its whole request (:func:`mtl.budget.check_request`) before anything trains, and
refuses one over the work budget with a :class:`~mtl.errors.ConfigError` (field ``work``) that
says what to lower; :func:`mtl.budget.price` gives the same estimate without running anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import cast

import torch

from mtl.budget import Request, check_request
from mtl.config import ConfigError, RunConfig, WeightingSpec, check_range
from mtl.engine import Population, ProgressFn, StopFn, resolve_device, train_population
from mtl.results import Result
from mtl.sweeps import DEFAULT_POINTS, grid_scale, sweep_weights
from mtl.weighting import METHODS


def train(
    cfg: RunConfig,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    *,
    device: str | torch.device | None = None,
) -> Result:
    """Train one model (K = 1) with ``cfg``'s weights and seed.

    ``on_progress(done, total)`` is called after every epoch, so a caller (the page) can drive a
    progress bar without the core knowing about it. Raises :class:`~mtl.errors.ConfigError`
    (field ``work``) before training when the run is over the work budget (:mod:`mtl.budget`).
    ``should_stop()`` is asked before every epoch (and every 0.2 s inside a long one); when it
    returns True, :class:`mtl.engine.Cancelled` is raised and nothing is returned.
    ``device`` is where to compute (``None``: ``$MTL_DEVICE``, else the CPU; see
    :func:`mtl.engine.resolve_device`); it never changes what the result is.
    """
    where = resolve_device(device)
    check_request(Request.run(cfg))
    return train_population(
        cfg,
        Population(weights=(cfg.weighting.weights,), seeds=(cfg.seed,)),
        on_progress,
        should_stop,
        device=where,
    )


def sweep(
    cfg: RunConfig,
    weights: Sequence[Sequence[float]] | None = None,
    seeds: Sequence[int] | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    *,
    device: str | torch.device | None = None,
    grid: str | None = None,
    points: int | None = None,
) -> Result:
    """Train ``len(weights) * len(seeds)`` members in one batched computation.

    Member ``i * len(seeds) + j`` has ``weights[i]`` and ``seeds[j]``; everything else comes from
    ``cfg``. ``weights=None`` means ``[cfg.weighting.weights]``; ``seeds=None`` means
    ``[cfg.seed]``. Each weight pair is checked like ``cfg.weighting.weights``. The whole
    population is priced before it trains (:mod:`mtl.budget`): over the work budget, a
    :class:`~mtl.errors.ConfigError` (field ``work``) says what to lower. ``device`` as in
    :func:`train`.

    ``grid`` (``"even"``, ``"log"`` or ``"balanced"``, see :mod:`mtl.sweeps`) draws the weights
    from that grid of ``points`` alphas (default :data:`~mtl.sweeps.DEFAULT_POINTS`) instead of
    ``weights`` (give one or the other) and sets ``cfg.weighting.scale`` to the grid's
    (``"balanced"`` for the balanced grid, else ``"raw"``); the method is kept, and must read
    base weights (and, for the balanced grid, balance them). The page's sweep is
    ``sweep(sweep_config(cfg, grid), grid=grid, points=points, seeds=...)``.
    """
    where = resolve_device(device)
    if grid is not None:
        if weights is not None:
            raise ConfigError("sweep.weights", "given with a grid", "weights or a grid, not both")
        weights = sweep_weights(DEFAULT_POINTS if points is None else points, grid)
        scale = grid_scale(grid)
        cls = METHODS[cfg.weighting.method]
        if not cls.uses_base_weights or (scale == "balanced" and not cls.balances_base_weights):
            raise ConfigError(
                "sweep.grid",
                grid,
                f"a method that reads {'balanced ' if scale == 'balanced' else ''}static weights "
                f"(not {cfg.weighting.method}) for a grid sweep",
            )
        cfg = replace(cfg, weighting=replace(cfg.weighting, scale=scale))
    elif points is not None:
        raise ConfigError("sweep.points", points, "points only with a grid")
    weight_list = [tuple(float(v) for v in w) for w in (weights or [cfg.weighting.weights])]
    seed_list = [cfg.seed] if seeds is None else list(seeds)
    if not weight_list or not seed_list:
        raise ConfigError(
            "sweep", (len(weight_list), len(seed_list)), "at least one weight and seed"
        )
    for w in weight_list:  # same checks as a single run's weights, with the same messages
        pair = cast("tuple[float, float]", w)  # its length is what WeightingSpec checks
        WeightingSpec(
            method=cfg.weighting.method,
            weights=pair,
            params=cfg.weighting.params,
            scale=cfg.weighting.scale,
        )
    for s in seed_list:
        check_range("seed", s)
    check_request(Request.sweep(cfg, len(weight_list), len(seed_list)))
    population = Population(
        weights=tuple(w for w in weight_list for _ in seed_list),
        seeds=tuple(int(s) for _ in weight_list for s in seed_list),
    )
    return train_population(cfg, population, on_progress, should_stop, device=where)
