"""The core's reference scores, R² and weighted gradient norms (what the first screen reads)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mtl
from mtl.data import build_dataset, split_dataset
from mtl.results import reference_scores

TRADEOFF = mtl.preset("tradeoff")


def test_reference_scores_by_hand():
    targets = {
        "train": (torch.tensor([[1.0], [2.0], [6.0]]), torch.tensor([1, 1, 0])),
        "test": (torch.tensor([[3.0], [5.0]]), torch.tensor([0, 1])),
    }
    scores = reference_scores(targets)
    # the training mean is 3: test errors 0 and 2 -> MSE 2; train errors 2, 1, 3 -> 14/3
    assert scores["test_mse"] == pytest.approx(2.0)
    assert scores["train_mse"] == pytest.approx(14 / 3)
    # the most frequent training class is 1
    assert scores["train_accuracy"] == pytest.approx(2 / 3)
    assert scores["test_accuracy"] == pytest.approx(0.5)
    no_test = reference_scores({"train": targets["train"]})
    assert np.isnan(no_test["test_mse"]) and np.isnan(no_test["test_accuracy"])


def test_result_reference_matches_the_data_split():
    result = mtl.train(TRADEOFF.with_(epochs=3))
    d = TRADEOFF.data
    split = split_dataset(build_dataset(d), d.test_fraction, d.seed, d.standardize)
    mean = split.y_reg_train.double().mean()
    majority = int(torch.bincount(split.y_cls_train).argmax())
    ref = result.reference
    assert ref["test_mse"] == pytest.approx(float((split.y_reg_test - mean).square().mean()))
    assert ref["train_mse"] == pytest.approx(float((split.y_reg_train - mean).square().mean()))
    assert ref["test_accuracy"] == pytest.approx(
        float((split.y_cls_test == majority).double().mean())
    )
    assert 0.4 < ref["test_accuracy"] < 0.65  # balanced classes: the majority is about half


def test_r2_is_one_minus_mse_over_the_splits_own_variance():
    result = mtl.train(TRADEOFF)
    s = result.summary.iloc[0]
    # reference["test_mse"] uses the *training* mean, so it is at least the test variance
    # (the test mean minimises the squared error); R² uses the test split's own mean
    assert s.test_r2 <= 1 - s.test_mse / result.reference["test_mse"] + 1e-9
    assert s.test_r2 > 0.5  # the default preset at alpha 0.5 learns the regression


def test_weighted_norms_are_the_weights_times_the_raw_norms():
    cfg = TRADEOFF.with_(epochs=20, **{"weighting.weights": (0.9, 0.1)})
    result = mtl.train(cfg)
    d = result.diagnostics.pivot(index="epoch", columns="diagnostic", values="value")
    np.testing.assert_allclose(d.weighted_grad_norm_regression, 0.9 * d.grad_norm_regression)
    np.testing.assert_allclose(
        d.weighted_grad_norm_classification, 0.1 * d.grad_norm_classification, rtol=1e-6
    )
    np.testing.assert_allclose(d.weighted_norm_ratio, 9 * d.norm_ratio, rtol=1e-6)


def test_weighted_norms_follow_a_dynamic_methods_weights():
    cfg = TRADEOFF.with_(epochs=30, **{"weighting.method": "gradnorm"})
    result = mtl.train(cfg)
    d = result.diagnostics.pivot(index="epoch", columns="diagnostic", values="value")
    h = result.history
    w = h[(h.split == "train") & (h.component != "regularization")].pivot(
        index="epoch", columns="component", values="weight"
    )
    expected = d.norm_ratio * w["regression"] / w["classification"]
    np.testing.assert_allclose(d.weighted_norm_ratio, expected, rtol=1e-6)
    # GradNorm moves the weights: the weighted ratio differs from the raw one at the end
    assert not np.isclose(d.weighted_norm_ratio.iloc[-1], d.norm_ratio.iloc[-1], rtol=0.05)
