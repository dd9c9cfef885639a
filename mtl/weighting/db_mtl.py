"""DB-MTL (Dual-Balancing): log losses, and every task's gradient scaled to the largest norm.

Lin, B., Jiang, W., Ye, F., Zhang, Y., Chen, P., Chen, Y.-C., Liu, S. & Kwok, J. T. (2023).
*Dual-Balancing for Multi-Task Learning*. arXiv:2308.12029; LibMTL's ``DB_MTL`` is the reference.

Its shared update is a combination of *moving averages* of past gradients, not of this step's
gradients, so it is not a weighting ``w`` with ``d = sum_t w_t g_t``: the engine applies
:meth:`DBMTL.shared_direction` ``[K, P]`` to the shared parameters (the hook of
:class:`~mtl.weighting.base.WeightingMethod`) and scales each head's gradient by
:meth:`DBMTL.head_weights`, ``1 / (L_t + 1e-8)``.

Per member, at step ``n`` (from 1), with ``g_t`` the gradient of ``L_t`` on the shared parameters::

    h_t = grad log(L_t + 1e-8) = g_t / (L_t + 1e-8)        loss-scale balancing (log transform)
    m_t <- h_t + (beta / n^sigma) (m_t - h_t)              EMA of h_t (m_t = 0 before step 1)
    a_t = max_s |m_s| / (|m_t| + 1e-8)                     gradient-magnitude balancing
    d   = sum_t a_t m_t                                    the shared update

so every task contributes a gradient of the same norm (the largest), whatever the scale of its
loss. Each head gets the gradient of its log loss, ``g_t / (L_t + 1e-8)``. ``beta = 0.9`` and
``sigma = 0`` are LibMTL's defaults. :meth:`DBMTL.weights` returns ``a_t / (L_t + 1e-8)``, the
weights on this step's gradients (exact when ``beta = 0``), for display.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.limits import Range
from mtl.weighting.base import MethodContext, PendingMemo, WeightingMethod
from mtl.weighting.hparams import HParam

EPS = 1e-8
"""LibMTL's constant in the log and in the norm ratio."""


class DBMTL(WeightingMethod):
    """DB-MTL (Lin et al., 2023): log losses and EMA gradients scaled to the largest norm."""

    name = "db_mtl"
    label = "DB-MTL (Dual-Balancing)"
    citation = (
        "Lin, Jiang, Ye, Zhang, Chen, Chen, Liu & Kwok (2023), Dual-Balancing for Multi-Task "
        "Learning (arXiv:2308.12029)."
    )
    kind = "gradient"
    combines = "gradients"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam(
            "beta",
            0.9,
            label="beta (gradient EMA)",
            help="Weight of the past in the moving average of each task's gradient.",
            range=Range(0.0, 1.0, hi_open=True),
        ),
        HParam(
            "beta_sigma",
            0.0,
            label="beta decay exponent",
            help="The EMA weight at step n is beta / n^sigma; 0 keeps it constant.",
            range=Range(0.0, 5.0),
        ),
    )
    explanation = (
        "DB-MTL balances the tasks twice. It trains on the logarithm of each loss, so a task "
        "whose loss is numerically large does not dominate; and it rescales every task's "
        "(averaged) gradient to the length of the longest one, so every task pulls equally hard "
        "on the shared layers. The weights shown are each task's rescaling factor divided by "
        "its loss: exactly the weight on its loss when beta is 0; with averaging the update "
        "also carries past gradients."
    )
    formula = (
        r"h_t = \nabla \log L_t,\quad m_t \leftarrow h_t + \tfrac{\beta}{n^{\sigma}}(m_t - h_t),"
        r"\quad d = \sum_t \frac{\max_s \lVert m_s \rVert}{\lVert m_t \rVert}\, m_t"
    )

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.beta: float = self.params["beta"]
        self.sigma: float = self.params["beta_sigma"]
        self.step = 0
        self.buffer: torch.Tensor | None = None  # m [K, T, P]
        self.memo = PendingMemo()

    def _pending(
        self, losses: torch.Tensor, grads: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(m', a)``: the buffer after this step and the norm-balancing factors, not applied."""
        result: tuple[torch.Tensor, torch.Tensor] = self.memo.get(
            (losses, grads), lambda: self._compute_pending(losses, grads)
        )
        return result

    def _compute_pending(
        self, losses: torch.Tensor, grads: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h = grads / (losses + EPS).unsqueeze(-1)
        rate = self.beta / (self.step + 1) ** self.sigma
        previous = torch.zeros_like(h) if self.buffer is None else self.buffer  # m = 0 at first
        buffer = h + rate * (previous - h)
        norms = buffer.norm(dim=-1)
        return buffer, norms.amax(-1, keepdim=True) / (norms + EPS)

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``a_t / (L_t + 1e-8)`` ``[K, T]``: the weights on this step's gradients if beta = 0.

        ``a = 1`` for a member whose gradients are not finite (it is about to diverge).
        """
        _, a = self._pending(losses, grads)
        a = torch.where(torch.isfinite(a).all(-1, keepdim=True), a, 1.0)
        return a / (losses + EPS)

    def head_weights(
        self, weights: torch.Tensor, losses: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``1 / (L_t + 1e-8)`` ``[K, T]``: each head follows the gradient of its log loss."""
        assert losses is not None, "DB-MTL's heads follow the log losses"
        return 1.0 / (losses + EPS)

    def shared_direction(
        self, losses: torch.Tensor, grads: torch.Tensor, weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        """This step's shared update ``sum_t a_t m_t`` ``[K, P]``; reads the state only.

        ``weights`` (what :meth:`weights` returned, as the engine passes) is not needed.
        """
        buffer, a = self._pending(losses, grads)
        return (a.unsqueeze(-1) * buffer).sum(-2)

    def after_step(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor | None = None,
        gram: torch.Tensor | None = None,
    ) -> None:
        """Move the gradient averages with this step's log-loss gradients."""
        assert grads is not None, "DB-MTL averages the gradients"
        self.buffer, _ = self._pending(losses, grads)
        self.step += 1
        self.memo.clear()
