"""GradDrop (Chen et al., 2020): hand-worked masks, LibMTL's arithmetic, the engine's update.

TorchJD agreement is in ``test_torchjd_agreement.py`` and the declared properties in
``test_properties_gradient.py`` (both on the shared catalogue of Jacobians).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mtl
from mtl.counter_rng import STREAM_GRADDROP, uniform
from mtl.weighting import GRADIENT_METHODS, METHODS
from mtl.weighting.graddrop import GradDrop, graddrop_combine, graddrop_purity

from .helpers import make_ctx, random_grads, t64

# --- hand-worked values ---------------------------------------------------------------------

J = t64([[1, -2, 0.5], [-3, 1, 0.5]])  # two tasks, three features, one row (TorchJD's form)


def test_purity_by_hand():
    # feature 0: (1 - 3) / (1 + 3) = -1/2 -> P = 1/4; feature 1: (-2 + 1) / 3 -> P = 1/3;
    # feature 2: both positive -> P = 1
    torch.testing.assert_close(graddrop_purity(J), t64([[0.25, 1 / 3, 1.0]])[0])
    # no gradient at all: P = 1/2, not NaN
    torch.testing.assert_close(graddrop_purity(torch.zeros(2, 3)), torch.full((3,), 0.5))


def test_combination_by_hand():
    u = t64([[0.5, 0.2, 0.9]])[0]
    # f0: P = 1/4 < 0.5 keeps the negative part (-3); f1: P = 1/3 > 0.2 keeps the positive (1);
    # f2: P = 1 > 0.9 keeps both positive parts (0.5 + 0.5)
    torch.testing.assert_close(graddrop_combine(J.unsqueeze(-2), None, u)[0], t64([[-3, 1, 1]])[0])
    # leak 1/2: the dropped parts pass at half: f0 0.5 * 1 - 3, f1 0.5 * (-2) + 1, f2 1
    torch.testing.assert_close(
        graddrop_combine(J.unsqueeze(-2), None, u, leak=0.5)[0], t64([[-2.5, 0, 1]])[0]
    )
    # leak 1: the plain sum
    torch.testing.assert_close(graddrop_combine(J.unsqueeze(-2), None, u, leak=1.0)[0], J.sum(0))


def test_the_batch_sum_is_signed_by_the_input():
    # T = 2, N = 2 rows, H = 1 feature: g0 = (1, 2), g1 = (-1, -1), z = (1, -1).
    # Signed by z: s0 = 1 - 2 = -1, s1 = -1 + 1 = 0 -> P = 0 < 0.7: keep negatives: task 0 only.
    # Unsigned: s0 = 3, s1 = -2 -> P = 0.6 < 0.7: keep negatives: task 1 only.
    g = t64([[1, 2], [-1, -1]]).unsqueeze(-1)  # [T, N, H]
    z = t64([[1, -1]]).T  # [N, H]
    u = t64([[0.7]])[0]
    torch.testing.assert_close(graddrop_combine(g, z, u), g[0])
    torch.testing.assert_close(graddrop_combine(g, torch.ones_like(z), u), g[1])


# --- LibMTL's arithmetic (LibMTL/weighting/GradDrop.py, replayed, not imported) --------------


def _libmtl(per_grads: torch.Tensor, rep: torch.Tensor, U: torch.Tensor, leak: float):
    """LibMTL's GradDrop.backward on one representation ``rep [N, H]``: the gradient it sends."""
    task_num = per_grads.shape[0]
    inputs = rep.unsqueeze(0).repeat_interleave(task_num, dim=0)
    grads = (per_grads * inputs.sign()).sum(1)
    P = 0.5 * (1 + grads.sum(0) / (grads.abs().sum(0) + 1e-7))
    M = P.gt(U).unsqueeze(0).repeat_interleave(task_num, dim=0) * grads.gt(0) + P.lt(U).unsqueeze(
        0
    ).repeat_interleave(task_num, dim=0) * grads.lt(0)
    M = M.unsqueeze(1).repeat_interleave(per_grads.size()[1], dim=1)
    M = M.to(per_grads.dtype)  # LibMTL's bool * float is float32: its only rounding difference
    return (per_grads * (leak + (1 - leak) * M)).sum(0)


