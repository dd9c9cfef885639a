"""MGDA: the min-norm point of the convex hull of the task gradients.

Sener, O. & Koltun, V. (2018). *Multi-Task Learning as Multi-Objective Optimization*. NeurIPS 2018
(arXiv:1810.04650). It applies the multiple-gradient descent algorithm of Désidéri (2012) to deep
multi-task learning.

Update rule, for per-task gradients ``g_1 .. g_T`` on the shared parameters::

    w* = argmin_{w in simplex} | sum_t w_t g_t |^2        (simplex: w_t >= 0, sum_t w_t = 1)
    d  = sum_t w*_t g_t

``d`` is the min-norm element of ``conv{g_t}``. Either ``d = 0`` (the point is Pareto-stationary:
no direction decreases every loss) or ``-d`` decreases every task loss: ``d . g_t >= |d|^2 > 0`` for
every ``t``, with equality for every task that carries weight (so at an interior solution all
projections are equal, ``d . g_t = |d|^2``).

Solvers (Gram form, ``G = grads grads^T``, ``|g_w|^2 = w^T G w``):

* ``T = 2``: the closed form of the paper's Algorithm 1,
  ``gamma = clamp(((g_2 - g_1) . g_2) / |g_1 - g_2|^2, 0, 1)``, ``w = (gamma, 1 - gamma)``;
  identical gradients (``|g_1 - g_2| = 0``: every ``gamma`` gives the same ``d``) get
  ``(1/2, 1/2)``.
* ``2 < T <= 6``: exact, by enumerating the faces of the simplex (the KKT system of each face,
  at most 63 tiny solves): Frank-Wolfe can zig-zag between tied vertices, e.g. when one task's
  gradient is zero and the optimum is exactly 0.
* ``T > 6``: Frank-Wolfe from uniform weights, as in the paper's Algorithm 2, but in its *pairwise*
  form (Lacoste-Julien & Jaggi, 2015): each step moves weight from the worst task still carrying
  weight (largest ``(G w)_t``) to the Frank-Wolfe vertex (smallest ``(G w)_t``) with the exact line
  search. The same vertices and line search as the paper, but linearly convergent on the simplex
  where plain Frank-Wolfe converges as ``O(1/k)``. At most ``iterations`` steps (default 1000),
  vectorised over the batch, stopping early once every batch element is optimal to rounding
  (typically after a few dozen steps). When 0 is in or very near the hull (Pareto-stationary
  points, e.g. more tasks than parameter dimensions) convergence is slow and ``|d|`` may remain
  around ``1e-2 |g|`` instead of 0.

Normalisation (``normalize``, the official code's ``normalization_type``: ``l2``, ``loss``,
``loss+``, ``none``): each gradient is divided by a positive ``n_t`` before the min-norm problem,
``u_t = g_t / n_t``, and the weights are returned *on the original gradients*, ``w_t / n_t``, so the
direction is the min-norm point of ``conv{u_t}`` (what LibMTL does for ``l2``). They then no longer
sum to one. (The official code instead applies the normalised solution to the raw losses.)

* ``"none"``: ``n_t = 1``, the paper's formulation (our default);
* ``"l2"``: ``n_t = |g_t|``, unit gradients, which ignores how large each task's gradient is;
* ``"loss"``: ``n_t = L_t``, the gradient of ``log L_t`` (a task close to its minimum counts as
  much as one far from it in relative terms);
* ``"loss+"``: ``n_t = L_t |g_t|`` (the official code's default in its configurations).

``loss`` and ``loss+`` need this step's losses (:meth:`MGDA.weights` receives them; the pure
function takes ``losses=``). A zero ``n_t`` (a zero gradient or loss) or a non-finite one leaves
that task undivided: its direction is zero or undefined whatever the weight.

MGDA-UB (the paper's upper bound, ``upper_bound=True``): the same min-norm problem for the gradients
with respect to the shared representation ``Z`` (the shared layers' output over the batch)
instead of the shared parameters; the weights then combine the parameter gradients as usual. The
engine passes representation gradients to a method whose ``gradients_of`` is
``"representation"``.

Shapes: ``grads [..., T, P] -> weights [..., T]``, vectorised over leading dimensions.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.weighting.base import MethodContext, WeightingMethod
from mtl.weighting.gradient import gram_entry, gram_matrix
from mtl.weighting.hparams import HParam

_REL_TOL = 1e-12
"""Relative size (to ``trace G``) below which a squared distance counts as zero."""


def min_norm_weights(G: torch.Tensor, iterations: int = 1000) -> torch.Tensor:
    """Simplex weights of the min-norm point of ``conv{g_t}``, from the Gram matrix.

    Args:
        G: ``[..., T, T]`` Gram matrix (symmetric positive semi-definite).
        iterations: pairwise Frank-Wolfe steps for ``T > 2`` (unused for ``T <= 2``).

    Returns:
        ``[..., T]`` weights on the simplex, ``G``'s dtype.
    """
    T = G.shape[-1]
    if T == 1:
        return torch.ones(G.shape[:-1], dtype=G.dtype, device=G.device)
    if T == 2:
        g11, g12, g22 = G[..., 0, 0], G[..., 0, 1], G[..., 1, 1]
        den = g11 + g22 - 2 * g12  # |g1 - g2|^2
        num = g22 - g12  # (g2 - g1) . g2
        distinct = den > _REL_TOL * (g11 + g22)
        gamma = torch.where(distinct, num / torch.where(distinct, den, 1.0), 0.5).clamp(0.0, 1.0)
        return torch.stack([gamma, 1.0 - gamma], dim=-1)
    if T <= _MAX_ENUMERATED_TASKS:
        return _best_support(G)
    return _pairwise_frank_wolfe(G, iterations)


_MAX_ENUMERATED_TASKS = 6
"""Up to this many tasks the exact support enumeration (at most 63 tiny solves) is used."""


def _best_support(G: torch.Tensor) -> torch.Tensor:
    """Exact min-norm weights by enumerating supports: ``G [..., T, T] -> [..., T]``.

    The optimum is the minimiser of ``w^T G w`` over the face of the simplex spanned by its
    support S, where the KKT conditions ``G_S w_S + lambda 1 = 0, 1^T w_S = 1`` hold. Solving them
    for every non-empty S (a pseudo-inverse copes with singular faces, e.g. a zero or repeated
    gradient), keeping the non-negative solutions and taking the one of least norm is exact and
    finite, where Frank-Wolfe can zig-zag between tied vertices for a long time. The systems of
    the supports of one size are solved in one batched call; the choice then visits the supports
    in the order of their bit masks (the first of two within ``1e-15 trace G`` wins).
    """
    T = G.shape[-1]
    batch = G.shape[:-2]
    scale = G.diagonal(dim1=-2, dim2=-1).sum(-1, keepdim=True).clamp_min(1e-300)
    masks: list[int] = []
    weights: list[torch.Tensor] = []  # per support size: [..., n_size, T]
    feasibles: list[torch.Tensor] = []  # per support size: [..., n_size]
    for m in range(1, T + 1):
        group = [mask for mask in range(1, 2**T) if mask.bit_count() == m]
        idx = torch.tensor(
            [[t for t in range(T) if mask >> t & 1] for mask in group], device=G.device
        )  # [n, m]
        n = len(group)
        G_S = G[..., idx.unsqueeze(-1), idx.unsqueeze(-2)] / scale.unsqueeze(-1).unsqueeze(-1)
        kkt = torch.zeros((*batch, n, m + 1, m + 1), dtype=G.dtype, device=G.device)
        kkt[..., :m, :m] = G_S
        kkt[..., :m, m] = 1.0
        kkt[..., m, :m] = 1.0
        rhs = torch.zeros((m + 1, 1), dtype=G.dtype, device=G.device)
        rhs[m] = 1.0
        w_S = (torch.linalg.pinv(kkt) @ rhs)[..., :m, 0]  # [..., n, m]
        feasibles.append((w_S >= -1e-9).all(-1) & ((w_S.sum(-1) - 1).abs() < 1e-6))
        w_S = w_S.clamp_min(0.0)
        w_S = w_S / w_S.sum(-1, keepdim=True).clamp_min(1e-300)
        zeros = torch.zeros((*batch, n, T), dtype=G.dtype, device=G.device)
        weights.append(zeros.scatter(-1, idx.expand(*batch, n, m), w_S))
        masks += group
    order = sorted(range(len(masks)), key=masks.__getitem__)
    w_all = torch.cat(weights, -2)[..., order, :]  # [..., 2^T - 1, T], in mask order
    feasible = torch.cat(feasibles, -1)[..., order]
    obj = (w_all.unsqueeze(-2) @ G.unsqueeze(-3) @ w_all.unsqueeze(-1)).squeeze(-1).squeeze(-1)
    tie = 1e-15 * scale.squeeze(-1)
    best = torch.full(batch, -1, dtype=torch.long, device=G.device)
    best_obj = torch.full(batch, torch.inf, dtype=G.dtype, device=G.device)
    for i in range(len(masks)):
        better = feasible[..., i] & (obj[..., i] < best_obj - tie)
        best_obj = torch.where(better, obj[..., i], best_obj)
        best = torch.where(better, i, best)
    chosen = w_all.gather(-2, best.clamp_min(0)[..., None, None].expand(*batch, 1, T))
    uniform = torch.full((*batch, T), 1.0 / T, dtype=G.dtype, device=G.device)
    return torch.where((best >= 0).unsqueeze(-1), chosen.squeeze(-2), uniform)


def _pairwise_frank_wolfe(G: torch.Tensor, iterations: int) -> torch.Tensor:
    """Pairwise Frank-Wolfe for ``min_{w in simplex} w^T G w`` from uniform weights: ``[..., T]``.

    Stops early, for the whole batch at once, when every element's pairwise gap
    ``(G w)_away - (G w)_fw`` (zero exactly at the optimum) is below ``1e-13 trace G``.
    """
    T = G.shape[-1]
    w = torch.full(G.shape[:-1], 1.0 / T, dtype=G.dtype, device=G.device)
    trace = G.diagonal(dim1=-2, dim2=-1).sum(-1)
    tiny = _REL_TOL * trace
    for it in range(iterations):
        Gw = (G @ w.unsqueeze(-1)).squeeze(-1)  # (G w)_t = g_t . g_w, half the gradient
        s = Gw.argmin(-1)  # Frank-Wolfe vertex: the task the current d helps least
        v = torch.where(w > 0, Gw, -torch.inf).argmax(-1)  # away vertex among the active tasks
        gap = Gw.gather(-1, v[..., None]).squeeze(-1) - Gw.gather(-1, s[..., None]).squeeze(-1)
        if it % 10 == 0 and bool((gap <= 1e-13 * trace).all()):
            break
        # |g_s - g_v|^2: curvature of |g_w + gamma (g_s - g_v)|^2 along the pairwise direction
        curv = gram_entry(G, s, s) + gram_entry(G, v, v) - 2 * gram_entry(G, s, v)
        move = curv > tiny
        gamma = torch.where(move, gap / torch.where(move, curv, 1.0), 0.0)
        gamma = torch.minimum(gamma.clamp_min(0.0), w.gather(-1, v[..., None]).squeeze(-1))
        w = w.scatter_add(-1, s[..., None], gamma[..., None])
        w = w.scatter_add(-1, v[..., None], -gamma[..., None])
        w = w.clamp_min(0.0)  # the away vertex may land on -1e-17 instead of 0
    return w / w.sum(-1, keepdim=True)


NORMALIZATIONS: tuple[str, ...] = ("none", "l2", "loss", "loss+")
"""``normalize`` values, in the order of the old numeric codes (0 none, 1 l2); ``loss`` and
``loss+`` came later and never had codes."""

LOSS_NORMALIZATIONS: frozenset[str] = frozenset({"loss", "loss+"})
"""The normalisations that read the task losses."""


def mgda_weights(
    grads: torch.Tensor,
    *,
    normalize: str = "none",
    iterations: int = 1000,
    gram: torch.Tensor | None = None,
    losses: torch.Tensor | None = None,
) -> torch.Tensor:
    """MGDA weights: ``grads [..., T, P] -> weights [..., T]`` (see the module docstring).

    Args:
        grads: ``[..., T, P]`` per-task gradients.
        normalize: ``"none"`` (the weights lie on the simplex); ``"l2"``, ``"loss"``,
            ``"loss+"``: solve for ``g_t / n_t`` with ``n_t`` = ``|g_t|``, ``L_t``, ``L_t |g_t|``
            and return the weights on the original gradients, ``w_t / n_t``.
        iterations: Frank-Wolfe steps for ``T > 2``.
        gram: ``[..., T, T]`` float64 ``grads @ grads^T`` if already computed.
        losses: ``[..., T]`` this step's task losses, required by ``"loss"`` and ``"loss+"``.

    Returns:
        ``[..., T]`` weights in ``grads``' dtype; the direction is
        ``(w[..., None] * grads).sum(-2)``.
    """
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
    if normalize in LOSS_NORMALIZATIONS and losses is None:
        raise ValueError(f"normalize={normalize!r} needs the task losses (losses=...)")
    G = gram if gram is not None else gram_matrix(grads)
    if normalize == "none":
        return min_norm_weights(G, iterations).to(grads.dtype)
    norms = G.diagonal(dim1=-2, dim2=-1).clamp_min(0.0).sqrt()
    if normalize == "l2":
        divisor = norms
    else:
        loss = losses.detach().to(G)  # type: ignore[union-attr]
        divisor = loss if normalize == "loss" else loss * norms
    safe = torch.where(torch.isfinite(divisor) & (divisor > 0), divisor, 1.0)
    w = min_norm_weights(G / (safe.unsqueeze(-1) * safe.unsqueeze(-2)), iterations) / safe
    return w.to(grads.dtype)


class MGDA(WeightingMethod):
    """MGDA (Sener & Koltun, 2018): the min-norm convex combination of the task gradients."""

    name = "mgda"
    step_cost = 123e-6
    label = "MGDA"
    citation = (
        "Sener & Koltun (2018), Multi-Task Learning as Multi-Objective Optimization, NeurIPS "
        "(arXiv:1810.04650)."
    )
    kind = "gradient"
    combines = "gradients"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam(
            "normalize",
            "none",
            label="Normalise gradients",
            help="Solve the min-norm problem on the raw gradients (the paper), on unit-length "
            "ones (ignores how large each task's gradient is), on gradients divided by their "
            "loss, or divided by loss times length (the official code's loss+).",
            choices=NORMALIZATIONS,
            choice_labels=(
                "none (the paper's default)",
                "unit-length gradients (L2)",
                "divided by the loss",
                "divided by loss x length (loss+)",
            ),
        ),
        HParam(
            "upper_bound",
            False,
            label="MGDA-UB (upper bound)",
            help="Take the weights from the gradients with respect to the shared representation "
            "(one cheap backward to it) instead of every shared parameter: the paper's MGDA-UB, "
            "which optimises an upper bound of the same objective (its Theorem 1).",
        ),
    )
    """``normalize``: ``"none"`` (the paper's default), ``"l2"`` (solve on unit gradients),
    ``"loss"`` or ``"loss+"`` (divide by the loss, or by the loss times the length).
    ``upper_bound``: MGDA-UB, the weights from the gradients with respect to the shared
    representation (one cheap backward to the representation instead of to every shared
    parameter; the paper's Theorem 1 shows it optimises an upper bound of the same objective)."""
    explanation = (
        "MGDA treats training as multi-objective optimisation: among all convex combinations of "
        "the task gradients it picks the shortest one. That direction decreases every task loss "
        "at once, and it becomes zero when no such direction exists (a Pareto-stationary point). "
        "A task with a small gradient therefore gets a large weight."
    )
    formula = (
        r"w^* = \arg\min_{w \in \Delta} \Big\lVert \sum_t w_t g_t \Big\rVert^2, \qquad"
        r" d = \sum_t w^*_t g_t"
    )

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.gradients_of = "representation" if self.params["upper_bound"] else "parameters"

    @classmethod
    def from_grads(
        cls,
        grads: torch.Tensor,
        gram: torch.Tensor | None = None,
        losses: torch.Tensor | None = None,
        **hparams: Any,
    ) -> torch.Tensor:
        """MGDA weights ``[..., T]`` from ``grads [..., T, P]`` (and their Gram, if known).

        ``losses`` ``[..., T]``: required by ``normalize="loss"`` and ``"loss+"``.
        ``upper_bound`` is accepted and changes nothing here: which gradients to pass (the
        parameters' or the representation's) is the caller's choice.
        """
        normalize = cls.resolve_params(hparams)["normalize"]
        return mgda_weights(grads, normalize=normalize, gram=gram, losses=losses)
