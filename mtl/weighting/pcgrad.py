"""PCGrad: project each task gradient off the gradients it conflicts with ("gradient surgery").

Yu, T., Kumar, S., Gupta, A., Levine, S., Hausman, K. & Finn, C. (2020). *Gradient Surgery for
Multi-Task Learning*. NeurIPS 2020 (arXiv:2001.06782), Algorithm 1.

Update rule, for per-task gradients ``g_1 .. g_T`` on the shared parameters::

    for each task i:
        g_i^PC = g_i
        for each other task j != i, in some order:
            if g_i^PC . g_j < 0:                       # conflict with the *original* g_j
                g_i^PC = g_i^PC - (g_i^PC . g_j) / |g_j|^2 * g_j
    d = sum_i g_i^PC

As weights on the original gradients: every ``g_i^PC`` is a linear combination of the originals,
``g_i^PC = sum_k C_ik g_k``, so we track the coefficient matrix ``C`` ``[..., T, T]`` (starting
from the identity) and apply each projection to it with the Gram matrix ``G`` only:
``g_i^PC . g_j = (C G)_ij`` and the projection subtracts ``(C G)_ij / G_jj`` from ``C_ij``. The
weights are the column sums ``w_k = sum_i C_ik``, so ``d = sum_k w_k g_k``. All tasks ``i`` are
projected at once, one "other task" per step, so the loop has ``T`` steps whatever the batch.

Order: the paper visits the other tasks in a random order. For ``T = 2`` there is one other task and
the order does not matter. For ``T > 2`` this function is deterministic by default: every task
visits the others in ascending index order. Pass ``order`` (an explicit visiting order per task) or
``generator`` (an independent random permutation per batch element and task) for other orders.

Properties: for ``T = 2`` the projected gradients do not conflict with the other original gradient
(``g_1^PC . g_2 >= 0`` and ``g_2^PC . g_1 >= 0``), and ``d . g_t >= 0`` for both tasks. With no
conflict, ``d = g_1 + ... + g_T`` (weights all one). A zero gradient never conflicts, so it causes
no projection (and no division by zero).

Shapes: ``grads [..., T, P] -> weights [..., T]``; ``pcgrad_coefficients`` gives ``C [..., T, T]``.
"""

from __future__ import annotations

import torch

from mtl.weighting.base import WeightingMethod
from mtl.weighting.gradient import gram_matrix


def _visit_order(
    batch: torch.Size,
    T: int,
    order: torch.Tensor | None,
    generator: torch.Generator | None,
    device: torch.device,
) -> torch.Tensor:
    """The visiting order ``[*batch, T, T]`` (long); row ``i`` is a permutation of ``0 .. T-1``."""
    if order is not None and generator is not None:
        raise ValueError("pass at most one of order and generator")
    if order is not None:
        order = torch.as_tensor(order, dtype=torch.long, device=device)
        if order.shape[-2:] != (T, T):
            raise ValueError(f"order must have shape [..., {T}, {T}], got {tuple(order.shape)}")
        expected = torch.arange(T, device=device)
        if not torch.equal(order.sort(-1).values, expected.expand_as(order)):
            raise ValueError("every row of order must be a permutation of 0 .. T-1")
        return order.expand(*batch, T, T)
    if generator is not None:
        keys = torch.rand((*batch, T, T), generator=generator, device=generator.device)
        return keys.argsort(-1).to(device)
    return torch.arange(T, device=device).expand(*batch, T, T)


