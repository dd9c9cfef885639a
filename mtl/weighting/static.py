"""Fixed weights: the article's and the notebook's way of combining losses.

``L = sum_t w_t L_t`` with the configured ``w``; the notebook's ``alpha * MSE + (1 - alpha) * CE``
is ``w = (alpha, 1 - alpha)`` and the article's plain sum is ``w = (1, 1)``.

Balanced start (``WeightingSpec.scale == "balanced"``): the configured weights are read relative
to each member's task losses on the first optimisation step, ``L_t(0)``:

    w_t = c * w_cfg_t / L_t(0),   c = sum_t w_cfg_t / sum_t (w_cfg_t / L_t(0)),

so the weights keep the configured sum and the first step's weighted losses ``w_t L_t(0)`` are
``c * w_cfg_t``: in the configured proportions, equal at ``alpha = 0.5``, whatever the losses'
own scales. The weights are then fixed for the rest of training. ``L_t(0)`` is measured per
member, vectorised: in full-batch mode it is the whole training split's loss at initialisation
(the history's epoch-0 training row); with mini-batches, the first batch's. A loss that is zero
or not finite there counts as 1 (its weight stays as configured, before the common factor ``c``).
"""

from __future__ import annotations

from typing import Any

import torch

from mtl.weighting.base import MethodContext, WeightingMethod


def balanced_weights(weights: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
    """``weights [..., T]`` divided by ``losses [..., T]``, rescaled to keep their sum.

    ``c * w_t / L_t`` with ``c = sum_t w_t / sum_t (w_t / L_t)``; a loss that is zero or not
    finite counts as 1. A member whose weights are all zero keeps them.
    """
    usable = torch.isfinite(losses) & (losses > 0)
    safe = torch.where(usable, losses, torch.ones_like(losses)).to(weights.dtype)
    raw = weights / safe
    total = raw.sum(-1, keepdim=True)
    ok = total > 0
    return torch.where(
        ok, raw * (weights.sum(-1, keepdim=True) / torch.where(ok, total, 1)), weights
    )


class Static(WeightingMethod):
    """Static weights ``w_t`` chosen by hand: ``L = sum_t w_t L_t``."""

    name = "static"
    step_cost = 6e-6
    label = "Static weights"
    citation = "Weighted sum of losses (the article; the notebook's alpha form)."
    uses_base_weights = True
    balances_base_weights = True
    explanation = (
        "Each task loss is multiplied by a weight you choose, and the model minimises the "
        "weighted sum. The weights never change during training, so they fix once and for all "
        "how the tasks trade off; a larger weight makes the optimiser care more about that task. "
        "A weight sweep traces the whole range of trade-offs. With a balanced start the weights "
        "are first divided by each task's initial loss, so equal weights mean equal initial "
        "weighted losses."
    )
    formula = r"L = \sum_t w_t L_t, \qquad w_t \text{ fixed by hand}"

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.balanced: torch.Tensor | None = None
        """With a balanced start: the weights fixed after the first step (``None`` before)."""

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The configured ``[K, T]`` weights; with a balanced start, relative to ``L_t(0)``.

        Before the first step has been taken (``after_step`` not yet called) the balanced
        weights are computed from ``losses``, the first step's; afterwards they are the stored
        ones. Reads state, never changes it.
        """
        if self.ctx.scale != "balanced":
            return self.ctx.base_weights
        if self.balanced is not None:
            return self.balanced
        return balanced_weights(self.ctx.base_weights, losses)

    def after_step(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor | None = None,
        gram: torch.Tensor | None = None,
    ) -> None:
        """After the first step of a balanced start, fix the weights from its losses."""
        if self.ctx.scale == "balanced" and self.balanced is None:
            self.balanced = balanced_weights(self.ctx.base_weights, losses)


class EqualSum(WeightingMethod):
    """Equal weighting by summation: ``L = sum_t L_t`` (every ``w_t = 1``)."""

    name = "equal_sum"
    step_cost = 0.0
    label = "Equal weights (sum)"
    citation = "The article's 'Summing Losses': total_loss = loss1 + loss2."
    explanation = (
        "The task losses are simply added up, so every task gets weight 1. This is the most "
        "common starting point, but a task whose loss is numerically larger (say an MSE in "
        "squared units against a cross-entropy of about 0.7) then dominates the gradient."
    )
    formula = r"L = \sum_t L_t \qquad (w_t = 1)"

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Ones ``[K, T]``."""
        return torch.ones_like(self.ctx.base_weights)


class EqualMean(WeightingMethod):
    """Equal weighting by averaging: ``L = (1/T) sum_t L_t`` (every ``w_t = 1/T``)."""

    name = "equal_mean"
    step_cost = 10e-6
    label = "Equal weights (mean)"
    citation = "Averaging task losses, the usual multi-task baseline (e.g. LibMTL's EW)."
    explanation = (
        "The task losses are averaged: every task gets weight 1/T. The balance between tasks is "
        "the same as summing; only the overall scale is T times smaller, which with SGD acts "
        "like a T times smaller learning rate (Adam hardly notices the scale)."
    )
    formula = r"L = \frac{1}{T} \sum_t L_t \qquad (w_t = 1/T)"

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``1 / T`` everywhere, ``[K, T]``."""
        return torch.full_like(self.ctx.base_weights, 1.0 / self.ctx.n_tasks)
