"""GLS: hand-worked weights and a replay of LibMTL's rule on what the engine passed."""

import math

import torch

from mtl.weighting.gls import GLS, gls_weights

from .helpers import make_ctx
from .replay import record


def test_two_tasks_by_hand():
    # L = (4, 1): geometric mean 2; w = 2 / (2 * (4, 1)) = (0.25, 1.0)
    torch.testing.assert_close(gls_weights(torch.tensor([4.0, 1.0])), torch.tensor([0.25, 1.0]))


def test_three_tasks_by_hand_and_batched():
    # L = (1, 8, 27): geometric mean (216)^(1/3) = 6; w = 6 / (3 L) = (2, 1/4, 2/27)
    losses = torch.tensor([[1.0, 8.0, 27.0], [2.0, 2.0, 2.0]], dtype=torch.float64)
    expected = torch.tensor([[2.0, 0.25, 2 / 27], [1 / 3, 1 / 3, 1 / 3]], dtype=torch.float64)
    torch.testing.assert_close(gls_weights(losses), expected)


def test_weights_are_the_gradient_of_the_geometric_mean():
    losses = torch.tensor([0.3, 2.5], dtype=torch.float64, requires_grad=True)
    losses.prod().pow(0.5).backward()
    torch.testing.assert_close(gls_weights(losses.detach()), losses.grad)


def test_zero_and_huge_losses_stay_finite():
    w = gls_weights(torch.tensor([[0.0, 1.0], [1e30, 1e30]]))
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w[1], torch.tensor([0.5, 0.5]))
    assert w[0, 0] > 1e5 > w[0, 1]  # the zero loss dominates, as the true gradient does


def test_method_ignores_gradients_and_step():
    m = GLS(make_ctx(K=2))
    losses = torch.tensor([[1.0, 4.0], [9.0, 1.0]])
    w = m.weights(losses, torch.zeros(2, 2, 3), step=7)
    torch.testing.assert_close(w, torch.tensor([[1.0, 0.25], [1 / 6, 1.5]]))


def _libmtl_gls(losses: torch.Tensor) -> torch.Tensor:
    """LibMTL ``GLS.backward``: ``backward()`` on ``prod(L)^(1/T)``; the loss weights it applies."""
    L = losses.clone().requires_grad_()
    torch.pow(L.prod(), 1.0 / len(L)).backward()
    return L.grad


def test_replay_of_libmtl_on_a_training_run(monkeypatch):
    log = record(monkeypatch, "gls", epochs=15, batch_size=64)
    worst = 0.0
    for losses, weights in zip(log.losses, log.weights, strict=True):
        for k in range(losses.shape[0]):
            ref = _libmtl_gls(losses[k].double())
            worst = max(worst, float((weights[k].double() - ref).abs().max()))
    assert len(log.losses) > 15 and math.isfinite(worst)
    print(f"gls replay: {len(log.losses)} steps, max abs error {worst:.2e}")
    assert worst < 1e-5, worst
