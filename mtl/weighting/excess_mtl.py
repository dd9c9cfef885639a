"""ExcessMTL: weight each task by its estimated excess risk, with a diagonal curvature estimate.

He, Y., Zhou, S., Zhang, G., Yun, H., Xu, Y., Zeng, B., Chilimbi, T. & Zhao, H. (2024). *Robust
Multi-Task Learning with Excess Risks*. ICML 2024 (arXiv:2402.02009); official code
github.com/yifei-he/ExcessMTL, also in LibMTL (``ExcessMTL``), whose arithmetic we follow.

A task's excess risk (its loss minus the best loss it could reach) is estimated to second order
as ``g^T H^-1 g / 2``; ExcessMTL approximates the Hessian ``H`` by Adagrad's diagonal
preconditioner, the root of the running sum of squared gradients. Per member and task, on the
shared parameters, at every step::

    S_t <- S_t + g_t^2                                   (elementwise, [K, T, P], from 0)
    e_t = g_t . (g_t / sqrt(S_t + 1e-7))                 estimated excess risk
    first step:   e0_t = e_t, weights stay 1
    later steps:  lambda_t <- lambda_t exp(eta e_t / e0_t);  lambda <- T lambda / sum_s lambda_s

so tasks whose (relative) excess risk stays large gain weight, multiplicatively (exponentiated
gradient ascent on the worst-case mixture of excess risks, the paper's distributionally robust
objective). ``eta`` is the robust step size (``step_size``, LibMTL's default ``1e-2``). The
weights of a step use that step's gradients (LibMTL updates ``lambda`` before its backward pass),
so :meth:`ExcessMTL.weights` computes the pending update without applying it and
:meth:`ExcessMTL.after_step` applies it. The weights multiply the losses (heads included).

Numerics: we keep ``log lambda`` and normalise with a softmax, ``lambda = T softmax(log lambda)``,
which is LibMTL's multiplicative update and renormalisation exactly but cannot overflow; the
state is float64. A first-step estimate ``e0_t = 0`` (a zero gradient) would divide by zero in
LibMTL; we then take the ratio as 0 (no change for that task) until nothing else is possible.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.limits import Range
from mtl.weighting.base import MethodContext, PendingMemo, WeightingMethod
from mtl.weighting.hparams import HParam

EPS = 1e-7
"""Added under the square root of the accumulated squared gradients (LibMTL's constant)."""


class ExcessMTL(WeightingMethod):
    """ExcessMTL (He et al., 2024): exponentiated-gradient weights on estimated excess risks."""

    name = "excess_mtl"
    label = "ExcessMTL"
    citation = (
        "He, Zhou, Zhang, Yun, Xu, Zeng, Chilimbi & Zhao (2024), Robust Multi-Task Learning with "
        "Excess Risks, ICML (arXiv:2402.02009)."
    )
    kind = "gradient"
    combines = "losses"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam(
            "step_size",
            0.01,
            label="Robust step size (eta)",
            help="How fast the weights move towards the tasks with the largest estimated excess "
            "risk (exponentiated-gradient step).",
            range=Range(0.0, 1.0),
        ),
    )
    """``step_size``: the exponentiated-gradient step ``eta`` (``1e-2``, LibMTL's default)."""
    explanation = (
        "ExcessMTL estimates, for every task, how far its loss still is from the best it could "
        "reach (its excess risk), from its gradient and a running estimate of the curvature (the "
        "sum of squared gradients, as in Adagrad). Tasks that still have much to gain, relative "
        "to where they started, get their weight multiplied up a little at every step; the "
        "weights are then rescaled to add up to the number of tasks. Unlike the loss value "
        "itself, the excess risk ignores noise that no model can remove."
    )
    formula = (
        r"S_t \leftarrow S_t + g_t^{\odot 2},\quad "
        r"e_t = g_t^{\top} \operatorname{diag}\!\big(S_t + \epsilon\big)^{-1/2} g_t,\quad "
        r"\lambda_t \leftarrow \frac{T\,\lambda_t\, e^{\eta\, e_t / e_t^{(0)}}}"
        r"{\sum_s \lambda_s\, e^{\eta\, e_s / e_s^{(0)}}}"
    )

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.step_size: float = self.params["step_size"]
        self.log_weights = torch.zeros(ctx.n_members, ctx.n_tasks, dtype=torch.float64)
        self.grad_sq: torch.Tensor | None = None  # S [K, T, P], float64
        self.initial: torch.Tensor | None = None  # e0 [K, T]
        self.memo = PendingMemo()

    def _pending(
        self, grads: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """The state after this step's update: ``(log_weights, S, e0, weights)``, not applied."""
        result: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor] = (
            self.memo.get((grads,), lambda: self._compute_pending(grads))
        )
        return result

    def _compute_pending(
        self, grads: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        g = grads.to(torch.float64)
        grad_sq = g.square() if self.grad_sq is None else self.grad_sq + g.square()
        excess = (g * g / (grad_sq + EPS).sqrt()).sum(-1)  # [K, T]
        if self.initial is None:
            log_weights, initial = self.log_weights, excess
        else:
            initial = self.initial
            ratio = torch.where(initial != 0, excess / torch.where(initial != 0, initial, 1.0), 0.0)
            log_weights = self.log_weights + self.step_size * ratio
        weights = self.ctx.n_tasks * torch.softmax(log_weights, dim=-1)
        return log_weights, grad_sq, initial, weights

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``[K, T]`` loss weights after this step's (previewed) update; losses are unused."""
        return self._pending(grads)[3].to(losses.dtype)

    def after_step(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor | None = None,
        gram: torch.Tensor | None = None,
    ) -> None:
        """Apply this step's update: accumulate ``g^2``, then move the log-weights."""
        assert grads is not None, "ExcessMTL learns from the gradients"
        self.log_weights, self.grad_sq, self.initial, _ = self._pending(grads)
        self.memo.clear()
