"""CAGrad: the best worst-task improvement within a ball around the average gradient.

Liu, B., Liu, X., Jin, X., Stone, P. & Liu, Q. (2021). *Conflict-Averse Gradient Descent for
Multi-task Learning*. NeurIPS 2021 (arXiv:2110.14048), Algorithm 1.

Update rule, for per-task gradients ``g_1 .. g_T`` on the shared parameters and ``c >= 0``::

    g_0 = (1/T) sum_t g_t                  average gradient
    phi = c^2 |g_0|^2                      radius^2 of the ball around g_0
    w*  = argmin_{w in simplex}  g_w . g_0 + sqrt(phi) |g_w|,     g_w = sum_t w_t g_t
    d   = g_0 + (sqrt(phi) / |g_w*|) g_w*

This is the dual of ``max_{|d - g_0| <= sqrt(phi)} min_t g_t . d``: the direction in the ball that
most improves the worst task. ``c = 0`` is plain averaging (``d = g_0``); large ``c`` approaches
MGDA. The paper proves convergence to a stationary point of the average loss for ``0 <= c < 1``.

As weights on the original gradients, ``d = sum_t w_t g_t`` with

    w_t = 1/T + (sqrt(phi) / |g_w*|) w*_t.

Rescaling (``rescale``, the official code's ``rescale`` 0/1/2, as named choices in that order):
``"none"`` (our default) returns the paper's ``d``; ``"one_plus_c2"`` divides it by ``1 + c^2``
(the official code's default, ``rescale=1``) and ``"one_plus_c"`` by ``1 + c`` (``rescale=2``).
Rescaling only changes the step's length, not its direction. With ``"none"``,
``ours = official * (1 + c^2)``. TorchJD's ``CAGradWeighting``
(0.18) does not rescale either and computes the same weights: it normalises the Gram matrix by its
trace (``|J|_F^2``) first, which leaves ``w`` unchanged because ``sqrt(phi) / |g_w|`` is
scale-free. (Read from its source: its solver needs the optional cvxpy and clarabel, so the
comparison test is skipped where they are not installed.) The two differ only in the degenerate
case below and in TorchJD treating a whole gradient matrix with ``|J|_F^2 < 1e-4`` as zero (an
absolute threshold).

Degenerate case ``g_w* ~ 0`` (``|g_w*| <= eps |J|_F`` with ``eps = 1e-6``, and
``sqrt(phi) > 0``; with ``sqrt(phi) = 0`` the weights are ``1/T`` whatever ``g_w*``):
``0`` lies in the convex hull, the optimal worst-task improvement is 0 and ``g_w* / |g_w*|`` is
undefined. If ``g_0`` conflicts with no task (``g_0 . g_t >= 0`` for all ``t``, e.g. when one task's
gradient is zero) ``g_0`` itself is optimal and we return ``w = 1/T`` (what the official code's
``g_0 + c / (|g_w| + 1e-8) g_w`` gives for ``g_w = 0``); otherwise we return zeros (``d = 0``: no
step on the shared parameters), which is TorchJD's choice in every degenerate case. Why
``1e-6``: ``|g_w|^2 = w^T G w`` is formed in float64 with a rounding error of a few ``u trace G``
(``u = 1.1e-16``), so its root is noise below ``~3e-8 |J|_F``; ``1e-6`` keeps a 30x margin above
that floor and still treats as real a task gradient ``10^4`` times smaller than another (with
TorchJD's ``1e-4``, ``g_1 = (1, 0)``, ``g_2 = (0, 10^4)`` counted as degenerate and returned
``d = g_0``, missing the paper's ``d = g_0 + c |g_0| g_1``).

Solvers, in Gram form only (``G = grads grads^T``; ``g_w . g_0 = (G 1/T) . w``,
``|g_w|^2 = w^T G w``, ``|g_0|^2 = 1^T G 1 / T^2``):

* ``T = 2``: exact. With ``w = (a, 1 - a)`` the objective is
  ``f(a) = const + q a + r sqrt(A a^2 + 2 B a + C)``, convex in ``a``, with
  ``A = |g_1 - g_2|^2``, ``B = (g_1 - g_2) . g_2``, ``C = |g_2|^2``, ``q = (|g_1|^2 - |g_2|^2) / 2``
  and ``r = sqrt(phi)``. Writing ``a = a_0 + x`` with ``a_0 = -B / A`` and ``m = C - B^2 / A`` (the
  squared distance from 0 to the line through ``g_1, g_2``), ``f'(a) = 0`` gives
  ``x = -q sqrt(m / (A (r^2 A - q^2)))`` when ``r^2 A > q^2``; otherwise ``f`` is monotone and the
  minimum is the endpoint ``a = 1`` if ``q < 0``, ``a = 0`` if ``q > 0``. Then ``a`` is clamped to
  ``[0, 1]``.
* ``T > 2``: projected gradient descent on the simplex from uniform weights, with a per-element
  step size adapted by a sufficient-decrease test (grown by 1.5 on success up to a cap, halved on
  failure), vectorised over the batch. The test is evaluated without differencing two values of
  ``f`` (which is rounding noise once the steps are below ``~sqrt(u)``), so the descent goes on
  to rounding level. It stops when every element's Frank-Wolfe gap
  ``gap(w) = grad f(w) . w - min_t grad f(w)_t`` is at most ``1e-13 trace G`` (at most 500
  iterations, the ``iterations`` argument; typically 10 to 150). The gap is a certificate:
  ``f(w) - f(w*) <= gap(w)`` by convexity, and since ``f`` is ``b . w`` plus a positively
  homogeneous term, ``grad f(w) . w = f(w)`` and ``grad f(w)_t = g_t . d``: the gap is exactly
  how far the worst-task improvement ``min_t g_t . d`` of the returned direction falls short of
  the inner value ``f(w)`` (zero at the optimum, by strong duality). Where ``g_w* = 0`` (``f`` is
  not differentiable there, the degenerate case below) the gap need not vanish and the solver
  runs its 500 iterations; there (``c >= 1`` with collinear gradients, in tests only) the exact
  test can stall short of the kink, so such elements also run 500 steps of the same descent
  with the decrease test on differenced values of ``f`` (whose rounding slack crosses it) and
  keep whichever answer has the lower ``f``: never worse than that value-based solver alone.

Shapes: ``grads [..., T, P] -> weights [..., T]``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.limits import Range
from mtl.weighting.base import WeightingMethod
from mtl.weighting.gradient import gram_matrix
from mtl.weighting.hparams import HParam

_REL_TOL = 1e-12
"""Relative size (to ``trace G``) below which a squared distance counts as zero."""

_GAP_TOL = 1e-13
"""The ``T > 2`` solver stops when its Frank-Wolfe gap is at most this times ``trace G``."""

RESCALES: tuple[str, ...] = ("none", "one_plus_c2", "one_plus_c")
"""``rescale`` values, in the order of the official code's codes 0, 1, 2."""


