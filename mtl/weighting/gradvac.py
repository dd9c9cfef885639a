"""GradVac (Gradient Vaccine): pull each pair of task gradients towards a learned target cosine.

Wang, Z., Tsvetkov, Y., Firat, O. & Cao, Y. (2021). *Gradient Vaccine: Investigating and Improving
Multi-task Optimization in Massively Multilingual Models*. ICLR 2021 (arXiv:2010.05874),
Algorithm 1; LibMTL's ``GradVac`` (whole-model granularity) is the reference arithmetic.

State: a target cosine ``phi_ij`` per ordered task pair, ``[K, T, T]``, initialised to 0. At each
step, for every task ``i`` and every other task ``j`` (``g`` the current gradients, ``p_i`` task
``i``'s gradient as modified so far, starting at ``g_i``)::

    rho_ij = p_i . g_j / (|p_i| |g_j| + 1e-8)                  the current cosine
    if rho_ij < phi_ij:                                        less aligned than the target:
        p_i <- p_i + |p_i| (phi sqrt(1 - rho^2) - rho sqrt(1 - phi^2))
                       / (|g_j| sqrt(1 - phi^2) + 1e-8) * g_j  (now at cosine phi with g_j)
    phi_ij <- (1 - beta) phi_ij + beta rho_ij                  EMA of the observed cosine

and the shared update is ``d = sum_i p_i``. With ``phi = 0`` the correction is PCGrad's
projection; GradVac's targets let the alignment it restores follow the alignment usually seen.

Every ``p_i`` is a combination of the original gradients, ``p_i = sum_j C_ij g_j``, and every
quantity above is a function of the Gram matrix (``p_i . g_j = (C G)_ij``,
``|p_i|^2 = (C G C^T)_ii``), so we track ``C`` ``[K, T, T]`` and return the weights on the original
gradients ``w_j = sum_i C_ij`` (``d = sum_j w_j g_j``), vectorised over members. For two tasks::

    w = (1 + c_21, 1 + c_12)

with ``c_12`` the coefficient added to ``p_1`` on ``g_2`` and ``c_21`` the converse.

Deviations from LibMTL, all documented: LibMTL visits the other tasks ``j`` in a random order
(``random.shuffle``); we visit them in increasing order (the same for two tasks). A task whose
gradient is zero gets no correction coefficient (LibMTL's would be ``~|p_i| / 1e-8`` times a zero
vector: the same direction, but a meaningless weight). We compute in float64 from the Gram
matrix. Only LibMTL's whole-model granularity (``group_type = 0``) is offered. The targets update
in :meth:`GradVac.after_step` with the cosines of that step, as LibMTL does after using them.
The heads get their own task's gradient (LibMTL back-propagates each loss with weight 1).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.limits import Range
from mtl.weighting.base import MethodContext, PendingMemo, WeightingMethod
from mtl.weighting.hparams import HParam

EPS = 1e-8
"""LibMTL's constant in the cosine's and the coefficient's denominators."""