@pytest.mark.parametrize("leak", [0.0, 0.3])
@pytest.mark.parametrize("seed", range(5))
def test_matches_libmtl(seed, leak):
    per_grads = random_grads(2, 16, 8, seed=seed)  # [T, N, H]
    rep = random_grads(16, 8, seed=100 + seed)
    U = torch.rand(8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    ours = graddrop_combine(per_grads, rep, U, leak)
    torch.testing.assert_close(ours, _libmtl(per_grads, rep, U, leak), rtol=1e-12, atol=1e-12)


def test_batched_over_members_is_each_member_alone():
    g = random_grads(4, 2, 5, 3, seed=1)
    z = random_grads(4, 5, 3, seed=2)
    u = uniform(torch.arange(4), STREAM_GRADDROP, 0, 3)
    batched = graddrop_combine(g, z, u)
    for k in range(4):
        torch.testing.assert_close(batched[k], graddrop_combine(g[k], z[k], u[k]))


# --- the class and the engine ------------------------------------------------------------


def test_class():
    assert METHODS["graddrop"] is GradDrop and "Chen" in GradDrop.citation
    assert GradDrop.defaults() == {"leak": 0.0}  # no smoothing: its weights are always ones
    assert GradDrop.gradients_of == "representation" and GradDrop.combines_representation
    assert "graddrop" not in GRADIENT_METHODS  # a direction, not weights
    method = GradDrop(make_ctx(K=3))
    w = method.weights(torch.ones(3, 2), random_grads(3, 2, 6, dtype=torch.float32), 0)
    assert torch.equal(w, torch.ones(3, 2))


def test_draws_are_per_member_and_per_step():
    method = GradDrop(make_ctx(K=2))
    g = random_grads(2, 2, 4, 64, seed=3)
    z = random_grads(2, 4, 64, seed=4)
    g[1], z[1] = g[0], z[0]  # same gradients, different member seeds
    a = method.representation_gradient(g, z, step=0)
    assert not torch.equal(a[0], a[1])
    assert not torch.equal(a, method.representation_gradient(g, z, step=1))
    torch.testing.assert_close(a, method.representation_gradient(g, z, step=0))  # pure


def _config(epochs: int, **changes: object) -> mtl.RunConfig:
    settings: dict[str, object] = {"weighting.method": "graddrop", "data.seed": 0}
    return mtl.preset("conflicting").with_(epochs=epochs, seed=0, **(settings | changes))


def _train_losses(result: mtl.Result, member: int = 0) -> np.ndarray:
    h = result.history
    rows = h[(h.split == "train") & (h.member == member)]
    return rows.pivot(index="epoch", columns="component", values="loss").to_numpy()


def test_leak_one_is_the_plain_sum_of_the_gradients():
    # leak 1 keeps everything: the back-propagated sum of the representation gradients is the
    # sum of the parameter gradients, i.e. equal_sum's update (the engine's VJP path checked)
    ours = mtl.train(_config(20, **{"weighting.params": (("leak", 1.0),)}))
    plain = mtl.train(_config(20, **{"weighting.method": "equal_sum"}))
    np.testing.assert_allclose(_train_losses(ours), _train_losses(plain), rtol=1e-5, atol=1e-6)


def test_dropping_signs_changes_the_training():
    ours = mtl.train(_config(20))
    plain = mtl.train(_config(20, **{"weighting.method": "equal_sum"}))
    assert not np.allclose(_train_losses(ours), _train_losses(plain), rtol=1e-3)


@pytest.mark.parametrize("batch_size", [None, 64])
def test_a_population_member_reproduces_its_solo_run(batch_size):
    cfg = _config(30, **{"optim.batch_size": batch_size})
    seeds = [0, 1, 2]
    population = mtl.sweep(cfg, seeds=seeds)
    for k, seed in enumerate(seeds):
        solo = mtl.train(cfg.with_(seed=seed))
        np.testing.assert_allclose(
            _train_losses(population, k), _train_losses(solo), rtol=1e-5, atol=1e-5
        )
    assert not np.allclose(_train_losses(population, 0), _train_losses(population, 1))


def test_trains_the_conflicting_preset_200_epochs():
    result = mtl.train(_config(200))
    row = result.summary.iloc[0]
    assert not bool(row.diverged)
    assert np.isfinite(_train_losses(result)).all()
    assert row.test_accuracy > 0.6 and row.test_r2 > 0.5
    losses = _train_losses(result)
    assert (losses[-1] < losses[0]).all()  # both tasks learned
