"""Tchebycheff and STCH: hand-worked weights, the mu -> 0 limit, state, training, solo runs."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

import mtl
from mtl.errors import ConfigError
from mtl.weighting import METHODS
from mtl.weighting.base import MethodContext
from mtl.weighting.tchebycheff import STCH, Tchebycheff, stch_weights, tchebycheff_weights

from .helpers import make_ctx


def _ctx(preference: list[list[float]]) -> MethodContext:
    pref = torch.tensor(preference)
    return replace(make_ctx(K=pref.shape[0]), base_weights=pref)


def test_registered_as_preference_loss_methods():
    for name in ("tchebycheff", "stch"):
        cls = METHODS[name]
        assert cls.kind == "loss" and cls.combines == "losses" and cls.uses_base_weights
        assert cls.citation and cls.explanation and cls.formula
    assert METHODS["stch"].defaults() == {"mu": 0.1, "normalize": "initial", "reference": "zero"}


def test_tchebycheff_by_hand():
    # p = (0.5, 0.5), n = (4, 1), z = 0, L = (2, 0.8): terms 0.5 * (0.5, 0.8) = (0.25, 0.4)
    # -> task 2 is worst off: w = (0, p_2 / n_2) = (0, 0.5)
    w = tchebycheff_weights(
        torch.tensor([2.0, 0.8]),
        torch.tensor([0.5, 0.5]),
        torch.tensor([4.0, 1.0]),
        torch.zeros(2),
    )
    torch.testing.assert_close(w, torch.tensor([0.0, 0.5], dtype=torch.float64))
    # p = (0.8, 0.2): terms (0.4, 0.16) -> task 1: w = (0.8 / 4, 0) = (0.2, 0)
    w = tchebycheff_weights(
        torch.tensor([2.0, 0.8]), torch.tensor([0.8, 0.2]), torch.tensor([4.0, 1.0]), torch.zeros(2)
    )
    torch.testing.assert_close(w, torch.tensor([0.2, 0.0], dtype=torch.float64))


def test_tchebycheff_splits_an_exact_tie():
    # terms (0.5 * 1, 0.5 * 1): the subgradient is split, w = 0.5 * (p / n) = (0.25, 0.125)
    w = tchebycheff_weights(
        torch.tensor([2.0, 4.0]), torch.tensor([0.5, 0.5]), torch.tensor([2.0, 4.0]), torch.zeros(2)
    )
    torch.testing.assert_close(w, torch.tensor([0.125, 0.0625], dtype=torch.float64))


def test_stch_by_hand():
    # p = (1, 1), n = (1, 1), z = 0, L = (1, 1 + ln 3) mu = 1: softmax(1, 1 + ln 3) = (1/4, 3/4)
    w = stch_weights(
        torch.tensor([1.0, 1.0 + math.log(3.0)], dtype=torch.float64),
        torch.ones(2),
        torch.ones(2, dtype=torch.float64),
        torch.zeros(2),
        mu=1.0,
    )
    torch.testing.assert_close(w, torch.tensor([0.25, 0.75], dtype=torch.float64))


def test_stch_weights_are_the_gradient_of_its_objective():
    losses = torch.tensor([0.7, 2.5], dtype=torch.float64, requires_grad=True)
    p = torch.tensor([0.3, 0.7], dtype=torch.float64)
    n = torch.tensor([2.0, 5.0], dtype=torch.float64)
    z = torch.tensor([0.1, 0.05], dtype=torch.float64)
    mu = 0.2
    (mu * torch.logsumexp(p * (losses / n - z) / mu, dim=-1)).backward()
    torch.testing.assert_close(stch_weights(losses.detach(), p, n, z, mu), losses.grad)


def test_stch_tends_to_tchebycheff_as_mu_goes_to_zero():
    g = torch.Generator().manual_seed(0)
    losses = torch.rand(50, 2, generator=g, dtype=torch.float64) * 3 + 0.1
    p = torch.rand(50, 2, generator=g, dtype=torch.float64)
    n = torch.rand(50, 2, generator=g, dtype=torch.float64) + 0.5
    z = torch.zeros(50, 2, dtype=torch.float64)
    hard = tchebycheff_weights(losses, p, n, z)
    gaps = [float((stch_weights(losses, p, n, z, mu) - hard).abs().max()) for mu in (1, 1e-2, 1e-5)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-6


def test_first_step_normalises_and_weights_previews_it():
    m = Tchebycheff(_ctx([[0.5, 0.5], [0.9, 0.1]]))
    first = torch.tensor([[4.0, 1.0], [4.0, 1.0]])
    # first step: x = (1, 1) for both members; member 0 ties -> split, member 1 -> task 1
    w0 = m.weights(first, torch.zeros(2, 2, 3), step=0)
    torch.testing.assert_close(w0, torch.tensor([[0.0625, 0.25], [0.225, 0.0]]))
    m.after_step(first)
    torch.testing.assert_close(m.scale, first.double())
    # later: L = (2, 0.8) -> x = (0.5, 0.8); member 0: task 2 (0.4 > 0.25) -> w = (0, 0.5);
    # member 1: terms (0.45, 0.08) -> task 1 -> w = (0.9 / 4, 0)
    w1 = m.weights(torch.tensor([[2.0, 0.8], [2.0, 0.8]]), torch.zeros(2, 2, 3), step=1)
    torch.testing.assert_close(w1, torch.tensor([[0.0, 0.5], [0.225, 0.0]]))


def test_raw_losses_without_normalisation():
    m = Tchebycheff(_ctx([[0.5, 0.5]]), normalize="none")
    m.after_step(torch.tensor([[4.0, 1.0]]))
    assert m.scale is None
    # raw terms (0.5 * 2, 0.5 * 0.8): task 1, w = (0.5, 0)
    w = m.weights(torch.tensor([[2.0, 0.8]]), torch.zeros(1, 2, 3), step=1)
    torch.testing.assert_close(w, torch.tensor([[0.5, 0.0]]))


def test_best_seen_reference_is_the_running_minimum():
    m = STCH(_ctx([[0.5, 0.5]]), reference="best_seen", mu=1.0)
    m.after_step(torch.tensor([[4.0, 2.0]]))  # n = (4, 2), best x = (1, 1)
    m.after_step(torch.tensor([[2.0, 3.0]]))  # x = (0.5, 1.5): best (0.5, 1)
    torch.testing.assert_close(m.best, torch.tensor([[0.5, 1.0]], dtype=torch.float64))
    # now L = (3, 1): x = (0.75, 0.5); z previewed = min(best, x) = (0.5, 0.5)
    # terms 0.5 * (0.25, 0) = (0.125, 0); softmax / mu=1: (e^.125, 1) / (e^.125 + 1)
    w = m.weights(torch.tensor([[3.0, 1.0]]), torch.zeros(1, 2, 3), step=2)
    s = math.exp(0.125) / (math.exp(0.125) + 1)
    expected = torch.tensor([[s * 0.5 / 4, (1 - s) * 0.5 / 2]])
    torch.testing.assert_close(w, expected)


def test_a_diverged_member_does_not_spoil_the_others():
    m = STCH(_ctx([[0.5, 0.5], [0.5, 0.5]]), reference="best_seen")
    m.after_step(torch.tensor([[1.0, 1.0], [1.0, 1.0]]))
    m.after_step(torch.tensor([[float("nan"), 1.0], [0.5, 0.5]]))
    w = m.weights(torch.tensor([[float("nan"), 1.0], [0.5, 0.4]]), torch.zeros(2, 2, 3), step=2)
    assert torch.isfinite(w[1]).all() and torch.isfinite(m.best[1]).all()


def test_bad_hyper_parameters_are_config_errors():
    with pytest.raises(ConfigError, match=r"weighting\.params\.mu"):
        STCH(make_ctx(), mu=0.0)
    with pytest.raises(ConfigError, match=r"weighting\.params\.reference"):
        Tchebycheff(make_ctx(), reference="initial")


# ---------------------------------------------------------------- training


def _config(method: str, epochs: int, **params: object) -> mtl.RunConfig:
    return mtl.preset("conflicting").with_(
        epochs=epochs,
        seed=0,
        **{"weighting.method": method, "data.seed": 0, "weighting.params": tuple(params.items())},
    )


def _task_weights(result: mtl.Result, member: int = 0) -> np.ndarray:
    h = result.history
    rows = h[(h.split == "train") & (h.member == member)]
    return rows.pivot(index="epoch", columns="component", values="weight")[
        list(mtl.TASKS)
    ].to_numpy()


@pytest.mark.parametrize(
    ("method", "params"),
    [("tchebycheff", {}), ("stch", {}), ("stch", {"reference": "best_seen", "mu": 0.05})],
)
def test_trains_the_conflicting_preset_200_epochs(method, params):
    result = mtl.train(_config(method, 200, **params))
    row = result.summary.iloc[0]
    assert not bool(row.diverged)
    assert math.isfinite(row.test_mse) and row.test_accuracy > 0.6
    weights = _task_weights(result)
    assert np.isfinite(weights).all() and np.ptp(weights[:, 0]) > 1e-6


@pytest.mark.parametrize("method", ["tchebycheff", "stch"])
def test_a_population_member_reproduces_its_solo_run(method):
    cfg = _config(method, 30, reference="best_seen")
    weights = [(0.3, 0.7), (0.8, 0.2)]
    seeds = [0, 1]
    population = mtl.sweep(cfg, weights=weights, seeds=seeds)
    k = 0
    for w in weights:
        for seed in seeds:
            solo = mtl.train(cfg.with_(seed=seed, **{"weighting.weights": w}))
            np.testing.assert_allclose(
                _task_weights(population, k), _task_weights(solo), rtol=1e-5, atol=1e-5
            )
            assert population.summary.test_mse[k] == pytest.approx(solo.summary.test_mse[0], 1e-5)
            k += 1


def test_a_sweep_with_a_preference_method_follows_the_preference():
    # the more the preference leans to regression, the lower the final MSE (on average)
    cfg = _config("tchebycheff", 100)
    result = mtl.sweep(cfg, weights=[(0.1, 0.9), (0.5, 0.5), (0.9, 0.1)], seeds=[0])
    mse = result.summary.test_mse.to_numpy()
    assert mse[0] > mse[1] > mse[2]
