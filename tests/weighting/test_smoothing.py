"""CR-MOGM smoothing (Zhou et al., 2022), the option every smoothable gradient method shares.

For the methods whose weights the engine applies, the applied weights are
``lambda_k = beta lambda_{k-1} + (1 - beta) w_k`` with ``lambda_1 = w_1``: hand-worked values,
beta = 0 exactly as without it, stateful methods smoothed once and in the right order, the
declaration shared by validation, links and the engine.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mtl
from mtl.errors import ConfigError
from mtl.urlstate import from_query, to_query
from mtl.weighting import METHODS, SMOOTHING, gradient_weights
from mtl.weighting.base import WeightingMethod

from .helpers import make_ctx, random_grads, t64

SMOOTHABLE = sorted(n for n, cls in METHODS.items() if SMOOTHING in cls.hparams)


def test_every_gradient_method_whose_weights_are_applied_declares_it_once():
    # not GradDrop (its weights are always ones), nor MoCo and DB-MTL (their own shared
    # direction is applied, their weights are only drawn)
    gradient = {n for n, cls in METHODS.items() if cls.kind == "gradient"}
    assert set(SMOOTHABLE) == gradient - {"graddrop", "moco", "db_mtl"}
    for name in SMOOTHABLE:
        assert [h.name for h in METHODS[name].hparams].count("smoothing") == 1
        assert METHODS[name].defaults()["smoothing"] == 0.0
    for cls in METHODS.values():
        if cls.kind == "loss":
            assert SMOOTHING not in cls.hparams


def _step(method: WeightingMethod, grads: torch.Tensor, step: int) -> torch.Tensor:
    """One engine step's calls: the weights applied, then after_step with the same inputs."""
    losses = torch.ones(grads.shape[:-1], dtype=grads.dtype)
    g = grads.double()
    gram = g @ g.mT
    w = method.weights(losses, grads, step, gram=gram)
    assert torch.equal(w, method.weights(losses, grads, step, gram=gram))  # pure
    method.after_step(losses, grads, gram=gram)
    return w


def test_two_steps_by_hand():
    # MGDA on g1 = (1, 0), g2 = (0, 1): w = (1/2, 1/2). On g1 = (1, 0), g2 = (0, 2): the min-norm
    # point a g1 + (1 - a) g2 has a = 4/5, w = (4/5, 1/5). With beta = 1/4:
    # lambda_1 = w_1 = (1/2, 1/2); lambda_2 = 1/4 (1/2, 1/2) + 3/4 (4/5, 1/5) = (0.725, 0.275);
    # lambda_3 (back to the first gradients) = 1/4 (0.725, 0.275) + 3/4 (1/2, 1/2)
    a = t64([[1, 0], [0, 1]]).unsqueeze(0)
    b = t64([[1, 0], [0, 2]]).unsqueeze(0)
    method = METHODS["mgda"](make_ctx(K=1), smoothing=0.25)
    torch.testing.assert_close(_step(method, a, 0), t64([[0.5, 0.5]]))
    torch.testing.assert_close(_step(method, b, 1), t64([[0.725, 0.275]]))
    torch.testing.assert_close(_step(method, a, 2), t64([[0.55625, 0.44375]]))


@pytest.mark.parametrize("name", SMOOTHABLE)
def test_smoothed_weights_are_the_average_of_the_unsmoothed_ones(name):
    # a twin without smoothing gives w_k (its state moves the same way: smoothing changes only
    # what is applied), and the smoothed method applies their moving average; stateful methods
    # (GradVac, IMTL, GradNorm, ExcessMTL) included, so the order of the wrappers is right
    beta = 0.6
    plain = METHODS[name](make_ctx(K=3))
    smoothed = METHODS[name](make_ctx(K=3), smoothing=beta)
    expected = None
    for step in range(4):
        grads = random_grads(3, 2, 5, seed=step, dtype=torch.float32)
        w = _step(plain, grads, step).double()
        expected = w if expected is None else beta * expected + (1 - beta) * w
        applied = _step(smoothed, grads, step).double()
        torch.testing.assert_close(applied, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", SMOOTHABLE)
def test_zero_is_exactly_no_smoothing(name):
    plain = METHODS[name](make_ctx(K=3))
    zero = METHODS[name](make_ctx(K=3), smoothing=0.0)
    for step in range(3):
        grads = random_grads(3, 2, 5, seed=10 + step, dtype=torch.float32)
        assert torch.equal(_step(plain, grads, step), _step(zero, grads, step))
    assert zero.smoothed is None  # nothing kept when it is off


def test_a_training_run_with_beta_zero_is_the_run_without_it():
    cfg = mtl.preset("conflicting").with_(epochs=15, **{"weighting.method": "upgrad"})
    explicit = cfg.with_(**{"weighting.params": (("smoothing", 0.0),)})
    assert explicit == cfg  # a default is not part of the configuration, nor of its link
    assert mtl.train(explicit).history.equals(mtl.train(cfg).history)


def _weights(result: mtl.Result, member: int = 0) -> np.ndarray:
    h = result.history
    rows = h[(h.split == "train") & (h.member == member)]
    table = rows.pivot(index="epoch", columns="component", values="weight")
    return table[list(mtl.TASKS)].to_numpy()


def test_smoothing_steadies_the_weights_in_training_and_members_match_solo_runs():
    cfg = mtl.preset("conflicting").with_(
        epochs=30, seed=0, **{"weighting.method": "mgda", "optim.batch_size": 32}
    )
    smooth = cfg.with_(**{"weighting.params": (("smoothing", 0.9),)})
    rough, steady = _weights(mtl.train(cfg)), _weights(mtl.train(smooth))
    # epoch-to-epoch changes of the (per-epoch mean) weights: the average is steadier
    assert np.abs(np.diff(steady[1:, 0])).mean() < np.abs(np.diff(rough[1:, 0])).mean()
    population = mtl.sweep(smooth, seeds=[0, 1])
    np.testing.assert_allclose(
        _weights(population, 1), _weights(mtl.train(smooth.with_(seed=1))), rtol=1e-5, atol=1e-5
    )


def test_link_round_trip():
    cfg = mtl.preset("conflicting").with_(
        **{"weighting.method": "cagrad", "weighting.params": (("c", 0.3), ("smoothing", 0.8))}
    )
    query = to_query(cfg)
    assert query["weighting.params.smoothing"] == "0.8"
    again, messages = from_query(query)
    assert again == cfg and messages == []


def test_validation_reads_the_declaration():
    with pytest.raises(ConfigError) as info:
        METHODS["upgrad"](make_ctx(), smoothing=1.0)  # beta < 1: 1 would freeze the weights
    assert info.value.field == "weighting.params.smoothing"
    with pytest.raises(ConfigError):
        mtl.preset("conflicting").with_(
            **{"weighting.method": "static", "weighting.params": (("smoothing", 0.5),)}
        )
    cfg, messages = from_query({"weighting.method": "pcgrad", "weighting.params.smoothing": "2"})
    assert dict(cfg.weighting.params)["smoothing"] < 1.0 and messages


def test_gradient_weights_is_one_step_so_refuses_smoothing():
    g = random_grads(2, 4)
    zero = gradient_weights("pcgrad", g, smoothing=0.0)  # PCGrad's from_grads takes no kwargs
    torch.testing.assert_close(zero, gradient_weights("pcgrad", g))
    with pytest.raises(ConfigError, match="smoothing"):
        gradient_weights("upgrad", g, smoothing=0.5)
