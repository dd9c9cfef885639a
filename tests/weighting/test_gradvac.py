"""GradVac: hand-worked steps, the target cosine reached, and a replay of LibMTL's rule."""

import math

import torch

from mtl.weighting.gradvac import GradVac, _sequential, _two_tasks, gradvac_step

from .helpers import direction, make_ctx, random_grads, t64
from .replay import record


def _step(method: GradVac, grads: torch.Tensor) -> torch.Tensor:
    w = method.weights(torch.ones(grads.shape[:2]), grads, step=0)
    method.after_step(torch.ones(grads.shape[:2]), grads)
    return w


def test_first_step_is_pcgrad_by_hand():
    # Targets 0. g1 = (1, 0), g2 = (-1, 1): cos = -1/sqrt 2 < 0.
    # p1 = g1 + c12 g2 with c12 = -cos |g1| / |g2| = 1/2: p1 = (1/2, 1/2), orthogonal to g2;
    # p2 = g2 + c21 g1 with c21 = -cos |g2| / |g1| = 1: p2 = (0, 1), orthogonal to g1.
    # d = p1 + p2 = 2 g1 + 1.5 g2: weights (2, 1.5). Targets become beta * cos = -0.35355.
    m = GradVac(make_ctx(K=1))
    grads = t64([[1, 0], [-1, 1]]).unsqueeze(0)
    w = _step(m, grads)
    torch.testing.assert_close(w, t64([[2.0, 1.5]]), atol=1e-7, rtol=0)
    torch.testing.assert_close(direction(w, grads), t64([[0.5, 1.5]]), atol=1e-7, rtol=0)
    expected = -0.5 / math.sqrt(2)
    torch.testing.assert_close(m.targets, t64([[[0, expected], [expected, 0]]]).unsqueeze(0)[0])


def test_second_step_reaches_the_target_cosine():
    # Same gradients again: cos = -0.7071 < target -0.3536, so each p_i is moved to exactly the
    # target cosine with the other task's gradient.
    m = GradVac(make_ctx(K=1))
    grads = t64([[1, 0], [-1, 1]]).unsqueeze(0)
    _step(m, grads)
    phi = float(m.targets[0, 0, 1])
    C, _ = _coefficients(grads[0], m.targets[0])
    g1, g2 = grads[0]
    p1 = C[0, 0] * g1 + C[0, 1] * g2
    cos = float(p1 @ g2 / (p1.norm() * g2.norm()))
    assert abs(cos - phi) < 1e-7


