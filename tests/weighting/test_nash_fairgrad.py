"""Nash-MTL and FairGrad: hand-worked weights, the equations they solve, LibMTL's solver."""

import math

import numpy as np
import pytest
import torch

from mtl.weighting import gradient_weights
from mtl.weighting.fairgrad import FairGrad, solve_power_equation
from mtl.weighting.nash_mtl import NashMTL

from .helpers import direction, make_ctx, random_grads, t64

# --- Nash-MTL -------------------------------------------------------------------------------


def test_nash_orthogonal_unit_gradients_by_hand():
    # G = I, ||G||_F = sqrt 2: alpha_t^2 / sqrt 2 = 1, alpha_t = 2^(1/4)
    w = gradient_weights("nash_mtl", t64([[1, 0], [0, 1]]))
    torch.testing.assert_close(w, torch.full((2,), 2**0.25, dtype=torch.float64))


def test_nash_two_tasks_closed_form_by_hand():
    # g1 = (1, 0), g2 = (1, 1): G = [[1, 1], [1, 2]], ||G||_F = sqrt 7, cos = 1/sqrt 2.
    # alpha_t = 7^(1/4) / (|g_t| sqrt(1 + cos)): (1.2449, 0.8803)
    w = gradient_weights("nash_mtl", t64([[1, 0], [1, 1]]))
    root = math.sqrt(1 + 1 / math.sqrt(2))
    expected = torch.tensor([7**0.25 / root, 7**0.25 / (math.sqrt(2) * root)], dtype=torch.float64)
    torch.testing.assert_close(w, expected)
    torch.testing.assert_close(
        expected, torch.tensor([1.2449, 0.8803], dtype=torch.float64), atol=1e-4, rtol=0
    )


def test_nash_solves_its_equation_batched():
    grads = random_grads(6, 3, 9, seed=4)
    w = gradient_weights("nash_mtl", grads)
    G = grads @ grads.mT
    G = G / torch.linalg.matrix_norm(G)[:, None, None]
    residual = (G @ w.unsqueeze(-1)).squeeze(-1) - 1 / w
    assert residual.abs().max() < 1e-9
    assert (w > 0).all()
    for k in range(6):  # batched equals one at a time
        torch.testing.assert_close(gradient_weights("nash_mtl", grads[k]), w[k])


def test_nash_opposite_gradients_are_pareto_stationary():
    g = t64([[1, 2, 0]])[0]
    w = gradient_weights("nash_mtl", torch.stack([g, -3 * g]))
    torch.testing.assert_close(w, t64([[1.5, 0.5]])[0])  # 1.5 g - 0.5 * 3 g = 0
    assert direction(w, torch.stack([g, -3 * g])).abs().max() < 1e-12


def test_nash_method_and_dtype():
    grads = random_grads(3, 2, 5, seed=1, dtype=torch.float32)
    m = NashMTL(make_ctx(K=3))
    w = m.weights(torch.ones(3, 2), grads, step=0)
    assert w.dtype == torch.float32 and w.shape == (3, 2)
    torch.testing.assert_close(w, gradient_weights("nash_mtl", grads))


# --- FairGrad -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alpha", "expected"),
    [(1.0, [0.5, 1.0]), (2.0, [4 ** (-2 / 3), 1.0]), (0.5, [4 ** (-1 / 3), 1.0])],
)
def test_fairgrad_diagonal_gram_by_hand(alpha, expected):
    # g1 = (2, 0), g2 = (0, 1): G = diag(4, 1), 4 w1 = w1^(-1/alpha), w2 = 1:
    # w1 = 4^(-alpha / (1 + alpha)): alpha = 1 -> 1/2, 2 -> 4^(-2/3), 0.5 -> 4^(-1/3)
    w = gradient_weights("fairgrad", t64([[2, 0], [0, 1]]), alpha=alpha)
    torch.testing.assert_close(w, torch.tensor(expected, dtype=torch.float64))


