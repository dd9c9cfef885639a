"""UPGrad: project every task gradient onto the dual cone of all of them, then average.

Quinton, P. & Rey, V. (2024). *Jacobian Descent for Multi-Objective Optimization*.
arXiv:2406.16232 (the TorchJD paper), Section 4 ("unconflicting projection of gradients").

The dual cone of the gradients ``g_1 .. g_T`` is ``{x : x . g_t >= 0 for every t}``: the directions
that do not increase any task loss to first order. UPGrad projects each gradient onto it and
averages the projections::

    d = (1/T) sum_i  proj_cone(g_i)

The projection of ``J^T u`` (``J`` the ``[T, P]`` gradient matrix, ``u`` weights on its rows) onto
the dual cone is ``J^T v`` with (the paper's Proposition 1, a QP in ``T`` variables, Gram form)::

    v = argmin_{v >= u}  v^T G v,         G = J J^T

so ``proj_cone(g_i) = J^T v^{(i)}`` with ``u = e_i``, and UPGrad's weights are
``w = (1/T) sum_i v^{(i)}``. Since ``d`` is an average of vectors of the cone, ``d . g_t >= 0``
for every task: UPGrad never conflicts. When the gradients do not conflict at all
(``G_ij >= 0``) every projection is the gradient itself and UPGrad is the mean.

Solver (:func:`project_dual_cone`), exact and batched: the optimum has an active set
``A = {t : v_t = u_t}``; on the free set ``F`` the stationarity ``(G v)_F = 0`` gives
``v_F = -G_FF^+ G_FA u_A``. For ``T <= 6`` we enumerate every active set (at most 64), clamp each
candidate to ``v >= u`` (which makes it feasible) and keep the one of least ``v^T G v``: the true
active set's candidate is exactly optimal and feasible, every other clamped candidate is feasible,
so the least objective is the optimum (the direction ``J^T v`` is unique even when ``v`` is not).
For ``T = 2`` the four candidates are closed forms (``v = u``, ``v = 0`` and the two with one
free coordinate, ``v_j = -G_ji u_i / G_jj``), no inverse. For ``T > 6``: accelerated projected
gradient (FISTA) on the box ``v >= u``, ``iterations`` steps (default 500).

``G`` is divided by its trace first, so the weights are scale-invariant. TorchJD (0.18) solves the
same QP with quadprog after normalising ``G`` by its trace and adding ``1e-4 I`` (``reg_eps``) so
that quadprog sees a positive-definite matrix, and treats a gradient matrix with
``|J|_F^2 < 1e-4`` (``norm_eps``, an absolute threshold) as zero (weights ``1/T``). With its
defaults the two therefore differ by up to ``~1e-4`` relative (the ridge); with
``QuadprogProjector(norm_eps=0, reg_eps=1e-12)`` they agree to solver rounding.

Shapes: ``grads [..., T, P] -> weights [..., T]``.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import torch

from mtl.weighting.base import WeightingMethod
from mtl.weighting.gradient import gram_matrix
from mtl.weighting.hparams import HParam

_MAX_ENUMERATED_TASKS = 6
"""Up to this many tasks the exact active-set enumeration is used."""


def _normalised(G: torch.Tensor) -> torch.Tensor:
    """``G / trace(G)`` (``G`` itself where the trace is 0): ``[..., T, T]``."""
    trace = G.diagonal(dim1=-2, dim2=-1).sum(-1)
    return G / torch.where(trace > 0, trace, 1.0)[..., None, None]


def _quad(G: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``v^T G v`` for ``G [..., T, T]`` and ``v [..., M, T]`` (M vectors): ``[..., M]``."""
    return ((v @ G) * v).sum(-1)