def pcgrad_coefficients(
    grads: torch.Tensor,
    *,
    order: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    gram: torch.Tensor | None = None,
) -> torch.Tensor:
    """Coefficients ``C [..., T, T]`` of the projected gradients: ``g_i^PC = sum_k C_ik g_k``.

    Args:
        grads: ``[..., T, P]`` per-task gradients.
        order: optional ``[..., T, T]`` (or broadcastable ``[T, T]``) long tensor whose row ``i`` is
            a permutation of ``0 .. T-1``: the order in which task ``i`` visits the others
            (the entry ``i`` itself is skipped). Default: ascending.
        generator: draw an independent random order per batch element and task from it instead.
        gram: ``[..., T, T]`` float64 ``grads @ grads^T`` if already computed.

    Returns:
        ``[..., T, T]`` float64 coefficients; ``C @ grads`` are the projected gradients.
    """
    G = gram if gram is not None else gram_matrix(grads)
    T = G.shape[-1]
    batch = G.shape[:-2]
    visit = _visit_order(batch, T, order, generator, G.device)
    diag = G.diagonal(dim1=-2, dim2=-1)
    C = torch.eye(T, dtype=G.dtype, device=G.device).expand(*batch, T, T).clone()
    own = torch.arange(T, device=G.device).expand(*batch, T)
    for step in range(T):
        j = visit[..., step]  # [..., T]: the task each i projects against at this step
        inner = (C @ G).gather(-1, j[..., None]).squeeze(-1)  # g_i^PC . g_j
        norm2 = diag.gather(-1, j)
        project = (inner < 0) & (j != own) & (norm2 > 0)
        coef = torch.where(project, inner / torch.where(project, norm2, 1.0), 0.0)
        C = C.scatter_add(-1, j[..., None], -coef[..., None])
    return C


def pcgrad_weights(
    grads: torch.Tensor,
    *,
    order: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    gram: torch.Tensor | None = None,
) -> torch.Tensor:
    """PCGrad weights: ``grads [..., T, P] -> weights [..., T]`` (see the module docstring).

    ``order``, ``generator`` and ``gram`` are as in :func:`pcgrad_coefficients`; by default the
    order is ascending and the result deterministic. The direction is ``(w[..., None] *
    grads).sum(-2)``.
    """
    if order is None and generator is None and gram is not None and gram.shape[-1] == 2:
        return _two_tasks(gram).to(grads.dtype)
    C = pcgrad_coefficients(grads, order=order, generator=generator, gram=gram)
    return C.sum(-2).to(grads.dtype)


def _two_tasks(G: torch.Tensor) -> torch.Tensor:
    """:func:`pcgrad_weights` for two tasks from their Gram ``[..., 2, 2]``, in a few operations.

    :func:`pcgrad_coefficients` with ``C = I``: the first visit is each task to itself (no
    change), the second projects task ``i`` off ``j != i`` when ``G_ij < 0`` and ``G_jj > 0``,
    with coefficient ``G_ij / G_jj``; so ``w_i = 1 - G_ji / G_ii`` where task ``j`` projects off
    ``i``, else 1. The same arithmetic for finite Gram matrices (a non-finite one, of a member
    that is diverging, may give other non-finite weights).
    """
    inner = torch.stack((G[..., 0, 1], G[..., 1, 0]), dim=-1)  # g_i . g_j, j the other task
    norm2 = G.diagonal(dim1=-2, dim2=-1).flip(-1)  # |g_j|^2, j the other task
    project = (inner < 0) & (norm2 > 0)
    coef = torch.where(project, inner / torch.where(project, norm2, 1.0), 0.0)  # c_01, c_10
    return 1.0 - coef.flip(-1)  # w_0 = 1 - c_10, w_1 = 1 - c_01


class PCGrad(WeightingMethod):
    """PCGrad (Yu et al., 2020): sum of task gradients projected off their conflicts.

    Deterministic: for the two tasks of the page the visiting order does not matter; for ``T > 2``
    each task visits the others in ascending order (see :func:`pcgrad_weights`).
    """

    name = "pcgrad"
    step_cost = 227e-6
    label = "PCGrad"
    citation = (
        "Yu, Kumar, Gupta, Levine, Hausman & Finn (2020), Gradient Surgery for Multi-Task "
        "Learning, NeurIPS (arXiv:2001.06782)."
    )
    kind = "gradient"
    combines = "gradients"
    explanation = (
        "When two tasks' gradients on the shared layers point in conflicting directions (negative "
        "dot product), PCGrad removes from each gradient its component along the other one, then "
        "adds the results. Agreeing gradients are left alone and simply summed; conflicting ones "
        "no longer undo each other's progress."
    )
    formula = (
        r"g_i^{PC} = g_i - \frac{\min(0,\, g_i \cdot g_j)}{\lVert g_j \rVert^2}\, g_j"
        r" \ (j \ne i), \qquad d = \sum_i g_i^{PC}"
    )

    @staticmethod
    def from_grads(grads: torch.Tensor, gram: torch.Tensor | None = None) -> torch.Tensor:
        """PCGrad weights ``[..., T]`` from ``grads [..., T, P]`` (and their Gram, if known)."""
        return pcgrad_weights(grads, gram=gram)
