"""Loss scales: a balanced start, the sweep's log and balanced grids, a standardised target."""

import dataclasses

import numpy as np
import pytest
import torch

import mtl
from mtl.data import build_dataset, split_dataset
from mtl.sweeps import (
    GRIDS,
    LOG_DECADES,
    grid_alphas,
    grid_scale,
    ratio_grid,
    sweep_config,
    sweep_weights,
)
from mtl.weighting.static import balanced_weights

# ---------------------------------------------------------------- balanced start


def test_balanced_weights_by_hand():
    # (0.5, 0.5) over losses (3000, 0.7): w_t proportional to 1 / L_t, summing to 1
    w = balanced_weights(torch.tensor([[0.5, 0.5]]), torch.tensor([[3000.0, 0.7]]))
    assert w[0, 0].item() == pytest.approx(0.7 / 3000.7, rel=1e-6)
    assert w[0, 1].item() == pytest.approx(3000.0 / 3000.7, rel=1e-6)
    # (0.2, 0.8) over (4, 1): raw (0.05, 0.8), times 1 / 0.85 -> weighted losses 0.2 : 0.8
    w = balanced_weights(torch.tensor([[0.2, 0.8]]), torch.tensor([[4.0, 1.0]]))
    assert w[0].tolist() == pytest.approx([0.05 / 0.85, 0.8 / 0.85], rel=1e-6)
    # one task only stays one task; a zero or non-finite loss counts as 1
    assert balanced_weights(torch.tensor([[1.0, 0.0]]), torch.tensor([[9.0, 2.0]])).tolist() == [
        [1.0, 0.0]
    ]
    odd = balanced_weights(torch.tensor([[0.5, 0.5]]), torch.tensor([[0.0, float("nan")]]))
    assert odd.tolist() == [[0.5, 0.5]]


def _first_train_rows(result: mtl.Result) -> dict[str, tuple[float, float, float]]:
    h = result.history
    rows = h[(h["epoch"] == 0) & (h["split"] == "train") & (h["member"] == 0)]
    return {
        str(r.component): (float(r.loss), float(r.weight), float(r.weighted))
        for r in rows.itertuples()
    }


def test_a_balanced_run_starts_with_equal_weighted_losses_at_alpha_one_half():
    cfg = mtl.preset("conflicting").with_(
        epochs=3, **{"data.target_scale": 50.0, "weighting.scale": "balanced"}
    )
    rows = _first_train_rows(mtl.train(cfg))
    (l_reg, w_reg, wl_reg), (l_cls, w_cls, wl_cls) = rows["regression"], rows["classification"]
    assert l_reg > 1000 * l_cls  # a scale gap of thousands to one ...
    assert wl_reg == pytest.approx(wl_cls, rel=1e-5)  # ... and equal weighted losses
    assert w_reg + w_cls == pytest.approx(1.0, rel=1e-6)  # the configured sum is kept
    # by hand: w_reg = (1 / L_reg) / (1 / L_reg + 1 / L_cls)
    assert w_reg == pytest.approx(l_cls / (l_reg + l_cls), rel=1e-5)
    raw = _first_train_rows(mtl.train(cfg.with_(**{"weighting.scale": "raw"})))
    assert raw["regression"][1] == 0.5 and raw["regression"][2] > 1000 * raw["classification"][2]


def test_balanced_weights_are_fixed_after_the_first_step_in_proportion_to_alpha():
    cfg = mtl.preset("penguins").with_(
        epochs=3,
        **{"weighting.scale": "balanced", "weighting.weights": (0.2, 0.8), "optim.batch_size": 64},
    )
    result = mtl.train(cfg)
    h = result.history[result.history["split"] == "train"]
    weights = h.pivot_table(index="epoch", columns="component", values="weight", observed=True)
    assert np.allclose(weights.to_numpy(), weights.to_numpy()[0])  # fixed for the whole run
    assert weights.to_numpy()[0].sum() == pytest.approx(1.0, rel=1e-6)
    assert tuple(result.summary[["w_regression", "w_classification"]].iloc[0]) == (0.2, 0.8)