def project_dual_cone(U: torch.Tensor, G: torch.Tensor, iterations: int = 500) -> torch.Tensor:
    """Weights of the projections of ``J^T u`` onto the dual cone of ``J``'s rows.

    Args:
        U: ``[..., M, T]`` M weight vectors ``u`` per batch element (e.g. the identity for UPGrad).
        G: ``[..., T, T]`` Gram matrix ``J J^T``.
        iterations: FISTA steps for ``T > 6``.

    Returns:
        ``[..., M, T]`` the minimisers ``v`` of ``v^T G v`` subject to ``v >= u``, so that
        ``J^T v`` is the projection of ``J^T u``.
    """
    G = _normalised(G)
    T = G.shape[-1]
    U = U.to(G.dtype).expand(*G.shape[:-2], *U.shape[-2:])
    if T > _MAX_ENUMERATED_TASKS:
        return _fista(U, G, iterations)
    if T == 2:
        return _two_tasks(U, G)
    best = U.clone()  # the candidate "all active": v = u
    best_obj = _quad(G, best)
    diag = G.diagonal(dim1=-2, dim2=-1)  # [..., T]
    for m in range(1, T + 1):
        for free in itertools.combinations(range(T), m):
            if m == T:
                cand = torch.zeros_like(U)  # no active constraint: v = 0
            elif m == 1:
                j = free[0]
                # v_j = -(G_j. u - G_jj u_j) / G_jj (the other coordinates stay at u)
                Gu = (U @ G[..., :, j : j + 1]).squeeze(-1)  # [..., M] = G_j . u
                gjj = diag[..., j : j + 1]  # [..., 1]
                safe = torch.where(gjj > 0, gjj, 1.0)
                vj = torch.where(gjj > 0, -(Gu - gjj * U[..., j]) / safe, U[..., j])
                cand = U.clone()
                cand[..., j] = vj
            else:
                idx = torch.tensor(free, device=G.device)
                act = torch.tensor([t for t in range(T) if t not in free], device=G.device)
                G_FF = G.index_select(-2, idx).index_select(-1, idx)
                G_FA = G.index_select(-2, idx).index_select(-1, act)
                u_A = U.index_select(-1, act)  # [..., M, |A|]
                rhs = u_A @ G_FA.mT  # [..., M, |F|] = (G_FA u_A)^T
                v_F = -(rhs @ torch.linalg.pinv(G_FF, hermitian=True).mT)
                cand = U.clone()
                cand[..., idx] = v_F
            cand = torch.maximum(cand, U)  # feasible
            obj = _quad(G, cand)
            better = obj < best_obj
            best = torch.where(better.unsqueeze(-1), cand, best)
            best_obj = torch.where(better, obj, best_obj)
    return best


_ONE_FREE = torch.tensor([[True, False], [False, True]])
"""Row ``j``: the coordinates of the candidate with only ``v_j`` free that take its value.
Built on the CPU; :func:`_two_tasks` moves it to its inputs' device (a no-op on the CPU), since
a ``[2, 2]`` mask on another device than the tensors it selects between is an error."""


