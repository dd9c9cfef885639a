"""Pareto fronts, Delta_m and method face-offs."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

import mtl
from mtl.budget import face_off_config
from mtl.compare import OBJECTIVES, delta_m, face_off, pareto_front
from mtl.engine import Population, train_population


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
    total = CFG.epochs  # three methods and the baselines, all in one mixed population
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == list(range(1, total + 1))


def test_face_off_members_equal_their_methods_own_populations():
    # the mixed population (static at a balanced scale beside raw-scale baselines, FAMO,
    # GradDrop, which combines representation gradients, and PCGrad) gives each member exactly
    # the run of a population of its method alone, and the baselines the run of theirs
    cfg = mtl.preset("tradeoff").with_(
        epochs=8,
        weighting=mtl.WeightingSpec(method="static", weights=(0.3, 0.7), scale="balanced"),
    )
    methods = ["static", "famo", "graddrop", "pcgrad"]
    seeds = (3, 4)
    outcome = face_off(cfg, methods, seeds=seeds)
    for method in methods:
        run_cfg = face_off_config(cfg, method)
        alone = train_population(
            run_cfg, Population(weights=(run_cfg.weighting.weights,) * 2, seeds=seeds)
        )
        mine = outcome.results[method]
        assert mine.config == run_cfg
        assert list(mine.summary.member) == [0, 1] and list(mine.summary.seed) == list(seeds)
        for column in ("train_mse", "train_accuracy", "test_mse", "test_accuracy"):
            assert mine.summary[column].to_numpy() == pytest.approx(
                alone.summary[column].to_numpy(), rel=1e-5, abs=1e-7
            ), (method, column)
        assert len(mine.metrics) == len(alone.metrics)
        assert mine.metrics.value.to_numpy() == pytest.approx(
            alone.metrics.value.to_numpy(), rel=1e-4, abs=1e-6, nan_ok=True
        )
    base = outcome.baseline.summary
    assert list(base.w_regression) == [1.0, 1.0, 0.0, 0.0]
    alone = train_population(
        cfg.with_(weighting=mtl.WeightingSpec(weights=(1.0, 0.0))),
        Population(weights=((1.0, 0.0),) * 2 + ((0.0, 1.0),) * 2, seeds=seeds + seeds),
    )
    assert base.test_mse.to_numpy() == pytest.approx(alone.summary.test_mse.to_numpy(), rel=1e-5)


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


# ---------------------------------------------------------------- the tuned face-off

from mtl.compare import (  # noqa: E402
    FRONT,
    front_position,
    reads_representation,
    trains_alone,
    tuned_face_off,
    validation_split,
)

TUNED_CFG = mtl.preset("conflicting").with_(epochs=25)
TUNED_METHODS = ("static", "famo", "pcgrad")


@pytest.fixture(scope="module")
def tuned():
    return tuned_face_off(TUNED_CFG, TUNED_METHODS, seeds=(0, 1, 2), front_points=3)


def test_validation_split_is_carved_from_the_training_rows():
    fit, test = validation_split(TUNED_CFG)
    again, _ = validation_split(TUNED_CFG)
    full = mtl.data.split_dataset(
        mtl.data.build_dataset(TUNED_CFG.data), 0.25, TUNED_CFG.data.seed, True
    )
    fit_rows, val_rows = set(fit.train_index.tolist()), set(fit.test_index.tolist())
    assert fit_rows.isdisjoint(val_rows)
    assert fit_rows | val_rows == set(full.train_index.tolist())
    assert len(val_rows) == round(0.2 * len(full.train_index))
    assert set(test.test_index.tolist()) == set(full.test_index.tolist())
    assert test.train_index.tolist() == fit.train_index.tolist()
    assert again.test_index.tolist() == fit.test_index.tolist()  # deterministic
    # standardised on the rows the models train on
    assert fit.x_train.mean(0).abs().max() < 1e-5
    with pytest.raises(mtl.ConfigError, match="test_fraction"):
        validation_split(TUNED_CFG.with_(**{"data.test_fraction": 0.0}))


def test_tuned_members_equal_their_solo_runs_on_the_fit_rows(tuned):
    fit, _ = validation_split(TUNED_CFG)
    s = tuned.summary
    row = s[(s.method == "famo") & (s.lr == tuned.lrs[2]) & (s.seed == 1)].iloc[0]
    cfg = TUNED_CFG.with_(**{"weighting.method": "famo", "optim.lr": tuned.lrs[2]}, seed=1)
    solo = train_population(cfg, Population(weights=((0.5, 0.5),), seeds=(1,)), split=fit)
    assert row.val_mse == pytest.approx(solo.summary.test_mse[0], rel=1e-5)
    assert row.val_accuracy == pytest.approx(solo.summary.test_accuracy[0], abs=1e-6)


def test_representation_methods_mix_or_train_alone_and_equal_their_solo_runs():
    # MGDA-UB's weights read the shared representation's gradients, which the mixed population
    # does not pass its methods: the tuned face-off trains it apart, on the same rows. GradDrop
    # reads them only to combine them, which the mixed population does for it.
    cfg = TUNED_CFG.with_(
        epochs=8, weighting=mtl.WeightingSpec(method="mgda", params=(("upper_bound", True),))
    )
    assert reads_representation(cfg, "graddrop") and reads_representation(cfg, "mgda")
    assert not reads_representation(cfg, "moco")
    assert trains_alone(cfg, "mgda") and not trains_alone(cfg, "graddrop")
    methods = ("graddrop", "mgda", "moco")
    out = tuned_face_off(cfg, methods, seeds=(0, 1), lrs=(0.003, 0.01), front_points=2)
    fit, _ = validation_split(cfg)
    s = out.summary
    assert not s[["val_mse", "test_mse"]].isna().any().any()
    for method in methods:
        row = s[(s.method == method) & (s.lr == 0.01) & (s.seed == 1)].iloc[0]
        solo_cfg = face_off_config(cfg, method).with_(**{"optim.lr": 0.01}, seed=1)
        solo = train_population(solo_cfg, Population(weights=((0.5, 0.5),), seeds=(1,)), split=fit)
        assert row.val_mse == pytest.approx(solo.summary.test_mse[0], rel=1e-5), method
        assert row.val_accuracy == pytest.approx(solo.summary.test_accuracy[0], abs=1e-6), method


def test_tuned_face_off_picks_each_rate_by_validation_delta_m(tuned):
    s, base = tuned.summary, tuned.val_baselines
    assert len(s) == (len(TUNED_METHODS) + 3) * 4 * 3
    for row in tuned.table.itertuples():
        rows = s[s.method == row.method]
        scores = {
            lr: delta_m(
                {"mse": g.val_mse.mean(), "accuracy": g.val_accuracy.mean()}, base, OBJECTIVES
            )
            for lr, g in rows.groupby("lr")
        }
        assert row.lr == max(scores, key=scores.get)
        assert row.val_delta_m == pytest.approx(scores[row.lr])
        at = rows[rows.lr == row.lr]
        assert row.mse_mean == pytest.approx(at.test_mse.mean())
        assert row.accuracy_mean == pytest.approx(at.test_accuracy.mean())
        expected = delta_m(
            {"mse": row.mse_mean, "accuracy": row.accuracy_mean}, tuned.baselines, OBJECTIVES
        )
        assert row.delta_m == pytest.approx(expected)
        assert row.mse_lo < row.mse_mean < row.mse_hi


def test_tuned_baselines_are_the_tuned_single_task_members(tuned):
    s = tuned.summary
    reg = s[(s.method == FRONT) & (s.alpha == 1.0)]
    best = reg.groupby("lr").val_mse.mean().idxmin()
    assert tuned.baselines["mse"] == pytest.approx(reg[reg.lr == best].test_mse.mean())
    cls = s[(s.method == FRONT) & (s.alpha == 0.0)]
    best = cls.groupby("lr").val_accuracy.mean().idxmax()
    assert tuned.val_baselines["accuracy"] == pytest.approx(cls[cls.lr == best].val_accuracy.mean())


def test_tuned_grouping_is_welch_against_the_best(tuned):
    stats = pytest.importorskip("scipy.stats")
    table, s = tuned.table, tuned.summary
    assert list(table.delta_m) == sorted(table.delta_m, reverse=True)
    assert table.group.iloc[0] == "best"

    def per_seed(row):
        at = s[(s.method == row.method) & (s.lr == row.lr)]
        return [
            delta_m({"mse": m, "accuracy": a}, tuned.baselines, OBJECTIVES)
            for m, a in zip(at.test_mse, at.test_accuracy, strict=True)
        ]

    best = per_seed(table.iloc[0])
    for row in table.iloc[1:].itertuples():
        p = stats.ttest_ind(best, per_seed(row), equal_var=False).pvalue
        assert row.p_value == pytest.approx(p)
        assert row.group == ("tied" if p >= 0.05 else "behind")


def test_tuned_front_and_positions(tuned):
    front = tuned.front
    assert list(front.alpha) == [0.0, 0.5, 1.0]
    assert list(front.pareto) == list(pareto_front(front, "mse_mean", "accuracy_mean"))
    assert set(tuned.table.front) <= {"beyond", "on", "behind"}
    assert tuned.verdict
    # by hand: a front of one point (mse 1, accuracy 0.8)
    one = pd.DataFrame({"mse_mean": [1.0], "accuracy_mean": [0.8]})

    def at(mse, lo, hi, acc, alo, ahi):
        return pd.Series(
            {
                "mse_mean": mse,
                "mse_lo": lo,
                "mse_hi": hi,
                "accuracy_mean": acc,
                "accuracy_lo": alo,
                "accuracy_hi": ahi,
            }
        )

    assert front_position(at(0.8, 0.7, 0.9, 0.85, 0.82, 0.88), one) == "beyond"
    assert front_position(at(1.3, 1.2, 1.4, 0.7, 0.65, 0.75), one) == "behind"
    assert front_position(at(1.05, 0.9, 1.2, 0.79, 0.75, 0.83), one) == "on"


def test_tuned_cost_is_relative_to_static(tuned):
    cost = tuned.table.set_index("method").cost
    assert cost["static"] == pytest.approx(1.0)
    assert cost["pcgrad"] > 1.0


def test_tuned_face_off_is_priced_before_training(monkeypatch):
    from mtl.budget import Request, WorkBudgetError, price, set_work_budget

    quote = price(Request.tuned_face_off(TUNED_CFG, TUNED_METHODS, 3, 4, 3))
    assert quote.seconds > price(Request.face_off(TUNED_CFG, TUNED_METHODS, 3)).seconds / 4
    set_work_budget(quote.seconds / 2)
    try:
        with pytest.raises(WorkBudgetError, match="tuned face-off"):
            tuned_face_off(TUNED_CFG, TUNED_METHODS, seeds=(0, 1, 2), front_points=3)
    finally:
        set_work_budget(None)


def test_front_verdict_and_seeds_hint_by_hand():
    from mtl.compare import front_verdict, seeds_hint

    table = pd.DataFrame(
        {
            "method": ["famo", "static", "mgda"],
            "front": ["beyond", "on", "behind"],
            "group": ["best", "tied", "behind"],
            "seeds_needed": [np.nan, 6.0, np.nan],
        }
    )
    assert front_verdict(table) == (
        "FAMO lands beyond the tuned static front (no tuned static weighting matches it on both "
        "tasks, beyond seed noise); Static weights lands on it within seed noise; MGDA lands "
        "behind it (a tuned static weighting beats it on both tasks beyond noise)."
    )
    assert seeds_hint(table, 3).startswith("With about 6 seeds (now 3), Static weights would")
    assert seeds_hint(table, 1).startswith("With one seed nothing can be told apart")
    assert seeds_hint(table.assign(group=["best", "behind", "behind"]), 3) == ""
    far = table.assign(seeds_needed=[np.nan, np.nan, np.nan])
    assert "treat them as equivalent" in seeds_hint(far, 3)


def test_intervals_are_cut_to_the_values_a_metric_can_take():
    from mtl.compare import bounded
    from mtl.stats import t_interval

    mean, low, high = t_interval([0.0, 0.05, 0.9])  # three seeds: t = 4.30, a wide interval
    assert low < 0.0 < 1.0 < high
    assert bounded((mean, low, high), 0.0, 1.0) == (mean, 0.0, 1.0)
    assert bounded((0.5, 0.4, 0.6), 0.0, 1.0) == (0.5, 0.4, 0.6)  # inside: unchanged
    assert bounded((2.0, -1.0, 5.0), 0.0, math.inf) == (2.0, 0.0, 5.0)
    nan = bounded((math.nan, math.nan, math.nan), 0.0, 1.0)
    assert all(math.isnan(v) for v in nan)  # one seed: no interval, and none made up
