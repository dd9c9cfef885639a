"""ExcessMTL: hand-worked steps and a replay of LibMTL's rule on a training run."""

import math

import torch

from mtl.weighting.excess_mtl import ExcessMTL

from .helpers import make_ctx, t64
from .replay import record


def _step(method: ExcessMTL, grads: torch.Tensor) -> torch.Tensor:
    losses = torch.ones(grads.shape[:2], dtype=grads.dtype)
    w = method.weights(losses, grads, step=0)
    method.after_step(losses, grads)
    return w


def test_two_steps_by_hand():
    m = ExcessMTL(make_ctx(K=1))
    # Step 1, g1 = (1, 0), g2 = (0, 2): S = g^2, e = (1, 4 / 2) = (1, 2) (up to the 1e-7):
    # the first estimates are the reference, the weights stay 1.
    w = _step(m, t64([[1, 0], [0, 2]]).unsqueeze(0))
    torch.testing.assert_close(w, t64([[1, 1]]))
    torch.testing.assert_close(m.initial, t64([[1, 2]]), rtol=1e-7, atol=0)
    # Step 2, g1 = (1, 0), g2 = (0, 1): S1 = (2, 0), S2 = (0, 5); e = (1/sqrt 2, 1/sqrt 5);
    # ratios e / e0 = (0.70711, 0.22361); lambda = 2 softmax(0.01 * ratios):
    # lambda_1 = 2 / (1 + exp(-0.01 (0.70711 - 0.22361))) = 1.0024175
    w = _step(m, t64([[1, 0], [0, 1]]).unsqueeze(0))
    r1, r2 = 1 / math.sqrt(2), 1 / math.sqrt(5) / 2
    l1 = 2 / (1 + math.exp(-0.01 * (r1 - r2)))
    torch.testing.assert_close(w, t64([[l1, 2 - l1]]), rtol=1e-6, atol=0)
    assert abs(l1 - 1.0024175) < 1e-7


def test_weights_preview_the_update_and_sum_to_T():
    m = ExcessMTL(make_ctx(K=3, T=3), step_size=0.5)
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        grads = torch.randn(3, 3, 4, generator=gen, dtype=torch.float64)
        w = m.weights(torch.ones(3, 3, dtype=torch.float64), grads, step=0)
        m.after_step(torch.ones(3, 3), grads)
        torch.testing.assert_close(w, 3 * torch.softmax(m.log_weights, -1))
        torch.testing.assert_close(w.sum(-1), torch.full((3,), 3.0, dtype=torch.float64))
    assert float(w.std()) > 1e-3  # they moved


def test_zero_first_gradient_does_not_divide_by_zero():
    m = ExcessMTL(make_ctx(K=1))
    _step(m, t64([[1, 0], [0, 0]]).unsqueeze(0))
    w = _step(m, t64([[1, 0], [0, 1]]).unsqueeze(0))
    assert torch.isfinite(w).all()


class LibMTLExcessMTL:
    """LibMTL ``ExcessMTL.backward`` for one member (``rep_grad = False``)."""

    def __init__(self, n_tasks: int, step_size: float) -> None:
        self.T = n_tasks
        self.step_size = step_size
        self.loss_weight = torch.ones(n_tasks, dtype=torch.float64)
        self.grad_sum: torch.Tensor | None = None
        self.first_epoch = True

    def step(self, grads: torch.Tensor) -> torch.Tensor:
        if self.grad_sum is None:
            self.grad_sum = torch.zeros_like(grads)
        w = torch.zeros(self.T, dtype=torch.float64)
        for i in range(self.T):
            self.grad_sum[i] += grads[i] ** 2
            h_i = torch.sqrt(self.grad_sum[i] + 1e-7)
            w[i] = grads[i] * (1 / h_i) @ grads[i].t()
        if self.first_epoch:
            self.initial_w = w
            self.first_epoch = False
        else:
            w = w / self.initial_w
            self.loss_weight = self.loss_weight * torch.exp(w * self.step_size)
            self.loss_weight = self.loss_weight / self.loss_weight.sum() * self.T
        return self.loss_weight.clone()


def test_replay_of_libmtl_on_a_training_run(monkeypatch):
    log = record(monkeypatch, "excess_mtl", epochs=10, batch_size=64, params={"step_size": 0.2})
    K = log.grads[0].shape[0]
    refs = [LibMTLExcessMTL(2, 0.2) for _ in range(K)]
    worst = 0.0
    for grads, weights in zip(log.grads, log.weights, strict=True):
        for k in range(K):
            ref = refs[k].step(grads[k].double())
            worst = max(worst, float((weights[k].double() - ref).abs().max()))
    print(f"excess_mtl replay: {len(log.grads)} steps x {K} members, max abs error {worst:.2e}")
    assert len(log.grads) >= 20 and math.isfinite(worst)
    assert worst < 1e-5, worst
    assert float((log.weights[-1] - 1).abs().max()) > 1e-3  # the weights moved
