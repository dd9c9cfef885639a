"""DB-MTL and MoCo: methods that supply their own shared direction to the engine.

Hand-worked first steps; a replay of LibMTL's update rules, member by member, on a seeded sequence
of losses and gradients and on those the engine logged in a real training run; the engine applies
the direction and head weights they supply; a population member equals its solo run.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mtl
from mtl.engine import Population, _Trainer
from mtl.weighting import METHODS
from mtl.weighting.db_mtl import DBMTL
from mtl.weighting.moco import MoCo

from .helpers import make_ctx, random_grads, t64
from .replay import record

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


def test_registered_as_gradient_combiners_with_their_own_direction():
    assert METHODS["moco"] is MoCo and METHODS["db_mtl"] is DBMTL
    for cls in (MoCo, DBMTL):
        assert cls.kind == "gradient" and cls.combines == "gradients"
        assert cls.gradients_of == "parameters"  # the direction lives in parameter space
        assert cls.explanation and cls.formula and cls.citation
    # every other method keeps the weighted sum (the hook's default)
    losses, grads = torch.rand(K, T) + 0.1, random_grads(K, T, P, dtype=torch.float32)
    pcgrad = METHODS["pcgrad"](make_ctx(K=K))
    assert pcgrad.shared_direction(losses, grads, pcgrad.weights(losses, grads, 0)) is None


@pytest.mark.parametrize("name", ["moco", "db_mtl"])
def test_shared_direction_reads_state_and_never_changes_it(name):
    method = METHODS[name](make_ctx(K=K))
    sequence = _sequence()
    for losses, grads in sequence[:3]:
        method.after_step(losses, grads)
    losses, grads = sequence[3]
    weights = method.weights(losses, grads, 3)
    before = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in vars(method).items()}
    first = method.shared_direction(losses, grads, weights)
    second = method.shared_direction(losses, grads, weights)
    assert torch.equal(first, second)
    for key, value in before.items():
        now = vars(method)[key]
        assert torch.equal(now, value) if isinstance(value, torch.Tensor) else now == value, key


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

    def __init__(self, beta: float, beta_sigma: float, n_params: int = P) -> None:
        self.beta, self.beta_sigma, self.step = beta, beta_sigma, 0
        self.grad_buffer = torch.zeros(T, n_params, dtype=torch.float64)

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
        self,
        beta: float,
        beta_sigma: float,
        gamma: float,
        gamma_sigma: float,
        rho: float,
        n_params: int = P,
    ) -> None:
        self.hp = (beta, beta_sigma, gamma, gamma_sigma, rho)
        self.step = 0
        self.y = torch.zeros(T, n_params, dtype=torch.float64)
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


# --- through the engine ---------------------------------------------------------------------


def _relative(ours: torch.Tensor, ref: torch.Tensor) -> float:
    return float((ours.double() - ref).norm() / ref.norm().clamp_min(1e-12))


def test_db_mtl_engine_run_replays_libmtl(monkeypatch):
    # 3 epochs of 3 mini-batches each: the losses and gradients the engine passed, replayed
    # through LibMTL's rule, give the direction the engine applied and the logged weights
    log = record(monkeypatch, "db_mtl", epochs=3, seeds=(0, 1, 2), batch_size=64)
    assert len(log.directions) == len(log.grads) == 9
    members, _, n_params = log.grads[0].shape
    refs = [LibMTLDBMTL(0.9, 0.0, n_params) for _ in range(members)]
    worst_d = worst_w = 0.0
    for losses, grads, weights, d in zip(
        log.losses, log.grads, log.weights, log.directions, strict=True
    ):
        for k in range(members):
            ref = refs[k].update(losses[k].double(), grads[k].double())
            worst_d = max(worst_d, _relative(d[k], ref))
            u = refs[k].grad_buffer.norm(dim=-1)
            ref_w = (u.max() / (u + 1e-8)) / (losses[k].double() + 1e-8)  # alpha_t / L_t
            worst_w = max(worst_w, float(((weights[k] - ref_w) / ref_w).abs().max()))
    print(f"db_mtl engine replay: direction {worst_d:.2e}, weights {worst_w:.2e}")
    assert worst_d < 1e-5 and worst_w < 1e-5


def test_moco_engine_run_replays_libmtl(monkeypatch):
    log = record(monkeypatch, "moco", epochs=3, seeds=(0, 1, 2), batch_size=64)
    assert len(log.directions) == len(log.grads) == 9
    members, _, n_params = log.grads[0].shape
    refs = [LibMTLMoCo(0.5, 0.5, 0.1, 0.5, 0.0, n_params) for _ in range(members)]
    worst_d = worst_w = 0.0
    for losses, grads, weights, d in zip(
        log.losses, log.grads, log.weights, log.directions, strict=True
    ):
        for k in range(members):
            ref_d, ref_w = refs[k].update(losses[k].double(), grads[k].double())
            worst_d = max(worst_d, _relative(d[k], ref_d))
            worst_w = max(worst_w, float((weights[k] - ref_w).abs().max()))
    print(f"moco engine replay: direction {worst_d:.2e}, weights {worst_w:.2e}")
    assert worst_d < 1e-5 and worst_w < 1e-5


@pytest.mark.parametrize("name", ["moco", "db_mtl"])
def test_the_engine_applies_the_supplied_direction_and_head_weights(name):
    # one SGD step: the shared parameters move along -lr * the method's direction (not along
    # its weights times this step's gradients) and each head along -lr * head weight * g_t
    lr = 0.1
    cfg = mtl.preset("conflicting").with_(
        **{"weighting.method": name, "optim.kind": "sgd", "optim.lr": lr, "data.seed": 0}
    )
    trainer = _Trainer(cfg, Population(weights=((0.5, 0.5),) * 2, seeds=(0, 1)))
    fresh = METHODS[name](trainer.method.ctx)  # the same state as the trainer's before step 0
    before = trainer.model.theta.detach().clone()
    s = trainer.split
    result, weights = trainer._train_step(s.x_train, s.y_reg_train, s.y_cls_train, 0, 0)
    shared = trainer.model.shared
    expected = -lr * fresh.shared_direction(result.losses, result.G, weights)
    moved = trainer.model.theta[:, shared] - before[:, shared]
    torch.testing.assert_close(moved, expected, atol=1e-7, rtol=1e-5)
    naive = -lr * (weights.unsqueeze(-1) * result.G).sum(1)
    assert not torch.allclose(moved, naive, atol=1e-4)  # the hook is what was applied
    heads = fresh.head_weights(weights, result.losses)
    if name == "db_mtl":
        torch.testing.assert_close(heads, 1 / (result.losses + 1e-8))
    else:
        assert torch.equal(heads, torch.ones_like(weights))
    for t, task in enumerate(mtl.TASKS):
        head = trainer.model.heads[task]
        moved = trainer.model.theta[:, head] - before[:, head]
        expected = -lr * heads[:, t : t + 1] * result.grads[t, :, head]
        torch.testing.assert_close(moved, expected, atol=1e-7, rtol=1e-5)


def _task_weights(result: mtl.Result, member: int = 0) -> np.ndarray:
    h = result.history
    rows = h[(h.split == "train") & (h.member == member)]
    return rows.pivot(index="epoch", columns="component", values="weight")[list(mtl.TASKS)]


@pytest.mark.parametrize("name", ["moco", "db_mtl"])
def test_a_population_member_equals_its_solo_run(name):
    cfg = mtl.preset("conflicting").with_(
        epochs=30, seed=0, **{"weighting.method": name, "data.seed": 0}
    )
    seeds = [0, 1, 2]
    population = mtl.sweep(cfg, seeds=seeds)
    for k, seed in enumerate(seeds):
        solo = mtl.train(cfg.with_(seed=seed))
        np.testing.assert_allclose(
            _task_weights(population, k), _task_weights(solo), rtol=1e-5, atol=1e-5
        )
        for column in ("train_mse", "train_accuracy", "test_mse", "test_accuracy"):
            ours, theirs = population.summary[column].iloc[k], solo.summary[column].iloc[0]
            assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-5), column
    assert not np.allclose(_task_weights(population, 0), _task_weights(population, 1))


@pytest.mark.parametrize("name", ["moco", "db_mtl"])
def test_weights_stay_finite_when_a_members_gradients_are_not(name):
    # a finite loss can come with a NaN gradient (the member then diverges); the weights in force
    # stay finite for it, and the other members are untouched
    method = METHODS[name](make_ctx(K=2))
    losses = t64([[2.0, 0.5], [1.0, 1.0]])
    grads = random_grads(2, T, P)
    clean = method.weights(losses, grads, 0)
    grads[0, 1, 0] = float("nan")
    weights = method.weights(losses, grads, 0)
    assert torch.isfinite(weights).all()
    torch.testing.assert_close(weights[1], clean[1])
