"""MoCo: track each task's gradient and the MGDA weights with stochastic corrections.

Fernando, H. D., Shen, H., Liu, M., Chaudhury, S., Murugesan, K. & Chen, T. (2023). *Mitigating
Gradient Bias in Multi-objective Learning: A Provably Convergent Approach*. ICLR 2023
(arXiv:2210.12624); LibMTL's ``MoCo`` is the reference arithmetic.

Its shared update ``y^T lambda`` combines the *tracked* gradients ``y``, not this step's
gradients, so it is not a weighting of this step's gradients: the engine applies
:meth:`MoCo.shared_direction` ``[K, P]`` to the shared parameters (the hook of
:class:`~mtl.weighting.base.WeightingMethod`), and each head gets its own task's gradient, weight
1, as in LibMTL. The weights logged and drawn are ``lambda``.

Per member, at step ``n`` (from 1), with ``g_t`` the gradient of ``L_t`` on the shared parameters,
``y`` ``[T, P]`` from 0 and ``lambda`` ``[T]`` from ``1/T``::

    gt_t    = L_t g_t / (|g_t| + 1e-8)                      (LibMTL's normalisation)
    y      <- y - (beta / n^beta_sigma) (y - gt)            tracked gradients
    lambda <- softmax(lambda - (gamma / n^gamma_sigma) (y y^T + rho I) lambda)
    d       = y^T lambda

The lambda step is a (softmax-mirror) descent step on MGDA's ``|y^T lambda|^2 / 2`` with the
tracked, less biased gradients. Defaults: LibMTL's ``beta = 0.5, beta_sigma = 0.5, gamma = 0.1,
gamma_sigma = 0.5, rho = 0``. :meth:`MoCo.weights` returns ``lambda`` (for display).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.limits import Range
from mtl.weighting.base import MethodContext, PendingMemo, WeightingMethod
from mtl.weighting.hparams import HParam

EPS = 1e-8
"""LibMTL's constant in the gradient normalisation."""


def _rate(name: str, label: str, default: float, text: str) -> HParam:
    """A non-negative step size or exponent of MoCo's."""
    return HParam(name, default, label=label, help=text, range=Range(0.0, 10.0))


class MoCo(WeightingMethod):
    """MoCo (Fernando et al., 2023): tracked gradients ``y [K, T, P]``, weights ``lambda``."""

    name = "moco"
    label = "MoCo"
    citation = (
        "Fernando, Shen, Liu, Chaudhury, Murugesan & Chen (2023), Mitigating Gradient Bias in "
        "Multi-objective Learning: A Provably Convergent Approach, ICLR (arXiv:2210.12624)."
    )
    kind = "gradient"
    combines = "gradients"
    hparams: ClassVar[tuple[HParam, ...]] = (
        _rate("beta", "beta (tracking rate)", 0.5, "Step size of the gradient tracking."),
        _rate("beta_sigma", "beta decay exponent", 0.5, "The tracking step is beta / n^sigma."),
        _rate("gamma", "gamma (weight step)", 0.1, "Step size of the weight update."),
        _rate("gamma_sigma", "gamma decay exponent", 0.5, "The weight step is gamma / n^sigma."),
        _rate("rho", "rho (weight regularisation)", 0.0, "L2 regularisation of the weights."),
    )
    explanation = (
        "MoCo is MGDA made robust to noisy mini-batch gradients. Instead of this step's "
        "gradients it uses a running estimate of each task's gradient (each gradient first "
        "rescaled to the length of its task's loss), and instead of solving for MGDA's "
        "min-norm weights at every step it takes one small step towards them. The update is "
        "the weighted combination of the tracked gradients; the weights shown are those "
        "weights."
    )
    formula = (
        r"\tilde g_t = L_t \frac{g_t}{\lVert g_t \rVert},\quad "
        r"y \leftarrow y - \tfrac{\beta}{n^{\sigma_\beta}}(y - \tilde g),\quad "
        r"\lambda \leftarrow \operatorname{softmax}\!\big(\lambda"
        r" - \tfrac{\gamma}{n^{\sigma_\gamma}} (y y^{\top} + \rho I)\lambda\big),\quad"
        r" d = y^{\top} \lambda"
    )

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.step = 0
        self.y: torch.Tensor | None = None  # [K, T, P]
        self.lambd = torch.full(
            (ctx.n_members, ctx.n_tasks), 1.0 / ctx.n_tasks, dtype=torch.float64
        )
        self.memo = PendingMemo()

    def _pending(
        self, losses: torch.Tensor, grads: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(y', lambda')`` after this step, not applied (computed once per step's inputs)."""
        result: tuple[torch.Tensor, torch.Tensor] = self.memo.get(
            (losses, grads), lambda: self._compute_pending(losses, grads)
        )
        return result

    def _compute_pending(
        self, losses: torch.Tensor, grads: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.params
        n = self.step + 1
        target = grads / (grads.norm(dim=-1, keepdim=True) + EPS) * losses.unsqueeze(-1)
        y = torch.zeros_like(grads) if self.y is None else self.y
        y = y - (p["beta"] / n ** p["beta_sigma"]) * (y - target)
        eye = torch.eye(y.shape[-2], dtype=y.dtype, device=y.device)
        M = y @ y.mT + p["rho"] * eye
        previous = self.lambd.to(y.dtype)
        step = (M @ previous.unsqueeze(-1)).squeeze(-1)
        lambd = torch.softmax(previous - (p["gamma"] / n ** p["gamma_sigma"]) * step, dim=-1)
        # a member whose gradients are not finite (it is about to diverge) keeps its weights
        lambd = torch.where(torch.isfinite(lambd).all(-1, keepdim=True), lambd, previous)
        return y, lambd

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``lambda`` ``[K, T]`` after this step's update (for display; see the module doc)."""
        return self._pending(losses, grads)[1].to(losses.dtype)

    def shared_direction(
        self, losses: torch.Tensor, grads: torch.Tensor, weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        """This step's shared update ``y^T lambda`` ``[K, P]``; reads the state only.

        ``weights`` (what :meth:`weights` returned for these inputs, as the engine passes) is
        ignored: ``lambda`` is recomputed at the tracked gradients' precision.
        """
        y, lambd = self._pending(losses, grads)
        return (lambd.unsqueeze(-1) * y).sum(-2)

    def after_step(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor | None = None,
        gram: torch.Tensor | None = None,
    ) -> None:
        """Apply this step's tracking and weight updates."""
        assert grads is not None, "MoCo tracks the gradients"
        self.y, self.lambd = self._pending(losses, grads)
        self.step += 1
        self.memo.clear()
