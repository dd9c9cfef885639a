"""Pareto fronts, Delta_m and method face-offs."""

import itertools

import numpy as np
import pandas as pd
import pytest

import mtl
from mtl.compare import OBJECTIVES, delta_m, face_off, pareto_front


def _brute_force_front(mse: list[float], acc: list[float]) -> list[bool]:
    front = []
    for i in range(len(mse)):
        if not (np.isfinite(mse[i]) and np.isfinite(acc[i])):
            front.append(False)
            continue
        dominated = any(
            np.isfinite(mse[j])
            and np.isfinite(acc[j])
            and mse[j] <= mse[i]
            and acc[j] >= acc[i]
            and (mse[j] < mse[i] or acc[j] > acc[i])
            for j in range(len(mse))
        )
        front.append(not dominated)
    return front


def test_pareto_front_by_hand():
    frame = pd.DataFrame(
        {
            "test_mse": [1.0, 2.0, 3.0, 2.0, 1.0, np.nan],
            "test_accuracy": [0.5, 0.8, 0.9, 0.7, 0.5, 1.0],
        }
    )
    # row 3 is dominated by row 1 (same MSE, lower accuracy); rows 0 and 4 tie and both stay;
    # the NaN row (a diverged member) is never on the front.
    assert list(pareto_front(frame)) == [True, True, True, False, True, False]


@pytest.mark.parametrize("seed", range(20))
def test_pareto_front_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    # coarse values so that ties, the hard case, happen often
    mse = rng.integers(0, 8, n).astype(float)
    acc = rng.integers(0, 8, n) / 8
    mse[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame({"test_mse": mse, "test_accuracy": acc})
    assert list(pareto_front(frame)) == _brute_force_front(list(mse), list(acc))


def test_delta_m_by_hand():
    # MSE 8 against a single-task 10: 20% better (lower is better, so the sign flips);
    # accuracy 0.72 against 0.80: 10% worse. Mean of (+20%, -10%) = +5%.
    value = delta_m({"mse": 8.0, "accuracy": 0.72}, {"mse": 10.0, "accuracy": 0.80}, OBJECTIVES)
    assert value == pytest.approx(5.0)
    # matching both baselines is 0; positive means better
    assert delta_m({"mse": 10.0, "accuracy": 0.8}, {"mse": 10.0, "accuracy": 0.8}, OBJECTIVES) == 0
    assert delta_m({"mse": 12.0, "accuracy": 0.8}, {"mse": 10.0, "accuracy": 0.8}, OBJECTIVES) < 0


CFG = mtl.preset("conflicting").with_(epochs=20, **{"data.n_samples": 200})


@pytest.fixture(scope="module")
def faceoff():
    calls = []
    result = face_off(
        CFG,
        ["static", "equal_mean", "mgda"],
        seeds=[0, 1],
        on_progress=lambda d, t: calls.append((d, t)),
    )
    return result, calls


def test_face_off_trains_each_method_over_the_seeds(faceoff):
    result, _ = faceoff
    assert set(result.results) == {"static", "equal_mean", "mgda"}
    assert len(result.summary) == 6
    assert result.summary.groupby("method").seed.apply(sorted).to_dict() == {
        m: [0, 1] for m in ("static", "equal_mean", "mgda")
    }
    # each method's member k is the same run as training it alone with seed k
    solo = mtl.train(CFG.with_(**{"weighting.method": "mgda"}, seed=1))
    row = result.results["mgda"].summary.iloc[1]
    assert row.test_mse == pytest.approx(solo.summary.test_mse[0], rel=1e-5)


def test_face_off_table_means_spreads_and_delta_m(faceoff):
    result, _ = faceoff
    table = result.table
    assert list(table.delta_m) == sorted(table.delta_m, reverse=True)
    static = result.summary[result.summary.method == "static"]
    row = table.set_index("method").loc["static"]
    assert row.mse_mean == pytest.approx(static.test_mse.mean())
    assert row.accuracy_std == pytest.approx(static.test_accuracy.std(ddof=0))
    b = result.baseline.summary
    baselines = result.baselines
    assert baselines["mse"] == pytest.approx(b[b.w_regression == 1.0].test_mse.mean())
    assert baselines["accuracy"] == pytest.approx(b[b.w_regression == 0.0].test_accuracy.mean())
    expected = delta_m({"mse": row.mse_mean, "accuracy": row.accuracy_mean}, baselines, OBJECTIVES)
    assert row.delta_m == pytest.approx(expected)


def test_face_off_progress_counts_every_population(faceoff):
    _, calls = faceoff
    total = CFG.epochs * 4  # three methods and the baselines
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == list(range(1, total + 1))


def test_face_off_refuses_nothing_to_compare():
    with pytest.raises(mtl.ConfigError):
        face_off(CFG, [], seeds=[0])
    with pytest.raises(mtl.ConfigError):
        face_off(CFG, ["static"], seeds=[])
    with pytest.raises(mtl.ConfigError, match=r"weighting\.method"):
        face_off(CFG, ["nope"], seeds=[0])


def test_brute_force_helper_agrees_on_all_small_cases():
    values = [0.0, 1.0]
    for mse in itertools.product(values, repeat=3):
        for acc in itertools.product(values, repeat=3):
            frame = pd.DataFrame({"test_mse": mse, "test_accuracy": acc})
            assert list(pareto_front(frame)) == _brute_force_front(list(mse), list(acc))
