"""Hypervolume, the common reference point and supported points of a front, worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mtl import charts
from mtl.compare import front_reference, hypervolume, region_beyond_hull, supported


def _frame(points: list[tuple[float, float]]) -> pd.DataFrame:
    """A summary with ``test_mse`` and ``test_accuracy`` columns, one row per point."""
    return pd.DataFrame(points, columns=["test_mse", "test_accuracy"])


def test_a_single_point_is_a_rectangle():
    # (1, 0.8) against (3, 0.5): (3 - 1) * (0.8 - 0.5) = 0.6
    assert hypervolume(_frame([(1.0, 0.8)]), (3.0, 0.5)) == pytest.approx(0.6)


def test_two_points_by_hand():
    # (1, 0.6) and (2, 0.9) against (4, 0.5): the union of [1, 4] x [0.5, 0.6] (0.3) and
    # [2, 4] x [0.5, 0.9] (0.8), overlapping in [2, 4] x [0.5, 0.6] (0.2): 0.3 + 0.8 - 0.2 = 0.9
    assert hypervolume(_frame([(1.0, 0.6), (2.0, 0.9)]), (4.0, 0.5)) == pytest.approx(0.9)
    # the order of the rows does not matter
    assert hypervolume(_frame([(2.0, 0.9), (1.0, 0.6)]), (4.0, 0.5)) == pytest.approx(0.9)


def test_dominated_points_add_nothing():
    front = _frame([(1.0, 0.6), (2.0, 0.9)])
    with_dominated = _frame([(1.0, 0.6), (2.0, 0.9), (2.5, 0.7), (1.0, 0.55), (3.0, 0.9)])
    assert hypervolume(with_dominated, (4.0, 0.5)) == pytest.approx(hypervolume(front, (4.0, 0.5)))


def test_points_beyond_the_reference_contribute_nothing():
    # worse MSE than the reference, worse accuracy than it, exactly on it: no area
    outside = _frame([(5.0, 0.99), (0.1, 0.4), (4.0, 0.9), (0.5, 0.5)])
    assert hypervolume(outside, (4.0, 0.5)) == 0.0
    inside = _frame([(1.0, 0.8)])
    mixed = pd.concat([inside, outside], ignore_index=True)
    assert hypervolume(mixed, (4.0, 0.5)) == pytest.approx(3.0 * 0.3)


def test_missing_values_and_empty_frames():
    frame = _frame([(1.0, 0.8), (float("nan"), 0.99), (0.5, float("nan"))])
    assert hypervolume(frame, (3.0, 0.5)) == pytest.approx(0.6)
    assert hypervolume(_frame([]), (3.0, 0.5)) == 0.0


def test_other_columns():
    frame = pd.DataFrame({"train_mse": [1.0], "train_accuracy": [0.8]})
    assert hypervolume(frame, (2.0, 0.0), "train_mse", "train_accuracy") == pytest.approx(0.8)


def test_hypervolume_matches_a_fine_grid_count():
    rng = np.random.default_rng(0)
    frame = _frame(list(zip(rng.uniform(0, 1, 30), rng.uniform(0, 1, 30), strict=True)))
    ref = (1.0, 0.0)
    m, a = np.meshgrid(
        np.linspace(0, 1, 801)[:-1] + 1 / 1600, np.linspace(0, 1, 801)[:-1] + 1 / 1600
    )
    covered = np.zeros_like(m, dtype=bool)
    for x, y in frame.to_numpy():
        covered |= (m >= x) & (a <= y)
    assert hypervolume(frame, ref) == pytest.approx(covered.mean(), abs=5e-3)


def test_front_reference_is_the_nadir_of_the_fronts():
    one = _frame([(1.0, 0.6), (2.0, 0.9), (9.0, 0.1)])  # (9, 0.1) is dominated
    two = _frame([(0.5, 0.55), (3.0, 0.95)])
    assert front_reference(one, two) == (3.0, 0.55)
    # with the nadir, the extremes of a front add no area
    assert hypervolume(two, front_reference(two)) == 0.0
    assert all(math.isnan(v) for v in front_reference(_frame([(float("nan"), 0.5)])))


def test_supported_points_are_the_convex_hull_of_the_front():
    # in (mse, 1 - accuracy): (0, 1), (1, 0.2), (2, 0) are on the hull; (0.5, 0.8) lies above
    # the chord from (0, 1) to (1, 0.2) (which passes 0.6 at mse 0.5): a dent, not supported.
    # (1.5, 0.1) lies on the chord (1, 0.2)-(2, 0): on a hull edge, supported.
    # (3, 0.5) is dominated: not on the front, not supported.
    frame = _frame([(0.0, 0.0), (0.5, 0.2), (1.0, 0.8), (1.5, 0.9), (2.0, 1.0), (3.0, 0.5)])
    assert supported(frame).tolist() == [True, False, True, True, True, False]
    # a positive rescaling of an axis changes nothing
    scaled = frame.assign(test_mse=frame["test_mse"] * 1000.0)
    assert supported(scaled).tolist() == supported(frame).tolist()


def test_a_convex_front_is_all_supported():
    t = np.linspace(0.05, 1.5, 12)
    frame = _frame(list(zip(t, 1.0 - 0.3 / t, strict=True)))  # error 0.3 / mse: convex
    assert supported(frame).all()
    concave = _frame(list(zip(t, 1.0 - (1.6 - t) ** 0.5, strict=True)))  # error sqrt: concave
    flags = supported(concave).to_numpy()
    assert flags[0] and flags[-1] and not flags[1:-1].any()


def test_region_beyond_the_linear_hull_by_hand():
    # linear front (mse, acc): (1, 0.5), (2, 0.6), (3, 0.9); (2, 0.6) sits in a dent (the hull's
    # chord from (1, 0.5) to (3, 0.9) passes 0.7 at mse 2). The other front's point (2, 0.8) lies
    # beyond the hull from mse 2 until the chord reaches 0.8 at mse 2.5: a triangle of area
    # 0.5 * 0.5 * 0.1 = 0.025.
    linear = _frame([(1.0, 0.5), (2.0, 0.6), (3.0, 0.9)])
    other = _frame([(2.0, 0.8)])
    region = region_beyond_hull(linear, other, (4.0, 0.4))
    gap = (region["high"] - region["low"]).to_numpy()
    assert (gap >= 0).all()
    area = float(np.sum(np.diff(region["mse"]) * (gap[1:] + gap[:-1]) / 2))
    assert area == pytest.approx(0.025, abs=1e-3)
    at = region.set_index("mse")
    inside = at.index[(at.index > 2.2) & (at.index < 2.3)][0]
    assert at.loc[inside, "high"] == pytest.approx(0.8)
    assert at.loc[inside, "low"] == pytest.approx(0.5 + 0.2 * (inside - 1.0))
    assert (gap[region["mse"] < 2.0] == 0).all() and (gap[region["mse"] > 2.5] == 0).all()
    # a front that stays inside the hull region shades nothing
    assert (
        region_beyond_hull(linear, _frame([(2.0, 0.65)]), (4.0, 0.4)).eval("high - low") == 0
    ).all()


def test_fronts_chart_draws_both_fronts_the_hull_and_the_region():
    linear = _frame([(1.0, 0.5), (2.0, 0.6), (3.0, 0.9)])
    other = _frame([(2.0, 0.8), (1.0, 0.45)])
    both = pd.concat(
        [
            linear.assign(sweep="Linear", supported=supported(linear)),
            other.assign(sweep="Tchebycheff", supported=supported(other)),
        ],
        ignore_index=True,
    ).assign(w_regression=0.5, seed=0, pareto=True)
    region = region_beyond_hull(linear, other, (4.0, 0.4))
    spec = charts.fronts_chart(both, region=region).to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["area", "line", "circle", "line"]
    assert spec["layer"][1]["mark"]["strokeDash"] == [5, 4]  # the linear front's hull
    no_region = charts.fronts_chart(both).to_dict()
    assert [layer["mark"]["type"] for layer in no_region["layer"]] == ["line", "circle", "line"]
