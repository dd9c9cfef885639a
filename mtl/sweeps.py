"""The weight sweep's definition, shared by the page and the command line.

A weight sweep trains the notebook's form ``alpha * regression + (1 - alpha) * classification``
for ``points`` values of alpha evenly from 0 to 1, each over ``seeds`` consecutive seeds starting
at the run's own, as one population (:func:`mtl.sweep`): member ``i * seeds + j`` has
``alpha_grid(points)[i]`` and ``seeds_from(cfg, seeds)[j]``. It varies the static weights, so it
trains :func:`sweep_config` of the run: plain static weighting, whatever method the run uses.

The caps (:data:`MAX_POINTS`, :data:`MAX_SEEDS`) bound one request on a shared server; the page's
controls and the command line use the same ones.
"""

from __future__ import annotations

from dataclasses import replace
from numbers import Integral

from mtl.config import LIMITS, ConfigError, RunConfig, WeightingSpec

MAX_POINTS = 101
"""Most alpha points of a sweep (0, 0.01, ..., 1)."""
MAX_SEEDS = 10
"""Most seeds of a sweep or a face-off."""
DEFAULT_POINTS = 101
"""Alpha points of the page's default sweep."""
DEFAULT_SEEDS = 3
"""Seeds of the page's default sweep and face-off."""


def _integer_in(value: object, lo: int, hi: int) -> bool:
    """Whether ``value`` is an integer (not a bool) with ``lo <= value <= hi``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        return False
    return lo <= int(value) <= hi


def alpha_grid(points: int) -> tuple[float, ...]:
    """``points`` values of alpha evenly from 0 to 1 (both ends included), ``2 <= points <= 101``.

    Computed as ``i / (points - 1)`` so the grid's values are exact where they can be (0.5, 0.25).
    """
    if not _integer_in(points, 2, MAX_POINTS):
        raise ConfigError("sweep.points", points, f"an integer in [2, {MAX_POINTS}]")
    return tuple(i / (points - 1) for i in range(int(points)))


def seeds_from(cfg: RunConfig, count: int) -> tuple[int, ...]:
    """``count`` consecutive seeds starting at the run's own (so a sweep holds the current run).

    Near the largest allowed seed the block ends there instead. ``1 <= count <= MAX_SEEDS``.
    """
    if not _integer_in(count, 1, MAX_SEEDS):
        raise ConfigError("sweep.seeds", count, f"an integer in [1, {MAX_SEEDS}]")
    start = int(min(cfg.seed, LIMITS["seed"].hi - count + 1))
    return tuple(range(start, start + int(count)))


def sweep_config(cfg: RunConfig) -> RunConfig:
    """The configuration a weight sweep trains: ``cfg`` with plain static weighting.

    A sweep varies the static weights, so the method (and its hyper-parameters) and the current
    weights are dropped: changing alpha or the method leaves the sweep the same.
    """
    return replace(cfg, weighting=WeightingSpec())


def sweep_weights(points: int) -> list[tuple[float, float]]:
    """The sweep's weight pairs ``(alpha, 1 - alpha)`` over :func:`alpha_grid`."""
    return [(a, 1.0 - a) for a in alpha_grid(points)]
