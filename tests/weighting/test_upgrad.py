"""UPGrad and DualProj (Quinton & Rey, 2024): the dual-cone projections, hand-worked and batched."""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given

from mtl.weighting import SMOOTHING, gradient_weights
from mtl.weighting.dualproj import DualProj, dualproj_weights
from mtl.weighting.upgrad import UPGrad, _normalised, project_dual_cone, upgrad_weights

from .helpers import FAST, direction, grad_matrices, make_ctx, random_grads, t64

# --- hand-worked values ---------------------------------------------------------------------

# TorchJD's documentation example: g1 = (-4, 1, 1), g2 = (6, 1, 1), g1 . g2 = -22, |g1|^2 = 18,
# |g2|^2 = 38.
J_DOC = t64([[-4, 1, 1], [6, 1, 1]])


def test_dualproj_documentation_example_by_hand():
    # g0 = (1, 1, 1); g0 . g1 = -2 < 0, g0 . g2 = 8 > 0: project onto the half-space of g1,
    # d = g0 + (2 / 18) g1 = (5/9, 10/9, 10/9), and d . g2 = 30/9 + 20/9 > 0. Weights: v = (1/2 +
    # 1/9, 1/2). TorchJD prints (0.5563, 1.1109, 1.1109): its 1e-4 ridge (reg_eps).
    w = dualproj_weights(J_DOC)
    torch.testing.assert_close(w, t64([0.5 + 1 / 9, 0.5]))
    torch.testing.assert_close(direction(w, J_DOC), t64([5 / 9, 10 / 9, 10 / 9]))


def test_upgrad_documentation_example_by_hand():
    # proj(g1) = g1 + (22/38) g2 (g1 conflicts with g2), proj(g2) = g2 + (22/18) g1; UPGrad is
    # their mean: w = ((1 + 22/18) / 2, (1 + 22/38) / 2), d = (0.2924, 1.9006, 1.9006).
    # TorchJD prints (0.2929, 1.9004, 1.9004): its 1e-4 ridge.
    w = upgrad_weights(J_DOC)
    torch.testing.assert_close(w, t64([(1 + 22 / 18) / 2, (1 + 22 / 38) / 2]))
    torch.testing.assert_close(
        direction(w, J_DOC), t64([0.2924, 1.9006, 1.9006]), atol=1e-4, rtol=0
    )


def test_no_conflict_is_the_mean():
    g = t64([[1, 0], [1, 1]])  # g1 . g2 = 1 >= 0: every projection is the gradient itself
    torch.testing.assert_close(upgrad_weights(g), t64([0.5, 0.5]))
    torch.testing.assert_close(dualproj_weights(g), t64([0.5, 0.5]))


def test_orthogonal_conflict_pair():
    # g1 = (1, 0), g2 = (-1, 1): g1 . g2 = -1, |g1|^2 = 1, |g2|^2 = 2.
    # proj(g1) = g1 + (1/2) g2 = (1/2, 1/2); proj(g2) = g2 + g1 = (0, 1). UPGrad: the mean of
    # v(1) = (1, 1/2) and v(2) = (1, 1), w = (1, 3/4), d = (1/4, 3/4).
    # DualProj: g0 = (0, 1/2), g0 . g1 = 0 >= 0, g0 . g2 = 1/2: no conflict, d = g0, w = (1/2, 1/2).
    g = t64([[1, 0], [-1, 1]])
    torch.testing.assert_close(upgrad_weights(g), t64([1.0, 0.75]))
    torch.testing.assert_close(direction(upgrad_weights(g), g), t64([0.25, 0.75]))
    torch.testing.assert_close(dualproj_weights(g), t64([0.5, 0.5]))


@pytest.mark.parametrize("fn", [upgrad_weights, dualproj_weights])
def test_exactly_opposite_gradients_give_zero(fn):
    # The dual cone of (g, -3g) is the hyperplane orthogonal to g: every projection is 0.
    g = t64([[1, 2], [-3, -6]])
    torch.testing.assert_close(direction(fn(g), g), t64([0, 0]), atol=1e-12, rtol=0)


@pytest.mark.parametrize("fn", [upgrad_weights, dualproj_weights])
def test_zero_gradients(fn):
    # Nothing to project: the weights are the preference (1/T each), the direction 0.
    torch.testing.assert_close(fn(torch.zeros(2, 3, dtype=torch.float64)), t64([0.5, 0.5]))
    # One zero gradient: the cone is the half-space of the other, which contains the mean.
    g = t64([[3, 4], [0, 0]])
    torch.testing.assert_close(direction(fn(g), g), t64([1.5, 2.0]))


def test_project_dual_cone_is_the_qp_optimum():
    # KKT of min v^T G v s.t. v >= u: v >= u, (G v) >= 0, and (G v)_t (v_t - u_t) = 0.
    g = random_grads(40, 4, 6, seed=3)
    G = g @ g.mT
    U = torch.eye(4, dtype=torch.float64)
    V = project_dual_cone(U, G)
    Gn = G / G.diagonal(dim1=-2, dim2=-1).sum(-1)[..., None, None]
    grad = V @ Gn  # [..., M, T] = (G v)^T
    assert (V >= U - 1e-12).all()
    assert (grad >= -1e-10).all()
    assert ((grad * (V - U)).abs() < 1e-10).all()