def _coefficients(J: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``C`` (``p_i = sum_j C_ij g_j``) for two tasks from the weights' definition."""
    G = (J @ J.T).unsqueeze(0)
    w, new = gradvac_step(G, targets.unsqueeze(0), 0.5)
    # for T = 2: w = (1 + c21, 1 + c12)
    c12, c21 = float(w[0, 1]) - 1, float(w[0, 0]) - 1
    return torch.tensor([[1.0, c12], [c21, 1.0]], dtype=torch.float64), new


def test_positive_but_weak_alignment_is_raised_to_the_target():
    # cos(g1, g2) = 0.6 with target 0.9: GradVac adds some of g2 to p1 (PCGrad would not)
    J = t64([[1, 0], [0.6, 0.8]])
    targets = t64([[0, 0.9], [0.9, 0]])
    C, new = _coefficients(J, targets)
    assert C[0, 1] > 0 and C[1, 0] > 0
    p1 = C[0, 0] * J[0] + C[0, 1] * J[1]
    assert abs(float(p1 @ J[1] / p1.norm()) - 0.9) < 1e-7
    torch.testing.assert_close(
        new[0, 0, 1], torch.tensor(0.5 * 0.9 + 0.5 * 0.6, dtype=torch.float64)
    )


def test_beta_zero_is_pcgrad_forever():
    m = GradVac(make_ctx(K=4), beta=0.0)
    for seed in range(3):
        grads = random_grads(4, 2, 5, seed=seed)
        w = _step(m, grads)
        G = grads @ grads.mT
        g12 = G[:, 0, 1]
        conflict = g12 < 0
        expected = torch.ones(4, 2, dtype=torch.float64)
        expected[:, 0] += torch.where(conflict, -g12 / G[:, 0, 0], 0.0)
        expected[:, 1] += torch.where(conflict, -g12 / G[:, 1, 1], 0.0)
        torch.testing.assert_close(w, expected, atol=1e-6, rtol=1e-6)
    assert (m.targets == 0).all()


def test_zero_gradient_gets_no_coefficient():
    w, _ = gradvac_step(t64([[1, 0], [0, 0]]).unsqueeze(0), torch.full((1, 2, 2), 0.5), 0.5)
    assert torch.isfinite(w).all() and float(w.abs().max()) < 10


def test_two_task_shortcut_equals_the_sequential_rule():
    gen = torch.Generator().manual_seed(3)
    grads = torch.randn(50, 2, 6, generator=gen, dtype=torch.float64)
    G = grads @ grads.mT
    targets = torch.rand(50, 2, 2, generator=gen, dtype=torch.float64) * 2 - 1
    targets.diagonal(dim1=-2, dim2=-1).zero_()
    w2, t2 = _two_tasks(G, targets, 0.3)
    ws, ts = _sequential(G, targets, 0.3)
    torch.testing.assert_close(w2, ws)
    torch.testing.assert_close(t2, ts)


def test_three_tasks_replay_libmtl_in_a_fixed_order():
    gen = torch.Generator().manual_seed(4)
    method = GradVac(make_ctx(K=2, T=3), beta=0.3)
    refs = [LibMTLGradVac(3, 0.3) for _ in range(2)]
    for _ in range(6):
        grads = torch.randn(2, 3, 5, generator=gen, dtype=torch.float64)
        w = _step(method, grads)
        for k in range(2):
            torch.testing.assert_close(direction(w[k], grads[k]), refs[k].step(grads[k]))


class LibMTLGradVac:
    """LibMTL ``GradVac.backward`` (whole model) for one member.

    LibMTL shuffles the order of the other tasks; the shuffle is moot for T = 2, and for T > 2
    we visit them in increasing order, as our implementation does.
    """

    def __init__(self, n_tasks: int, beta: float) -> None:
        self.beta = beta
        self.rho_T = torch.zeros(n_tasks, n_tasks, dtype=torch.float64)

    def step(self, grads: torch.Tensor) -> torch.Tensor:
        T = grads.shape[0]
        pc = grads.clone()
        for i in range(T):
            for j in [t for t in range(T) if t != i]:
                rho = torch.dot(pc[i], grads[j]) / (pc[i].norm() * grads[j].norm() + 1e-8)
                if rho < self.rho_T[i, j]:
                    phi = self.rho_T[i, j]
                    w = (
                        pc[i].norm()
                        * (phi * (1 - rho**2).sqrt() - rho * (1 - phi**2).sqrt())
                        / (grads[j].norm() * (1 - phi**2).sqrt() + 1e-8)
                    )
                    pc[i] += grads[j] * w
                self.rho_T[i, j] = (1 - self.beta) * self.rho_T[i, j] + self.beta * rho
        return pc.sum(0)


def test_replay_of_libmtl_on_a_training_run(monkeypatch):
    log = record(monkeypatch, "gradvac", epochs=10, batch_size=64)
    K = log.grads[0].shape[0]
    refs = [LibMTLGradVac(2, 0.5) for _ in range(K)]
    worst = 0.0
    for grads, weights in zip(log.grads, log.weights, strict=True):
        for k in range(K):
            g = grads[k].double()
            ref = refs[k].step(g)
            ours = direction(weights[k].double(), g)
            worst = max(worst, float((ours - ref).norm() / ref.norm()))
    assert len(log.grads) >= 20 and math.isfinite(worst)
    print(f"gradvac replay: {len(log.grads)} steps x {K} members, max rel error {worst:.2e}")
    assert worst < 1e-5, worst
    assert any(float(r.rho_T.abs().max()) > 0 for r in refs)