def test_balanced_is_a_distinct_run_and_methods_that_ignore_it_normalise_it():
    cfg = mtl.preset("conflicting")
    assert cfg.weighting.scale == "raw"
    balanced = cfg.with_(**{"weighting.scale": "balanced"})
    assert balanced != cfg
    mgda = cfg.with_(**{"weighting.method": "mgda"})
    assert mgda.with_(**{"weighting.scale": "balanced"}) == mgda


# ---------------------------------------------------------------- sweep grids


def test_log_grid_spans_the_ratio_over_eight_decades_with_alpha_its_share():
    ratios = ratio_grid(9)
    assert ratios == pytest.approx([10.0**e for e in range(-LOG_DECADES, LOG_DECADES + 1)])
    assert ratios[4] == 1.0
    alphas = grid_alphas("log", 9)
    assert alphas == pytest.approx([r / (1 + r) for r in ratios])
    for (w_reg, w_cls), r in zip(sweep_weights(9, "log"), ratios, strict=True):
        assert w_reg + w_cls == pytest.approx(1.0) and w_reg / w_cls == pytest.approx(r)
    assert grid_alphas("even", 5) == grid_alphas("balanced", 5) == (0.0, 0.25, 0.5, 0.75, 1.0)


def test_grids_set_the_scale_and_bad_grids_are_refused():
    assert [grid_scale(g) for g in GRIDS] == ["raw", "raw", "balanced"]
    cfg = mtl.preset("conflicting")
    assert sweep_config(cfg, "balanced").weighting.scale == "balanced"
    assert sweep_config(cfg, "log") == sweep_config(cfg)
    with pytest.raises(mtl.ConfigError, match=r"sweep\.grid"):
        sweep_weights(5, "quadratic")
    with pytest.raises(mtl.ConfigError, match=r"sweep\.grid"):
        mtl.sweep(cfg.with_(**{"weighting.method": "mgda"}), grid="log", points=3)
    with pytest.raises(mtl.ConfigError, match=r"sweep\.weights"):
        mtl.sweep(cfg, weights=[(0.5, 0.5)], grid="log")


def test_mtl_sweep_with_a_grid_is_the_grids_weights_and_scale():
    cfg = sweep_config(mtl.preset("conflicting").with_(epochs=2), "balanced")
    result = mtl.sweep(cfg, grid="balanced", points=3)
    assert result.config.weighting.scale == "balanced"
    assert result.summary["w_regression"].tolist() == [0.0, 0.5, 1.0]
    logged = mtl.sweep(sweep_config(cfg, "log"), grid="log", points=3)
    assert logged.summary["w_regression"].tolist() == pytest.approx(grid_alphas("log", 3))


GAP = mtl.RunConfig(
    data=mtl.DataSpec(
        name="synthetic",
        n_samples=256,
        n_features=4,
        angle=90.0,
        noise=0.3,
        target_scale=52.0,
        test_fraction=0.25,
    ),
    model=mtl.ModelSpec(shape="notebook"),
    optim=mtl.OptimSpec(kind="adam", lr=0.5),
    epochs=100,
)
"""A 4,000:1 scale gap: the initial MSE is about 3,000, the cross-entropy about 0.7. The notebook's
chain makes the trade-off real: one regression output must carry both tasks' directions (90°
apart), so whatever the classifier gets costs MSE."""


