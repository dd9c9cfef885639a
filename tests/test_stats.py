"""Student's t, its quantiles, t-intervals and Welch's test, checked against SciPy."""

import math

import numpy as np
import pytest

from mtl.stats import seeds_to_separate, t_cdf, t_interval, t_quantile, welch


@pytest.fixture(scope="module")
def stats():
    """``scipy.stats``, imported by the tests that use it: its import takes about 3 s, which every
    test worker would pay at collection if this module imported it."""
    return pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("df", [1, 2, 2.7, 4, 9, 30, 200])
def test_t_cdf_and_quantile_match_scipy(df, stats):
    for t in (-7.0, -2.1, -0.3, 0.0, 0.4, 1.9, 12.0):
        assert t_cdf(t, df) == pytest.approx(stats.t.cdf(t, df), abs=1e-10)
    for p in (0.025, 0.5, 0.9, 0.975, 0.999):
        assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-8, abs=1e-10)


def test_t_interval_matches_scipy(stats):
    values = [2.0, 2.5, 1.75, 3.0]
    mean, lo, hi = t_interval(values)
    want = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert mean == pytest.approx(np.mean(values))
    assert (lo, hi) == pytest.approx(want)
    # NaNs (diverged seeds) are left out; one value has no interval
    assert t_interval([1.0, math.nan, 3.0])[0] == 2.0
    assert math.isnan(t_interval([1.0])[1])


def test_welch_matches_scipy(stats):
    a, b = [1.0, 2.0, 3.5, 2.2], [2.5, 3.9, 4.1]
    t, _df, p = welch(a, b)
    want = stats.ttest_ind(a, b, equal_var=False)
    assert t == pytest.approx(want.statistic)
    assert p == pytest.approx(want.pvalue)
    assert math.isnan(welch([1.0], b)[2])
    assert welch([1.0, 1.0], [1.0, 1.0])[2] == 1.0


def test_seeds_to_separate_is_the_first_significant_count(stats):
    n = seeds_to_separate(1.0, 1.0, 1.0)
    assert n is not None
    # at n the test rejects with these figures, at n - 1 it does not
    for k, rejects in ((n, True), (n - 1, False)):
        df = 2 * (k - 1)
        assert bool(1.0 / math.sqrt(2.0 / k) > stats.t.ppf(0.975, df)) is rejects
    assert seeds_to_separate(1e-6, 1.0, 1.0) is None
