"""The weight sweep's definition, shared by the page and the command line.

A weight sweep trains the notebook's form ``alpha * regression + (1 - alpha) * classification``
for ``points`` values of alpha, each over ``seeds`` consecutive seeds starting at the run's own,
as one population (:func:`mtl.sweep`): member ``i * seeds + j`` has ``grid_alphas(grid,
points)[i]`` and ``seeds_from(cfg, seeds)[j]``. It varies the static weights, so it trains
:func:`sweep_config` of the run: plain static weighting, whatever method the run uses.

Three grids (:data:`GRIDS`):

- ``"even"``: alpha evenly from 0 to 1 (:func:`alpha_grid`), raw weights. Right when the two
  losses have similar sizes.
- ``"log"``: the weight ratio ``r = w_regression / w_classification`` log-spaced from
  ``10**-LOG_DECADES`` to ``10**LOG_DECADES`` (:func:`ratio_grid`), as ``alpha = r / (1 + r)``,
  raw weights. When one loss is thousands of times the other (an MSE of 3,000 beside a
  cross-entropy of 0.7) the whole interesting trade-off sits at alpha below 0.001, which an even
  grid steps over; a log grid spends its points evenly over orders of magnitude of the ratio.
- ``"balanced"``: the even alpha grid with a balanced start (``WeightingSpec.scale =
  "balanced"``: weights relative to each member's initial losses), so alpha 0.5 starts both
  tasks with equal weighted losses and the even grid is centred on the scale gap.

The caps (:data:`MAX_POINTS`, :data:`MAX_SEEDS`) bound one request on a shared server; the page's
controls and the command line use the same ones.
"""

from __future__ import annotations

from dataclasses import replace
from numbers import Integral
from typing import Literal

from mtl.config import LIMITS, ConfigError, RunConfig, WeightingSpec

Grid = Literal["even", "log", "balanced"]
GRIDS: tuple[str, ...] = ("even", "log", "balanced")
"""The sweep's grids, in the page's order (see the module docstring)."""
DEFAULT_GRID: Grid = "even"
"""The page's and the command line's default grid."""
LOG_DECADES = 4
"""The log grid's ratio ``w_regression / w_classification`` spans ``10**-4`` to ``10**4``."""

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


def check_grid(grid: object) -> Grid:
    """``grid`` if it is one of :data:`GRIDS`, else :class:`ConfigError` (field ``sweep.grid``)."""
    if grid not in GRIDS:
        raise ConfigError("sweep.grid", grid, "one of " + ", ".join(repr(g) for g in GRIDS))
    return grid  # type: ignore[return-value]


def ratio_grid(points: int) -> tuple[float, ...]:
    """``points`` ratios ``w_regression / w_classification`` log-spaced over ``10**±LOG_DECADES``.

    ``10 ** (-LOG_DECADES + 2 * LOG_DECADES * i / (points - 1))``: both ends included, and 1 in
    the middle when ``points`` is odd. ``2 <= points <= 101``.
    """
    if not _integer_in(points, 2, MAX_POINTS):
        raise ConfigError("sweep.points", points, f"an integer in [2, {MAX_POINTS}]")
    n = int(points) - 1
    return tuple(10.0 ** (LOG_DECADES * (2 * i - n) / n) for i in range(n + 1))


def grid_alphas(grid: str, points: int) -> tuple[float, ...]:
    """The alpha (regression weight) of each point of ``grid``, in increasing order."""
    if check_grid(grid) == "log":
        return tuple(r / (1.0 + r) for r in ratio_grid(points))
    return alpha_grid(points)


def grid_scale(grid: str) -> Literal["raw", "balanced"]:
    """The ``WeightingSpec.scale`` a sweep on ``grid`` trains with."""
    return "balanced" if check_grid(grid) == "balanced" else "raw"


def sweep_config(cfg: RunConfig, grid: str = DEFAULT_GRID) -> RunConfig:
    """The configuration a weight sweep on ``grid`` trains: ``cfg`` with plain static weighting.

    A sweep varies the static weights, so the method (and its hyper-parameters) and the current
    weights are dropped: changing alpha or the method leaves the sweep the same. The balanced
    grid sets ``scale = "balanced"``; the others ``"raw"``.
    """
    return replace(cfg, weighting=WeightingSpec(scale=grid_scale(grid)))


def sweep_weights(points: int, grid: str = DEFAULT_GRID) -> list[tuple[float, float]]:
    """The sweep's weight pairs ``(alpha, 1 - alpha)`` over ``grid``'s alphas.

    On the log grid the pair is ``(r / (1 + r), 1 / (1 + r))``, so the tiny weight keeps its
    precision.
    """
    if check_grid(grid) == "log":
        return [(r / (1.0 + r), 1.0 / (1.0 + r)) for r in ratio_grid(points)]
    return [(a, 1.0 - a) for a in alpha_grid(points)]