def _two_tasks(U: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """:func:`project_dual_cone`'s enumeration for ``T = 2`` with its candidates formed at once.

    The same candidates, arithmetic and order as the general enumeration (``v = u``; ``v_0``
    free; ``v_1`` free; ``v = 0``; a later one replaces the best only when strictly lower):
    both one-free candidates from one product ``U G``, every candidate's objective from one
    product, and the enumeration's pick as the *first* lowest objective (``argmin``), which is
    what replacing only when strictly lower keeps. A NaN objective compares false in the
    enumeration but is the minimum to ``argmin``: then the candidates are walked in order.
    A third of the general enumeration's tensor operations and half of a walk's, which counts
    at a dozen members per call, where each operation's fixed cost is most of its time
    (UPGrad and DualProj in ``bench/bench_tuned.py``'s face-off).
    """
    diag = G.diagonal(dim1=-2, dim2=-1).unsqueeze(-2)  # [..., 1, 2]
    Gu = U @ G  # [..., M, 2]: column j is G_j . u
    positive = diag > 0
    free = torch.where(positive, -(Gu - diag * U) / torch.where(positive, diag, 1.0), U)
    u = U.unsqueeze(-2)  # [..., M, 1, 2]
    one_free = torch.where(
        _ONE_FREE.to(U.device), free.unsqueeze(-2), u
    )  # [..., M, 2, 2]: v_0, v_1 free
    cands = torch.maximum(torch.cat((one_free, torch.zeros_like(u)), dim=-2), u)  # feasible
    every = torch.cat((u, cands), dim=-2)  # [..., M, 4, 2]: u, v_0 free, v_1 free, 0
    objs = ((every @ G.unsqueeze(-3)) * every).sum(-1)  # [..., M, 4]
    if bool(objs.isnan().any()):
        best, best_obj = U, objs[..., 0]
        for i in range(1, 4):
            better = objs[..., i] < best_obj
            best = torch.where(better.unsqueeze(-1), every[..., i, :], best)
            best_obj = torch.where(better, objs[..., i], best_obj)
        return best
    first = objs.argmin(-1, keepdim=True).unsqueeze(-1)  # [..., M, 1, 1]
    return every.gather(-2, first.expand(*first.shape[:-1], 2)).squeeze(-2)


def _fista(U: torch.Tensor, G: torch.Tensor, iterations: int) -> torch.Tensor:
    """``argmin_{v >= u} v^T G v`` by accelerated projected gradient (``G`` trace-normalised)."""
    step = 0.5  # 1 / L with L = 2 lambda_max(G) <= 2 trace(G) = 2
    v = U.clone()
    y = v
    t = 1.0
    for _ in range(iterations):
        v_next = torch.maximum(y - step * 2 * (y @ G), U)
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        y = v_next + ((t - 1) / t_next) * (v_next - v)
        v, t = v_next, t_next
    return v


def upgrad_weights(grads: torch.Tensor, gram: torch.Tensor | None = None) -> torch.Tensor:
    """UPGrad weights: ``grads [..., T, P] -> weights [..., T]`` (see the module docstring).

    ``gram``: ``[..., T, T]`` float64 ``grads @ grads^T`` if already computed.
    """
    G = gram if gram is not None else gram_matrix(grads)
    T = G.shape[-1]
    eye = torch.eye(T, dtype=G.dtype, device=G.device) / T
    return project_dual_cone(eye, G).sum(-2).to(grads.dtype)


class UPGrad(WeightingMethod):
    """UPGrad (Quinton & Rey, 2024): the mean of the gradients' projections onto the dual cone."""

    name = "upgrad"
    label = "UPGrad"
    citation = (
        "Quinton & Rey (2024), Jacobian Descent for Multi-Objective Optimization, "
        "arXiv:2406.16232 (TorchJD)."
    )
    kind = "gradient"
    combines = "gradients"
    hparams: ClassVar[tuple[HParam, ...]] = ()
    explanation = (
        "UPGrad looks for steps that make no task worse. The set of such directions is a cone "
        "(every direction with a non-negative dot product with every task gradient). UPGrad moves "
        "each task's gradient to the nearest direction in that cone and averages the results. "
        "Without conflict it is the plain mean; with conflict it removes just enough of each "
        "gradient that no task's loss goes up."
    )
    formula = (
        r"d = \frac{1}{T} \sum_i \pi_C(g_i), \quad C = \{x : x \cdot g_t \ge 0\ \forall t\},"
        r" \quad \pi_C(J^\top u) = J^\top \arg\min_{v \ge u} v^\top J J^\top v"
    )

    @classmethod
    def from_grads(
        cls, grads: torch.Tensor, gram: torch.Tensor | None = None, **hparams: Any
    ) -> torch.Tensor:
        """UPGrad weights ``[..., T]`` from ``grads [..., T, P]`` (and their Gram, if known)."""
        cls.check_params(hparams)
        return upgrad_weights(grads, gram)