def project_simplex(v: torch.Tensor) -> torch.Tensor:
    """Euclidean projection of each ``[..., T]`` row onto the probability simplex (sort-based)."""
    T = v.shape[-1]
    u = v.sort(-1, descending=True).values
    css = u.cumsum(-1) - 1.0
    ks = torch.arange(1, T + 1, dtype=v.dtype, device=v.device)
    rho = (u - css / ks > 0).sum(-1, keepdim=True).clamp_min(1)  # support size
    theta = css.gather(-1, rho - 1) / rho.to(v.dtype)
    return (v - theta).clamp_min(0.0)


def _solve_two(G: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Exact inner minimiser for ``T = 2``: ``[..., 2, 2], [...] -> [..., 2]``."""
    # Notation of the module docstring: A -> quad, B -> lin, C -> g22.
    g11, g12, g22 = G[..., 0, 0], G[..., 0, 1], G[..., 1, 1]
    quad = g11 + g22 - 2 * g12  # |g1 - g2|^2
    lin = g12 - g22  # (g1 - g2) . g2
    q = (g11 - g22) / 2  # (g1 - g2) . g0
    distinct = quad > _REL_TOL * (g11 + g22)
    quad_safe = torch.where(distinct, quad, 1.0)
    a0 = -lin / quad_safe
    m = (g22 - lin * lin / quad_safe).clamp_min(0.0)
    s = r * r * quad - q * q
    interior = s > 0
    x = -q * torch.sqrt(m / (quad_safe * torch.where(interior, s, 1.0)))
    endpoint = torch.where(q < 0, 1.0, torch.where(q > 0, 0.0, 0.5)).to(G.dtype)
    a = torch.where(interior, a0 + x, endpoint).clamp(0.0, 1.0)
    a = torch.where(distinct, a, 0.5)  # identical gradients: every a gives the same g_w
    return torch.stack([a, 1.0 - a], dim=-1)


def _objective(G: torch.Tensor, b: torch.Tensor, r: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``f(w) = b . w + r sqrt(w^T G w)``: ``[..., T, T], [..., T], [...], [..., T] -> [...]``."""
    quad = (w.unsqueeze(-2) @ G @ w.unsqueeze(-1)).squeeze(-1).squeeze(-1)
    return (b * w).sum(-1) + r * quad.clamp_min(0.0).sqrt()


def _solve_pgd(
    G: torch.Tensor, b: torch.Tensor, r: torch.Tensor, iterations: int, tol: float = _GAP_TOL
) -> torch.Tensor:
    """Inner minimiser for any ``T`` by adaptive projected gradient descent: ``[..., T]``.

    :func:`_descend` stops at the first iteration where every element's Frank-Wolfe gap is at
    most ``tol trace G`` (see the module docstring), or after ``iterations`` steps. Where it ends
    without that certificate (a kink at ``g_w* = 0``, where its exact decrease test can stall
    short of the optimum), the elements take the better, by ``f``, of its answer and that of
    :func:`_descend_by_values`, the decrease test on differenced values of ``f`` (whose rounding
    slack lets it cross the kink).
    """
    w, converged = _descend(G, b, r, iterations, tol)
    if bool(converged.all()):
        return w
    by_values = _descend_by_values(G, b, r, iterations)
    better = _objective(G, b, r, by_values) < _objective(G, b, r, w)
    return torch.where((better & ~converged).unsqueeze(-1), by_values, w)


def _descend_by_values(
    G: torch.Tensor, b: torch.Tensor, r: torch.Tensor, iterations: int
) -> torch.Tensor:
    """Adaptive projected gradient descent whose decrease test differences two values of ``f``.

    Accurate to about ``1e-8`` (relative) away from kinks, where the differenced values are
    rounding noise; at a kink that noise lets it cross where :func:`_descend` stalls.
    ``iterations`` steps, always. ``[..., T]``.
    """
    T = G.shape[-1]
    w = torch.full(G.shape[:-1], 1.0 / T, dtype=G.dtype, device=G.device)
    trace = G.diagonal(dim1=-2, dim2=-1).sum(-1)
    scale = torch.where(trace > 0, trace, 1.0)
    step = (1.0 / scale).unsqueeze(-1)  # [..., 1]; 1 / trace G <= 1 / lambda_max(G)
    max_step = (1e6 / scale).unsqueeze(-1)  # growth stops here (a vertex accepts every step)
    f = _objective(G, b, r, w)
    for _ in range(iterations):
        Gw = (G @ w.unsqueeze(-1)).squeeze(-1)
        norm = (w * Gw).sum(-1).clamp_min(0.0).sqrt()
        safe = torch.where(norm > 0, norm, 1.0)
        grad = b + (r / safe).unsqueeze(-1) * Gw
        trial = project_simplex(w - step * grad)
        f_trial = _objective(G, b, r, trial)
        delta = trial - w
        bound = f + (grad * delta).sum(-1) + (delta * delta).sum(-1) / (2 * step.squeeze(-1))
        accept = f_trial <= bound + 1e-15 * scale
        w = torch.where(accept.unsqueeze(-1), trial, w)
        f = torch.where(accept, f_trial, f)
        step = torch.minimum(step * torch.where(accept, 1.5, 0.5).unsqueeze(-1), max_step)
    return w


def _descend(
    G: torch.Tensor, b: torch.Tensor, r: torch.Tensor, iterations: int, tol: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Adaptive projected gradient descent with an exact decrease test and a gap certificate.

    Returns the weights ``[..., T]`` and whether each element's Frank-Wolfe gap reached
    ``tol trace G`` ``[...]`` (bool).
    """
    T = G.shape[-1]
    w = torch.full(G.shape[:-1], 1.0 / T, dtype=G.dtype, device=G.device)
    trace = G.diagonal(dim1=-2, dim2=-1).sum(-1)
    scale = torch.where(trace > 0, trace, 1.0)
    step = 1.0 / scale  # [...]; 1 / trace G <= 1 / lambda_max(G)
    max_step = 1e6 / scale  # growth stops here (a vertex accepts every step)
    stop = tol * scale
    Gw = (G @ w.unsqueeze(-1)).squeeze(-1)
    norm = (w * Gw).sum(-1).clamp_min(0.0).sqrt()
    ratio = r.unsqueeze(-1)
    converged = torch.zeros(G.shape[:-2], dtype=torch.bool, device=G.device)
    for i in range(iterations + 1):
        pull = (ratio / torch.where(norm > 0, norm, 1.0).unsqueeze(-1)) * Gw  # r G w / |g_w|
        grad = b + pull
        gap = (grad * w).sum(-1) - grad.amin(-1)  # f(w) - min_t grad_t >= f(w) - f(w*)
        converged = gap <= stop
        if i == iterations or bool(converged.all()):
            break
        trial = project_simplex(w - step.unsqueeze(-1) * grad)
        delta = trial - w
        G_trial = (G @ trial.unsqueeze(-1)).squeeze(-1)
        norm_trial = (trial * G_trial).sum(-1).clamp_min(0.0).sqrt()
        # Sufficient decrease f(trial) <= f(w) + grad . delta + |delta|^2 / (2 step), with
        # f(trial) - f(w) - grad . delta = r (|g_trial| - |g_w|) - pull . delta (b . delta
        # cancels) and |g_trial| - |g_w| = delta . (G w + G trial) / (|g_trial| + |g_w|): every
        # term is O(|delta|), so the test stays exact to rounding however small the step, where
        # differencing two values of f is noise below |delta| ~ sqrt(u) and stalls the descent.
        both = norm_trial + norm
        dnorm = (delta * (Gw + G_trial)).sum(-1) / torch.where(both > 0, both, 1.0)
        excess = r * dnorm - ((pull + (0.5 / step).unsqueeze(-1) * delta) * delta).sum(-1)
        accept = excess <= 0
        w = torch.where(accept.unsqueeze(-1), trial, w)
        Gw = torch.where(accept.unsqueeze(-1), G_trial, Gw)
        norm = torch.where(accept, norm_trial, norm)
        step = torch.minimum(step * torch.where(accept, 1.5, 0.5), max_step)
    return w, converged


def cagrad_weights(
    grads: torch.Tensor,
    *,
    c: float = 0.5,
    iterations: int = 500,
    eps: float = 1e-6,
    gram: torch.Tensor | None = None,
    rescale: str = "none",
) -> torch.Tensor:
    """CAGrad weights: ``grads [..., T, P] -> weights [..., T]`` (see the module docstring).

    Args:
        grads: ``[..., T, P]`` per-task gradients.
        c: radius of the ball around the average gradient, relative to its norm (paper: 0.5).
        iterations: at most this many projected-gradient steps of the inner solver for
            ``T > 2`` (it stops earlier once converged; see the module docstring).
        eps: ``|g_w*| <= eps |J|_F`` counts as zero (the degenerate case; see the module docs).
        gram: ``[..., T, T]`` float64 ``grads @ grads^T`` if already computed.
        rescale: ``"none"`` (the paper's ``d``), ``"one_plus_c2"`` (divide by ``1 + c^2``, the
            official code's default) or ``"one_plus_c"`` (divide by ``1 + c``).

    Returns:
        ``[..., T]`` weights in ``grads``' dtype.
    """
    if not c >= 0:
        raise ValueError(f"c must be non-negative, got {c!r}")
    if rescale not in RESCALES:
        raise ValueError(f"rescale must be one of {RESCALES}, got {rescale!r}")
    divisor = {"none": 1.0, "one_plus_c2": 1.0 + c * c, "one_plus_c": 1.0 + c}[rescale]
    G = gram if gram is not None else gram_matrix(grads)
    T = G.shape[-1]
    b = G.mean(-1)  # b_t = g_t . g_0
    r = c * b.mean(-1).clamp_min(0.0).sqrt()  # sqrt(phi) = c |g_0|
    w = _solve_two(G, r) if T == 2 else _solve_pgd(G, b, r, iterations)
    gw = (w.unsqueeze(-2) @ G @ w.unsqueeze(-1)).squeeze(-1).squeeze(-1).clamp_min(0.0).sqrt()
    frob = G.diagonal(dim1=-2, dim2=-1).sum(-1).clamp_min(0.0).sqrt()
    ok = (gw > eps * frob) | (r == 0)  # r = 0 (c = 0 or g_0 = 0): no correction term at all
    uniform = torch.full_like(w, 1.0 / T)
    weights = uniform + (r / torch.where(gw > 0, gw, 1.0)).unsqueeze(-1) * w
    no_conflict = (b >= -_REL_TOL * frob.square().unsqueeze(-1)).all(-1)
    fallback = torch.where(no_conflict.unsqueeze(-1), uniform, torch.zeros_like(w))
    return (torch.where(ok.unsqueeze(-1), weights, fallback) / divisor).to(grads.dtype)


class CAGrad(WeightingMethod):
    """CAGrad (Liu et al., 2021): maximise the worst task's improvement near the mean gradient."""

    name = "cagrad"
    step_cost = 212e-6
    label = "CAGrad"
    citation = (
        "Liu, Liu, Jin, Stone & Liu (2021), Conflict-Averse Gradient Descent for Multi-task "
        "Learning, NeurIPS (arXiv:2110.14048)."
    )
    kind = "gradient"
    combines = "gradients"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam(
            "c",
            0.5,
            label="c (ball radius)",
            help="Radius of the ball around the average gradient, relative to its length. 0 is "
            "plain averaging; larger values favour the worst-off task more (below 1 is the "
            "paper's convergent regime).",
            range=Range(0.0, 2.0),
        ),
        HParam(
            "rescale",
            "none",
            label="Rescale the step",
            help="Divide the update by 1 + c squared (the official code's default) or by 1 + c, "
            "which keeps its length near the average gradient's; the paper's form does not.",
            choices=RESCALES,
            choice_labels=("none (the paper)", "divide by 1 + c^2", "divide by 1 + c"),
        ),
    )
    """``c``: ball radius relative to ``|g_0|``. ``[0, 1)`` is the paper's convergent regime
    (default 0.5); up to 2 lets the page show the MGDA-like regime."""
    explanation = (
        "CAGrad starts from the average gradient and looks, within a ball of radius c times its "
        "length, for the direction that most improves the task that would improve least. With "
        "c = 0 it is plain averaging; larger c trades average progress for protecting the worst "
        "task, approaching MGDA."
    )
    formula = (
        r"d = \arg\max_{\lVert d - g_0 \rVert \le c \lVert g_0 \rVert} \min_t\, g_t \cdot d,"
        r" \qquad g_0 = \frac{1}{T} \sum_t g_t"
    )

    @classmethod
    def from_grads(
        cls, grads: torch.Tensor, gram: torch.Tensor | None = None, **hparams: Any
    ) -> torch.Tensor:
        """CAGrad weights ``[..., T]`` from ``grads [..., T, P]`` (and their Gram, if known)."""
        params = cls.resolve_params(hparams)
        return cagrad_weights(grads, c=params["c"], gram=gram, rescale=params["rescale"])