def gradvac_step(
    G: torch.Tensor, targets: torch.Tensor, beta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One GradVac step from the Gram matrix: ``([..., T, T], [..., T, T]) -> (w, targets')``.

    Args:
        G: ``[..., T, T]`` float64 Gram matrix of the current gradients.
        targets: ``[..., T, T]`` target cosines ``phi_ij`` (the diagonal is unused).
        beta: EMA rate of the targets.

    Returns:
        ``w [..., T]`` the weights on the original gradients and the updated targets.
    """
    T = G.shape[-1]
    targets = targets.to(G.dtype)
    return _two_tasks(G, targets, beta) if T == 2 else _sequential(G, targets, beta)


def _sequential(
    G: torch.Tensor, targets: torch.Tensor, beta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`gradvac_step` for any ``T``: the pairs in turn, tracking ``C`` ``[..., T, T]``."""
    T = G.shape[-1]
    C = torch.eye(T, dtype=G.dtype, device=G.device).expand_as(G).clone()
    norms = G.diagonal(dim1=-2, dim2=-1).clamp_min(0.0).sqrt()  # |g_j| [..., T]
    new = targets.clone()
    for i in range(T):
        for j in range(T):
            if j == i:
                continue
            ci = C[..., i, :]  # [..., T]
            cG = (ci.unsqueeze(-2) @ G).squeeze(-2)  # p_i . g_s for every s
            p_norm = (cG * ci).sum(-1).clamp_min(0.0).sqrt()
            rho = cG[..., j] / (p_norm * norms[..., j] + EPS)
            phi = targets[..., i, j]
            sin_rho = (1.0 - rho * rho).clamp_min(0.0).sqrt()
            sin_phi = (1.0 - phi * phi).clamp_min(0.0).sqrt()
            coef = p_norm * (phi * sin_rho - rho * sin_phi) / (norms[..., j] * sin_phi + EPS)
            apply = (rho < phi) & (norms[..., j] > 0)
            C[..., i, j] = C[..., i, j] + torch.where(apply, coef, 0.0)
            new[..., i, j] = (1.0 - beta) * phi + beta * rho
    return C.sum(-2), new


def _two_tasks(
    G: torch.Tensor, targets: torch.Tensor, beta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`gradvac_step` for ``T = 2`` in a few elementwise operations.

    Each ``p_i`` meets one other gradient, while still equal to ``g_i``, so both pairs see the
    same cosine ``rho = G_12 / (|g_1| |g_2| + 1e-8)``; pair ``(i, j)`` adds
    ``c_ij = |g_i| (phi_ij sin rho - rho sin phi_ij) / (|g_j| sin phi_ij + 1e-8)`` times ``g_j``.
    """
    norms = G.diagonal(dim1=-2, dim2=-1).clamp_min(0.0).sqrt()  # [..., 2]
    other = norms.flip(-1)  # |g_j| for pair (i, j), i = 0, 1
    rho = (G[..., 0, 1] / (norms[..., 0] * norms[..., 1] + EPS)).unsqueeze(-1)  # [..., 1]
    phi = torch.stack([targets[..., 0, 1], targets[..., 1, 0]], dim=-1)  # [..., 2]
    sin_rho = (1.0 - rho * rho).clamp_min(0.0).sqrt()
    sin_phi = (1.0 - phi * phi).clamp_min(0.0).sqrt()
    coef = norms * (phi * sin_rho - rho * sin_phi) / (other * sin_phi + EPS)
    coef = torch.where((rho < phi) & (other > 0), coef, 0.0)  # c_12, c_21
    moved = (1.0 - beta) * phi + beta * rho
    new = targets.clone()
    new[..., 0, 1], new[..., 1, 0] = moved[..., 0], moved[..., 1]
    return 1.0 + coef.flip(-1), new  # w = (1 + c_21, 1 + c_12)


class GradVac(WeightingMethod):
    """GradVac (Wang et al., 2021): per-pair target cosines ``[K, T, T]`` learned by EMA."""

    name = "gradvac"
    label = "GradVac (Gradient Vaccine)"
    citation = (
        "Wang, Tsvetkov, Firat & Cao (2021), Gradient Vaccine: Investigating and Improving "
        "Multi-task Optimization in Massively Multilingual Models, ICLR (arXiv:2010.05874)."
    )
    kind = "gradient"
    combines = "gradients"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam(
            "beta",
            0.5,
            label="beta (target EMA rate)",
            help="How fast each pair's target cosine follows the cosines observed. 0 keeps the "
            "target at 0, which is PCGrad.",
            range=Range(0.0, 1.0),
        ),
    )
    """``beta``: the EMA rate of the target cosines (0.5, LibMTL's default)."""
    explanation = (
        "GradVac remembers, for every pair of tasks, how aligned their gradients usually are (a "
        "running average of their cosine similarity). When the current gradients are less "
        "aligned than that target, it adds just enough of the other task's gradient to bring "
        "the cosine back up to the target. With a target of 0 this is PCGrad's projection; the "
        "learned targets also repair pairs that are positively but unusually weakly aligned."
    )
    formula = (
        r"\rho_{ij} = \cos(p_i, g_j),\quad \text{if } \rho_{ij} < \phi_{ij}:\ "
        r"p_i \leftarrow p_i + \frac{\lVert p_i \rVert \left(\phi_{ij}\sqrt{1-\rho_{ij}^2} "
        r"- \rho_{ij}\sqrt{1-\phi_{ij}^2}\right)}{\lVert g_j \rVert \sqrt{1-\phi_{ij}^2}}\, g_j;"
        r"\quad \phi_{ij} \leftarrow (1-\beta)\,\phi_{ij} + \beta\,\rho_{ij},\quad "
        r"d = \sum_i p_i"
    )

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.beta: float = self.params["beta"]
        self.targets = torch.zeros(ctx.n_members, ctx.n_tasks, ctx.n_tasks, dtype=torch.float64)
        self.memo = PendingMemo()

    def _step(
        self, grads: torch.Tensor, gram: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`gradvac_step` at the current targets, once per step's inputs."""
        result: tuple[torch.Tensor, torch.Tensor] = self.memo.get(
            (grads, gram),
            lambda: gradvac_step(self.gram_of(grads, gram), self.targets, self.beta),
        )
        return result

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Weights ``[K, T]`` on the original gradients for this step; losses are unused."""
        w, _ = self._step(grads, gram)
        return w.to(grads.dtype)

    def after_step(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor | None = None,
        gram: torch.Tensor | None = None,
    ) -> None:
        """Move the target cosines towards this step's cosines (the EMA)."""
        assert grads is not None, "GradVac learns from the gradients"
        _, self.targets = self._step(grads, gram)
        self.memo.clear()
