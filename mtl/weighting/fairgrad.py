"""FairGrad: alpha-fair allocation of the update's improvement among the tasks.

Ban, H. & Ji, K. (2024). *Fair Resource Allocation in Multi-Task Learning*. ICML 2024
(arXiv:2402.15638); official code github.com/OptMN-Lab/fairgrad, also in LibMTL (``FairGrad``).

Each task's first-order improvement along ``d = sum_t w_t g_t`` is ``g_t . d = (G w)_t`` with
``G = J J^T`` the Gram matrix. FairGrad picks ``d`` maximising the alpha-fair utility
``sum_t u_alpha(g_t . d)`` of these improvements under a norm budget, whose optimality condition
is, for weights ``w > 0`` (elementwise)::

    G w = w^(-1/alpha)                    [K, T]

``alpha = 1`` is proportional fairness (Nash-MTL's ``G w = 1/w``, without its normalisation);
``alpha -> inf`` tends to max-min fairness; ``alpha -> 0`` to plain utilitarian averaging. The
weights multiply the losses (the official code and LibMTL call ``backward()`` on ``sum_t w_t L_t``),
so the heads are scaled too (``combines = "losses"``). The weights are not scale-invariant: scaling
every gradient by ``s`` scales them by ``s^(-2 alpha / (1 + alpha))``.

Solver. The official code and LibMTL call ``scipy.optimize.least_squares`` on the residual
``G w - w^(-1/alpha)`` from ``w = 1/T`` with ``w >= 0``. We solve the same equation as the
minimum of the strictly convex ``f(w) = w^T G w / 2 - sum_t h(w_t)`` with ``h' = w^(-1/alpha)``
(``h = log`` for ``alpha = 1``), by damped Newton steps batched over all members (no per-member
solver), with a fraction-to-boundary rule keeping ``w > 0`` and Armijo backtracking, until every
member's Newton decrement is negligible or, near Pareto stationarity where the Hessian is
ill-conditioned, stalls above that threshold while ``f`` no longer decreases (the optimum to
rounding). The start is ``w_t = (G_tt (1 + cos))^(-1/(1 + p))`` for
two tasks, which is the exact solution for ``alpha = 1`` (Nash-MTL's closed form) and for equal
norms, so those need no step and others a few (for two tasks and ``alpha = 1`` it is
returned as it is: Newton from it would only move it by rounding); ``w_t = G_tt^(-1/(1 + p))``
for more tasks (exact for orthogonal gradients). The 2 x 2 Newton systems are solved in closed
form. For stability the matrix is first divided by its mean diagonal ``s`` (the solution
scales back by ``s^(-1/(1 + p))``, ``p = 1/alpha``) and a ridge ``1e-12 I`` is added, so a
solution always exists.

Degenerate cases, where the equation has no positive solution: a task whose shared gradient is
zero (``G_tt <= 1e-20 max_s G_ss``) is solved as if its gradient were orthogonal to the others
with the mean size (its weight then only scales its own head); all gradients zero gives weights
1. When zero is a convex combination of the gradients (opposite gradients, within about 0.01
degree for two tasks of similar size) the equation has no positive solution: no direction
improves every task, the point is Pareto stationary. We detect it (the ridge's share of the
solved equation exceeds ``1e-4``) and return the null combination ``v >= 0``, ``sum_t v_t g_t = 0``
(the smallest eigenvector of ``G``), scaled to sum to ``T``: no step on the shared parameters,
each head still trained.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.limits import Range
from mtl.weighting.base import WeightingMethod
from mtl.weighting.gradient import gram_matrix
from mtl.weighting.hparams import HParam

RIDGE = 1e-12
"""Added to the diagonal of the normalised Gram matrix: a solution always exists."""
STATIONARY = 1e-4
"""The ridge's share of the solved equation above which there is no solution without it."""
ZERO_ROW = 1e-20
"""``G_tt`` below this fraction of the largest diagonal entry: a zero gradient."""
MAX_NEWTON = 100
"""Most Newton steps (reached only in degenerate cases; typical solves take 4 to 8)."""