def test_fairgrad_alpha_one_is_nash_without_normalisation():
    grads = random_grads(4, 2, 6, seed=2)
    G = grads @ grads.mT
    norm = torch.linalg.matrix_norm(G)
    # G w = 1/w and (G / n) a = 1/a give w = a / sqrt(n)
    torch.testing.assert_close(
        gradient_weights("fairgrad", grads),
        gradient_weights("nash_mtl", grads) / norm.sqrt()[:, None],
    )


def test_fairgrad_scaling_rule():
    grads = random_grads(2, 3, 6, seed=3)
    for alpha in (0.5, 1.0, 3.0):
        w = gradient_weights("fairgrad", grads, alpha=alpha)
        w10 = gradient_weights("fairgrad", 10 * grads, alpha=alpha)
        torch.testing.assert_close(w10, w * 10 ** (-2 * alpha / (1 + alpha)))


def test_fairgrad_solver_handles_zero_and_all_zero_gradients():
    w = solve_power_equation(t64([[0, 0], [0, 0]]), 1.0)
    torch.testing.assert_close(w, t64([[1, 1]])[0])
    w = gradient_weights("fairgrad", t64([[3, 0], [0, 0]]))
    assert torch.isfinite(w).all() and (w > 0).all()
    torch.testing.assert_close(w[0], torch.tensor(1 / 3, dtype=torch.float64))  # 9 w = 1/w


def test_fairgrad_method_reads_alpha():
    grads = random_grads(3, 2, 5, seed=5, dtype=torch.float32)
    m = FairGrad(make_ctx(K=3), alpha=2.0)
    torch.testing.assert_close(
        m.weights(torch.ones(3, 2), grads, step=0), gradient_weights("fairgrad", grads, alpha=2.0)
    )


def _libmtl_fairgrad(A: np.ndarray, alpha: float) -> np.ndarray:
    """LibMTL ``FairGrad.backward``: ``least_squares`` on ``A x - (1/x)^(1/alpha)`` from 1/T."""
    least_squares = pytest.importorskip("scipy.optimize").least_squares
    T = A.shape[0]
    res = least_squares(
        lambda x: A @ x - np.power(1 / x, 1 / alpha),
        np.ones(T) / T,
        bounds=(0, np.inf),
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
    )
    return res.x


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("T", [2, 3])
def test_fairgrad_agrees_with_libmtl_solver(alpha, T):
    grads = random_grads(5, T, 8, seed=10 + T)
    w = gradient_weights("fairgrad", grads, alpha=alpha)
    for k in range(5):
        ref = _libmtl_fairgrad((grads[k] @ grads[k].T).numpy(), alpha)
        np.testing.assert_allclose(w[k].numpy(), ref, rtol=1e-6)


def test_the_solver_stops_early_at_pareto_stationary_inputs(monkeypatch):
    # Exactly opposite gradients: no positive solution without the ridge, and an ill-conditioned
    # Hessian whose Newton decrement stalls above its threshold. The solver used to take all
    # MAX_NEWTON steps (about 3,500 objective evaluations for these three members); it now stops
    # a member once f no longer decreases and the decrement no longer shrinks.
    import mtl.weighting.fairgrad as fg

    g = torch.tensor(
        [[[1.0, 2.0], [-3.0, -6.0]], [[1.0, 0.0], [-1.0, 1e-7]], [[1.0, 2.0], [0.5, -1.0]]],
        dtype=torch.float64,
    )
    calls = []
    original = fg._objective
    monkeypatch.setattr(fg, "_objective", lambda *a: calls.append(1) or original(*a))
    w = fg.solve_power_equation(g @ g.mT, 1.0)
    assert len(calls) < 300
    # stationary: the null combination, scaled to sum to T (3 g1 + g2 = 0 -> (1.5, 0.5))
    torch.testing.assert_close(w[0], torch.tensor([1.5, 0.5], dtype=torch.float64))
    assert abs(float((w[1] @ g[1]).norm())) < 1e-6  # near-opposite: (almost) no shared step
    # a regular member keeps Nash-MTL's closed form G w = 1 / w
    torch.testing.assert_close((g[2] @ g[2].T) @ w[2], 1 / w[2])
