"""Small-sample statistics for comparing methods over a few seeds (no SciPy at run time).

Student's t distribution through the regularised incomplete beta function (the continued
fraction of Numerical Recipes, Press et al., 2007, section 6.4), its quantiles by bisection, the
t-interval of a mean and Welch's unequal-variance t-test (Welch, 1947). ``tests/test_stats.py``
checks them against SciPy.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function ``I_x(a, b)`` for ``0 <= x <= 1``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """``P(T <= t)`` for Student's t with ``df > 0`` degrees of freedom (``df`` may be real)."""
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


@functools.lru_cache(maxsize=1024)
def t_quantile(p: float, df: float) -> float:
    """The ``p``-quantile of Student's t with ``df`` degrees of freedom (bisection on the CDF).

    Cached: a face-off asks for the same few quantiles (95% intervals over n seeds) many times.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), not {p}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the ``level`` t-interval of the mean of ``values``.

    NaN values (diverged members) are left out; with fewer than two values the bounds are NaN.
    """
    x = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan
    half = t_quantile(0.5 + level / 2.0, len(x) - 1) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return mean, mean - half, mean + half


def welch(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """Welch's two-sided t-test of equal means: ``(t, df, p)``.

    NaN values are left out. With fewer than two values on a side the test cannot run: NaNs.
    Two samples with no spread give ``p = 1`` when their means are equal and ``0`` otherwise.
    """
    x = np.asarray([v for v in a if math.isfinite(v)], dtype=float)
    y = np.asarray([v for v in b if math.isfinite(v)], dtype=float)
    if len(x) < 2 or len(y) < 2:
        return math.nan, math.nan, math.nan
    vx, vy = float(x.var(ddof=1)) / len(x), float(y.var(ddof=1)) / len(y)
    diff = float(x.mean() - y.mean())
    if vx + vy == 0.0:
        return (
            (0.0, math.inf, 1.0) if diff == 0.0 else (math.copysign(math.inf, diff), math.inf, 0.0)
        )
    t = diff / math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    return t, df, 2.0 * t_cdf(-abs(t), df)


def seeds_to_separate(
    diff: float, sd_a: float, sd_b: float, most: int = 100, alpha: float = 0.05
) -> int | None:
    """The fewest seeds per method at which a difference ``diff`` in means would be significant.

    A planning figure, not a power calculation: it assumes the observed difference and standard
    deviations are the true ones and asks when Welch's test at level ``alpha`` would reject with
    exactly those figures (``|diff| / sqrt((sd_a² + sd_b²) / n)`` beyond the t quantile, with
    Welch's degrees of freedom). ``None`` when more than ``most`` seeds would be needed.
    """
    if not (math.isfinite(diff) and math.isfinite(sd_a) and math.isfinite(sd_b)) or diff == 0.0:
        return None
    for n in range(2, most + 1):
        va, vb = sd_a**2 / n, sd_b**2 / n
        if va + vb == 0.0:
            return n
        df = (va + vb) ** 2 / (va**2 / (n - 1) + vb**2 / (n - 1))
        # |t| beyond the quantile 1 - alpha / 2, i.e. its CDF beyond it (the CDF increases):
        # one CDF evaluation instead of a quantile's bisection
        if t_cdf(abs(diff) / math.sqrt(va + vb), df) > 1.0 - alpha / 2.0:
            return n
    return None
