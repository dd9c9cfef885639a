"""Fixed weights: the article's and the notebook's way of combining losses.

``L = sum_t w_t L_t`` with the configured ``w``; the notebook's ``alpha * MSE + (1 - alpha) * CE``
is ``w = (alpha, 1 - alpha)`` and the article's plain sum is ``w = (1, 1)``.
"""

from __future__ import annotations

import torch

from mtl.weighting.base import WeightingMethod


class Static(WeightingMethod):
    """Static weights ``w_t`` chosen by hand: ``L = sum_t w_t L_t``."""

    name = "static"
    step_cost = 6e-6
    label = "Static weights"
    citation = "Weighted sum of losses (the article; the notebook's alpha form)."
    uses_base_weights = True
    explanation = (
        "Each task loss is multiplied by a weight you choose, and the model minimises the "
        "weighted sum. The weights never change during training, so they fix once and for all "
        "how the tasks trade off; a larger weight makes the optimiser care more about that task. "
        "A weight sweep traces the whole range of trade-offs."
    )
    formula = r"L = \sum_t w_t L_t, \qquad w_t \text{ fixed by hand}"

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The configured ``[K, T]`` weights, whatever the losses."""
        return self.ctx.base_weights


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