def test_many_tasks_use_the_iterative_solver_and_agree_with_enumeration():
    # T = 7 runs FISTA; compare with the same problem's enumeration through T = 6 columns plus a
    # zero gradient (a zero row changes nothing but the preference).
    g = random_grads(5, 6, 12, seed=4)
    g7 = torch.cat([g, torch.zeros(5, 1, 12, dtype=torch.float64)], dim=-2)
    G, G7 = g @ g.mT, g7 @ g7.mT
    u = torch.full((1, 6), 1 / 6, dtype=torch.float64)
    u7 = torch.cat([u, torch.zeros(1, 1, dtype=torch.float64)], dim=-1)
    d6 = direction(project_dual_cone(u, G).squeeze(-2), g)
    d7 = direction(project_dual_cone(u7, G7, iterations=3000).squeeze(-2), g7)
    torch.testing.assert_close(d7, d6, atol=1e-6, rtol=1e-5)


@FAST
@given(grad_matrices(t_min=2, t_max=3, p_min=2, p_max=4))
@example(  # two exactly opposite rows beside a third: a singular Gram matrix (found by Hypothesis)
    torch.tensor([[2**-7, 8.0], [0.0, -1.0], [0.0, 1.5]], dtype=torch.float64)
)
def test_directions_never_conflict(g):
    # Up to the rounding of the weights: with a singular Gram matrix (exactly opposite rows) the
    # active-set solve carries a relative error of ~1e-10 into w, so d . g_t may dip ~3e-11 of
    # sum_t |w_t| |g_t| below zero (the example: -2.3e-10 against terms of size 7)
    for fn in (upgrad_weights, dualproj_weights):
        w = fn(g)
        inner = g @ direction(w, g)
        tol = 1e-9 * float((w.abs() * g.norm(dim=-1)).sum()) * g.norm(dim=-1)
        assert (inner >= -tol).all(), (fn.__name__, w, inner)


def test_batched_equals_one_by_one():
    g = random_grads(3, 4, 2, 5, seed=5)
    for fn in (upgrad_weights, dualproj_weights):
        batched = fn(g)
        for i in range(3):
            for j in range(4):
                torch.testing.assert_close(batched[i, j], fn(g[i, j]))


def test_classes_metadata_and_weights():
    for cls in (UPGrad, DualProj):
        assert cls.kind == "gradient" and cls.combines == "gradients"
        assert cls.hparams == (SMOOTHING,)  # CR-MOGM smoothing only
        assert "Quinton" in cls.citation and cls.explanation and cls.formula
    g = random_grads(3, 2, 5, dtype=torch.float32)
    torch.testing.assert_close(
        UPGrad(make_ctx()).weights(torch.ones(3, 2), g, 0), upgrad_weights(g)
    )
    torch.testing.assert_close(
        DualProj(make_ctx()).weights(torch.ones(3, 2), g, 0), gradient_weights("dualproj", g)
    )
    assert upgrad_weights(g).dtype == torch.float32


def _walk(U: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """The two-task enumeration as a walk (``G`` normalised).

    The candidates ``v = u``, ``v_0`` free, ``v_1`` free, ``v = 0`` in order; one replaces the
    best only when its objective is strictly lower.
    """
    diag = G.diagonal(dim1=-2, dim2=-1).unsqueeze(-2)
    Gu = U @ G
    free = torch.where(diag > 0, -(Gu - diag * U) / torch.where(diag > 0, diag, 1.0), U)
    cands = [
        torch.stack((free[..., 0], U[..., 1]), dim=-1),
        torch.stack((U[..., 0], free[..., 1]), dim=-1),
        torch.zeros_like(U),
    ]
    best, best_obj = U, ((U @ G) * U).sum(-1)
    for cand in cands:
        cand = torch.maximum(cand, U)
        obj = ((cand @ G) * cand).sum(-1)
        better = obj < best_obj
        best = torch.where(better.unsqueeze(-1), cand, best)
        best_obj = torch.where(better, obj, best_obj)
    return best


@pytest.mark.parametrize("nan", [False, True])
def test_two_task_projection_is_the_walk_bit_for_bit(nan):
    # the fast path picks the first lowest objective with argmin; ties (identical, opposite and
    # zero gradients) and a NaN member (where argmin and the walk would differ) included
    g = random_grads(300, 2, 5, seed=7)
    g[:20, 1] = g[:20, 0]  # identical
    g[20:40, 1] = -2 * g[20:40, 0]  # opposite
    g[40:50] = 0.0  # zero
    if nan:
        g[50, 0, 0] = float("nan")
    G = g @ g.mT
    for U in (torch.eye(2, dtype=torch.float64) / 2, torch.full((1, 2), 0.5, dtype=torch.float64)):
        U = U.expand(300, *U.shape)
        fast, walk = project_dual_cone(U, G), _walk(U, _normalised(G))
        torch.testing.assert_close(fast, walk, rtol=0, atol=0, equal_nan=True)