def _objective(G: torch.Tensor, w: torch.Tensor, p: float) -> torch.Tensor:
    """``f(w) = w^T G w / 2 - sum_t h(w_t)``, ``h' = w^-p``: ``[..., T] -> [...]``."""
    quad = 0.5 * (w * (G @ w.unsqueeze(-1)).squeeze(-1)).sum(-1)
    barrier = w.log() if p == 1.0 else w.pow(1.0 - p) / (1.0 - p)
    return quad - barrier.sum(-1)


def _newton_step(H: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``-H^-1 grad`` for symmetric positive definite ``H [..., T, T]``; explicit for ``T = 2``."""
    if H.shape[-1] != 2:
        step: torch.Tensor = torch.linalg.solve(H, grad)
        return -step
    a, b, d = H[..., 0, 0], H[..., 0, 1], H[..., 1, 1]
    det = a * d - b * b
    x = (d * grad[..., 0] - b * grad[..., 1]) / det
    y = (a * grad[..., 1] - b * grad[..., 0]) / det
    return -torch.stack([x, y], dim=-1)


def _newton(Gn: torch.Tensor, w: torch.Tensor, p: float) -> torch.Tensor:
    """Damped Newton steps on ``f`` from ``w`` ``[..., T]`` for ``Gn w = w^(-p)``, batched."""
    f = _objective(Gn, w, p)
    stalled = torch.zeros(f.shape, dtype=torch.bool, device=f.device)
    previous = torch.full(f.shape, torch.inf, dtype=f.dtype, device=f.device)
    for _ in range(MAX_NEWTON):
        grad = (Gn @ w.unsqueeze(-1)).squeeze(-1) - w.pow(-p)
        step = _newton_step(Gn + torch.diag_embed(p * w.pow(-p - 1.0)), grad)
        decrement = -(grad * step).sum(-1)  # lambda^2 >= 0, twice the estimated suboptimality
        slack = 1e-13 * (1.0 + f.abs())  # rounding in f: near the solution every step passes
        active = (decrement > 1e-20 * (1.0 + f.abs())) & ~stalled
        if not bool(active.any()):
            break
        f_before = f
        shrink = torch.where(step < 0, -0.99 * w / step.clamp_max(-1e-300), torch.inf)
        t = torch.where(active, shrink.amin(-1).clamp_max(1.0), 0.0)
        pending = active
        for _ in range(50):  # Armijo backtracking; only members not yet accepted shrink
            trial = w + t.unsqueeze(-1) * step
            f_trial = _objective(Gn, trial, p)
            ok = f_trial <= f - 0.25 * t * decrement + slack
            accept = pending & ok
            w = torch.where(accept.unsqueeze(-1), trial, w)
            f = torch.where(accept, f_trial, f)
            pending = pending & ~ok
            if not bool(pending.any()):
                break
            t = torch.where(pending, 0.5 * t, t)
        # At the optimum to rounding: the step decreased f by no more than its rounding and the
        # decrement did not even halve (Newton converges quadratically near a well-conditioned
        # optimum). Near Pareto stationarity G is ill-conditioned and the decrement stalls above
        # its threshold: stop such a member rather than take all MAX_NEWTON steps.
        no_progress = f_before - f <= slack
        stalled |= active & no_progress & (decrement > 0.5 * previous)
        previous = torch.where(active, decrement, previous)
    return w


def solve_power_equation(G: torch.Tensor, p: float) -> torch.Tensor:
    """Positive ``w`` with ``G w = w^(-p)``, batched: ``[..., T, T] (float64) -> [..., T]``.

    See the module docstring for the normalisation, the ridge and the degenerate cases.
    """
    T = G.shape[-1]
    G = G.to(torch.float64)
    diag = G.diagonal(dim1=-2, dim2=-1)
    zero = diag <= ZERO_ROW * diag.amax(-1, keepdim=True)  # [..., T], all True if G = 0
    if bool(zero.any()):
        s = torch.where(zero, 0.0, diag).sum(-1) / (~zero).sum(-1).clamp_min(1)
        s = torch.where(s > 0, s, 1.0)  # all-zero gradients: G_n = I below, w = 1
        keep = (~zero).to(G.dtype)
        Gn = (G / s[..., None, None]) * keep.unsqueeze(-1) * keep.unsqueeze(-2)
        Gn = Gn + torch.diag_embed(1.0 - keep + RIDGE)
    else:  # the same values without the masks (multiplying by 1 and adding 0 are exact)
        s = diag.sum(-1) / T
        Gn = G / s[..., None, None] + RIDGE * torch.eye(T, dtype=G.dtype, device=G.device)
    dn = Gn.diagonal(dim1=-2, dim2=-1)
    if T == 2:  # exact for p = 1 and for equal norms: (G_tt (1 + cos))^(-1 / (1 + p))
        cos = Gn[..., 0, 1] / (dn[..., 0] * dn[..., 1]).sqrt()
        w = (dn * (1.0 + cos).clamp_min(1e-3 * RIDGE).unsqueeze(-1)).pow(-1.0 / (1.0 + p))
    else:  # exact for orthogonal gradients
        w = dn.pow(-1.0 / (1.0 + p))
    # Two tasks and p = 1 (Nash-MTL, FairGrad's default alpha = 1): the start is the solution
    # (of the ridged equation: Gn holds the ridge), so Newton would only move it by rounding;
    # where the clamp above bites, 1 + cos < 1e-15 and the member is stationary below anyway.
    if not (T == 2 and p == 1.0):
        w = _newton(Gn, w, p)
    # No positive solution without the ridge: some nonnegative v != 0 has G v = 0, i.e. zero is a
    # convex combination of the gradients (Pareto stationary). Return that null combination.
    stationary = (RIDGE * w.pow(1.0 + p) > STATIONARY).any(-1, keepdim=True)
    w = w * s.unsqueeze(-1).pow(-1.0 / (1.0 + p))
    if not bool(stationary.any()):
        return w
    null = torch.linalg.eigh(Gn).eigenvectors[..., :, 0]  # smallest eigenvalue's eigenvector
    null = (null * torch.where((null * w).sum(-1, keepdim=True) < 0, -1.0, 1.0)).clamp_min(0.0)
    null = T * null / null.sum(-1, keepdim=True).clamp_min(1e-300)
    return torch.where(stationary, null, w)


def fairgrad_weights(
    grads: torch.Tensor, *, alpha: float = 1.0, gram: torch.Tensor | None = None
) -> torch.Tensor:
    """FairGrad weights ``[..., T]``: ``G w = w^(-1/alpha)`` from ``grads [..., T, P]``."""
    G = gram if gram is not None else gram_matrix(grads)
    return solve_power_equation(G, 1.0 / alpha).to(grads.dtype)


class FairGrad(WeightingMethod):
    """FairGrad (Ban & Ji, 2024): alpha-fair improvements, ``G w = w^(-1/alpha)``."""

    name = "fairgrad"
    label = "FairGrad"
    citation = (
        "Ban & Ji (2024), Fair Resource Allocation in Multi-Task Learning, ICML (arXiv:2402.15638)."
    )
    kind = "gradient"
    combines = "losses"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam(
            "alpha",
            1.0,
            label="alpha (fairness)",
            help="How much the update favours the task that improves least. 1 is proportional "
            "fairness (like Nash-MTL); large values approach max-min fairness; small values "
            "approach plain averaging.",
            range=Range(0.0, 10.0, lo_open=True),
        ),
    )
    """``alpha``: the fairness exponent (1.0, LibMTL's default; the paper tunes it per data
    set among values from 0.5 to 10)."""
    explanation = (
        "FairGrad treats each task's improvement in one step as a resource to share fairly. It "
        "picks weights so that the improvement of every task, raised to the power -alpha, is "
        "proportional to that task's weight: with alpha = 1 every task's improvement times its "
        "weight is the same (proportional fairness); larger alpha protects the worst-off task "
        "more. The weights multiply the losses."
    )
    formula = (
        r"G w = w^{-1/\alpha}\ \ (w > 0,\ \text{elementwise}),\qquad "
        r"G_{ts} = g_t \cdot g_s,\qquad d = \sum_t w_t\, g_t"
    )

    @classmethod
    def from_grads(
        cls, grads: torch.Tensor, gram: torch.Tensor | None = None, **hparams: Any
    ) -> torch.Tensor:
        """FairGrad weights ``[..., T]`` from ``grads [..., T, P]`` (and their Gram, if known)."""
        return fairgrad_weights(grads, alpha=cls.resolve_params(hparams)["alpha"], gram=gram)
