"""Ranges and named choices of every configurable value: the leaf the whole core validates with.

``LIMITS`` (numeric ranges) and ``CHOICES`` (named options) are the single source for validation,
for the page's widgets and for clamping values that arrive in a URL. This module imports nothing
from ``mtl`` but :mod:`mtl.errors`, so any module (the config, the datasets, the weighting methods)
can import it without creating an import cycle; :mod:`mtl.config` re-exports its names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mtl.errors import ConfigError

TASKS: tuple[str, ...] = ("regression", "classification")
"""The task order used by every ``[..., T]`` tensor: index 0 regression, 1 classification."""


@dataclass(frozen=True)
class Range:
    """An allowed interval for a numeric field; ``lo_open``/``hi_open`` exclude the end points."""

    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a finite number (an int where required) inside the interval."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not float(value).is_integer():
            return False
        if not math.isfinite(value):
            return False
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.hi if self.hi_open else value <= self.hi
        return above and below

    def clamp(self, value: float) -> float:
        """The nearest allowed value.

        Open ends are approached, not reached; -inf and +inf go to the nearest allowed end.
        """
        lo = self.lo + (1e-6 if self.lo_open else 0.0)
        hi = self.hi - (1e-6 if self.hi_open else 0.0)
        clamped = (lo if value < 0 else hi) if not math.isfinite(value) else min(max(value, lo), hi)
        return float(round(clamped)) if self.integer else clamped

    def describe(self) -> str:
        """Human-readable form such as ``0 < x <= 10`` or ``an integer in [1, 2000]``."""
        if self.integer:
            return f"an integer in [{self.lo:g}, {self.hi:g}]"
        left = "<" if self.lo_open else "<="
        right = "<" if self.hi_open else "<="
        return f"a number with {self.lo:g} {left} x {right} {self.hi:g}"


MAX_MEMBERS = 1024
"""Cap on the population size K of one call (a 101-point sweep over 10 seeds fits)."""

LIMITS: dict[str, Range] = {
    "data.n_samples": Range(3, 20_000, integer=True),
    "data.n_features": Range(1, 64, integer=True),
    "data.noise": Range(0.0, 100.0),
    "data.label_noise": Range(0.0, 0.5),
    "data.angle": Range(0.0, 180.0),
    "data.target_scale": Range(1e-3, 1e3),
    "data.n_classes": Range(2, 5, integer=True),
    "data.test_fraction": Range(0.0, 0.9),
    "data.seed": Range(0, 2**31 - 1, integer=True),
    "model.width": Range(1, 512, integer=True),
    "model.depth": Range(1, 8, integer=True),
    "loss.huber_delta": Range(0.0, 100.0, lo_open=True),
    "loss.label_smoothing": Range(0.0, 1.0, hi_open=True),
    "loss.focal_gamma": Range(0.0, 10.0),
    "loss.l2": Range(0.0, 10.0),
    "weighting.weight": Range(0.0, 1000.0),
    "optim.lr": Range(0.0, 10.0, lo_open=True),
    "optim.momentum": Range(0.0, 1.0, hi_open=True),
    "optim.batch_size": Range(1, 20_000, integer=True),
    "epochs": Range(1, 2000, integer=True),
    "seed": Range(0, 2**31 - 1, integer=True),
}

CHOICES: dict[str, tuple[str, ...]] = {
    "model.shape": ("notebook", "article", "shared"),
    "model.activation": ("relu", "tanh", "gelu"),
    "loss.regression": ("mse", "l1", "huber"),
    "loss.classification": ("ce", "label_smoothing", "focal"),
    "optim.kind": ("sgd", "adam"),
    "weighting.scale": ("raw", "balanced"),
}


def check_range(name: str, value: Any) -> None:
    """Raise :class:`ConfigError` unless ``value`` lies in ``LIMITS[name]``."""
    allowed = LIMITS[name]
    if not allowed.contains(value):
        raise ConfigError(name, value, allowed.describe())


def check_choice(name: str, value: Any) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``CHOICES[name]``."""
    if value not in CHOICES[name]:
        raise ConfigError(name, value, "one of " + ", ".join(repr(c) for c in CHOICES[name]))