@pytest.mark.slow
def test_the_log_grid_reaches_both_ends_of_a_4000_to_1_trade_off_and_the_even_grid_does_not():
    rows = _first_train_rows(mtl.train(GAP.with_(epochs=1)))
    assert 2000 < rows["regression"][0] < 4000 and 0.5 < rows["classification"][0] < 1.0
    even, log = sweep_weights(6, "even"), sweep_weights(5, "log")
    raw = mtl.sweep(sweep_config(GAP), weights=even + log).summary
    ends = raw.iloc[: len(even)]
    best_accuracy = ends["test_accuracy"].iloc[0]  # alpha = 0: classification alone
    best_mse = ends["test_mse"].iloc[-1]  # alpha = 1: regression alone
    assert best_accuracy > 0.9 and best_mse < 0.2 * ends["test_mse"].iloc[0]

    def interior(frame):  # a real weighting: both weights positive
        return frame[(frame["w_regression"] > 0) & (frame["w_classification"] > 0)]

    even_inside, log_inside = interior(ends), interior(raw.iloc[len(even) :])
    # the even grid's weightings all sit at the regression end: none gets near the classifier
    assert even_inside["test_accuracy"].max() < best_accuracy - 0.3
    assert even_inside["test_mse"].max() < 1.1 * best_mse
    # the log grid's reach both ends
    assert log_inside["test_accuracy"].max() >= best_accuracy - 0.05
    assert log_inside["test_mse"].min() <= 1.05 * best_mse
    # so does the balanced grid, with alpha 0.5 in between (not at either end)
    balanced = mtl.sweep(sweep_config(GAP, "balanced"), grid="balanced", points=11).summary
    inside = interior(balanced)
    assert inside["test_accuracy"].max() >= best_accuracy - 0.05
    assert inside["test_mse"].min() <= 1.25 * best_mse


# ---------------------------------------------------------------- standardised target


def test_a_standardised_target_trains_on_z_scores_and_reports_metrics_in_its_own_units():
    cfg = mtl.preset("conflicting").with_(
        epochs=20, **{"data.standardize_target": True, "data.target_scale": 30.0}
    )
    result = mtl.train(cfg)
    dataset = build_dataset(cfg.data)
    split = split_dataset(dataset, cfg.data.test_fraction, cfg.data.seed, True, True)
    assert split.target_scale is not None
    mean, std = split.target_scale
    assert split.y_reg_train.mean().item() == pytest.approx(0.0, abs=1e-5)
    assert split.y_reg_train.std(unbiased=False).item() == pytest.approx(1.0, rel=1e-5)
    # the same run on data standardised by hand beforehand (same rows, same split, same init)
    by_hand = dataclasses.replace(dataset, y_reg=(dataset.y_reg - mean) / std)
    plain = mtl.train(
        cfg.with_(**{"data.name": "csv", "data.table": by_hand, "data.standardize_target": False})
    )
    ours, theirs = result.summary.iloc[0], plain.summary.iloc[0]
    s = float(std[0])
    for part in ("train", "test"):
        assert ours[f"{part}_mse"] == pytest.approx(theirs[f"{part}_mse"] * s**2, rel=1e-5)
        assert ours[f"{part}_mae"] == pytest.approx(theirs[f"{part}_mae"] * s, rel=1e-5)
        assert ours[f"{part}_r2"] == pytest.approx(theirs[f"{part}_r2"], abs=1e-6)
        assert ours[f"{part}_accuracy"] == theirs[f"{part}_accuracy"]
    # the history's regression loss is the loss the optimiser sees, on the standardised target
    assert result.history["loss"].to_numpy() == pytest.approx(plain.history["loss"].to_numpy())
    # the reported MSE is in the target's units (std ~ 30), not the z-scores'
    assert ours["test_mse"] > 10 * theirs["test_mse"]


def test_standardising_the_target_is_off_by_default_and_leaves_the_split_alone():
    cfg = mtl.preset("conflicting")
    assert not cfg.data.standardize_target
    split = split_dataset(build_dataset(cfg.data), 0.25, 0, True)
    assert split.target_scale is None
    assert split.y_reg_train_units is split.y_reg_train
    assert torch.equal(split.to_target_units(split.y_reg_test), split.y_reg_test)
