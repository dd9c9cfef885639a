"""DB-MTL and MoCo (not registered: they need a shared-direction hook in the engine).

Hand-worked first steps, and a replay of LibMTL's update rules, member by member, on a seeded
sequence of losses and gradients (the engine cannot train them yet, so no training run).
"""

import math

import torch
import torch.nn.functional as F

from mtl.weighting import METHODS
from mtl.weighting.db_mtl import DBMTL
from mtl.weighting.moco import MoCo

from .helpers import make_ctx, t64

K, T, P, STEPS = 3, 2, 7, 25


def _sequence() -> list[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    return [
        (
            torch.rand(K, T, generator=gen, dtype=torch.float64) + 0.05,
            torch.randn(K, T, P, generator=gen, dtype=torch.float64) * torch.rand(1, generator=gen),
        )
        for _ in range(STEPS)
    ]


def test_not_registered_until_the_engine_applies_a_shared_direction():
    assert "db_mtl" not in METHODS and "moco" not in METHODS


# --- DB-MTL ---------------------------------------------------------------------------------


def test_db_mtl_first_step_by_hand():
    # L = (2, 0.5), g1 = (2, 0), g2 = (0, 1): h = g / L = (1, 0), (0, 2); m = 0.1 h (beta 0.9,
    # buffer 0); |m| = (0.1, 0.2): a = (2, 1); d = 2 (0.1, 0) + (0, 0.2) = (0.2, 0.2)
    m = DBMTL(make_ctx(K=1))
    losses, grads = t64([[2, 0.5]]), t64([[2, 0], [0, 1]]).unsqueeze(0)
    torch.testing.assert_close(m.shared_direction(losses, grads), t64([[0.2, 0.2]]))
    torch.testing.assert_close(m.weights(losses, grads, 0), t64([[1.0, 2.0]]))  # a / L
    m.after_step(losses, grads)
    torch.testing.assert_close(m.buffer, t64([[0.1, 0], [0, 0.2]]).unsqueeze(0))


class LibMTLDBMTL:
    """LibMTL ``DB_MTL.backward`` for one member; returns the new shared gradient."""

    def __init__(self, beta: float, beta_sigma: float) -> None:
        self.beta, self.beta_sigma, self.step = beta, beta_sigma, 0
        self.grad_buffer = torch.zeros(T, P, dtype=torch.float64)

    def update(self, losses: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
        self.step += 1
        batch_grads = grads / (losses + 1e-8).unsqueeze(-1)  # grad of log(L + 1e-8)
        self.grad_buffer = batch_grads + (self.beta / self.step**self.beta_sigma) * (
            self.grad_buffer - batch_grads
        )
        u_grad = self.grad_buffer.norm(dim=-1)
        alpha = u_grad.max() / (u_grad + 1e-8)
        return sum(alpha[i] * self.grad_buffer[i] for i in range(T))


def test_db_mtl_replays_libmtl():
    for beta, sigma in ((0.9, 0.0), (0.5, 0.5)):
        method = DBMTL(make_ctx(K=K), beta=beta, beta_sigma=sigma)
        refs = [LibMTLDBMTL(beta, sigma) for _ in range(K)]
        worst = 0.0
        for losses, grads in _sequence():
            ours = method.shared_direction(losses, grads)
            method.after_step(losses, grads)
            for k in range(K):
                ref = refs[k].update(losses[k], grads[k])
                worst = max(worst, float((ours[k] - ref).norm() / ref.norm()))
        print(f"db_mtl replay beta={beta} sigma={sigma}: max rel error {worst:.2e}")
        assert worst < 1e-10


# --- MoCo -----------------------------------------------------------------------------------


def test_moco_first_step_by_hand():
    # L = (1, 2), g1 = (3, 0), g2 = (0, 4): gt = L g / |g| = (1, 0), (0, 2); y = 0.5 gt;
    # y y^T = diag(0.25, 1); lambda = softmax(0.5 - 0.1 (0.125, 0.5)) -> lambda_1 = 0.509374;
    # d = y^T lambda = (0.5 lambda_1, lambda_2)
    m = MoCo(make_ctx(K=1))
    losses, grads = t64([[1, 2]]), t64([[3, 0], [0, 4]]).unsqueeze(0)
    l1 = 1 / (1 + math.exp(-0.0375))
    torch.testing.assert_close(m.weights(losses, grads, 0), t64([[l1, 1 - l1]]))
    torch.testing.assert_close(m.shared_direction(losses, grads), t64([[0.5 * l1, 1 - l1]]))
    assert abs(l1 - 0.509374) < 1e-6


class LibMTLMoCo:
    """LibMTL ``MoCo.backward`` for one member; returns the new shared gradient and lambda."""

    def __init__(
        self, beta: float, beta_sigma: float, gamma: float, gamma_sigma: float, rho: float
    ) -> None:
        self.hp = (beta, beta_sigma, gamma, gamma_sigma, rho)
        self.step = 0
        self.y = torch.zeros(T, P, dtype=torch.float64)
        self.lambd = torch.ones(T, dtype=torch.float64) / T

    def update(
        self, losses: torch.Tensor, grads: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        beta, beta_sigma, gamma, gamma_sigma, rho = self.hp
        self.step += 1
        grads = grads.clone()
        for tn in range(T):
            grads[tn] = grads[tn] / (grads[tn].norm() + 1e-8) * losses[tn]
        self.y = self.y - (beta / self.step**beta_sigma) * (self.y - grads)
        self.lambd = F.softmax(
            self.lambd
            - (gamma / self.step**gamma_sigma)
            * (self.y @ self.y.t() + rho * torch.eye(T, dtype=torch.float64))
            @ self.lambd,
            -1,
        )
        return self.y.t() @ self.lambd, self.lambd


def test_moco_replays_libmtl():
    for hp in ((0.5, 0.5, 0.1, 0.5, 0.0), (0.9, 0.0, 1.0, 0.2, 0.1)):
        names = ("beta", "beta_sigma", "gamma", "gamma_sigma", "rho")
        method = MoCo(make_ctx(K=K), **dict(zip(names, hp, strict=True)))
        refs = [LibMTLMoCo(*hp) for _ in range(K)]
        worst = 0.0
        for losses, grads in _sequence():
            ours_d = method.shared_direction(losses, grads)
            ours_w = method.weights(losses, grads, 0)
            method.after_step(losses, grads)
            for k in range(K):
                ref_d, ref_w = refs[k].update(losses[k], grads[k])
                worst = max(worst, float((ours_d[k] - ref_d).norm() / ref_d.norm()))
                worst = max(worst, float((ours_w[k] - ref_w).abs().max()))
        print(f"moco replay {hp}: max error {worst:.2e}")
        assert worst < 1e-10
