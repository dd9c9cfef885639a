"""Geometric Loss Strategy (GLS): minimise the geometric mean of the task losses.

Chennupati, S., Sistu, G., Yogamani, S. & Rawashdeh, S. A. (2019). *MultiNet++: Multi-Stream
Feature Aggregation and Geometric Loss Strategy for Multi-Task Learning*. CVPR Workshops 2019
(arXiv:1904.08492).

The total loss is the geometric mean ``L = (prod_t L_t)^(1/T)``. Its gradient is
``sum_t (dL / dL_t) grad L_t`` with::

    w_t = dL / dL_t = L / (T L_t)          [K, T]

so GLS is a loss weighting whose weights are recomputed at every step from the current losses:
a task whose loss is small gets a large weight (minimising a product rewards relative, not
absolute, decreases: ``grad log L = (1/T) sum_t grad L_t / L_t``). No state, no hyper-parameters.

We compute ``L`` in the log domain (``exp(mean_t log L_t)``), which cannot overflow or underflow
as a product of many losses can. Losses are clamped below at ``1e-12`` first: at an exactly zero
loss the geometric mean's gradient is infinite. LibMTL's ``GLS`` back-propagates the same
geometric mean (it *reports* ``L_t / (T prod_s L_s)`` as its weights, which is not the gradient;
we return the weights it actually applies).
"""

from __future__ import annotations

import torch

from mtl.weighting.base import WeightingMethod

FLOOR = 1e-12
"""Losses are clamped below at this value before the logarithm."""


def gls_weights(losses: torch.Tensor) -> torch.Tensor:
    """``w_t = (prod_s L_s)^(1/T) / (T L_t)``: ``[..., T] -> [..., T]``."""
    safe = losses.clamp_min(FLOOR)
    geometric = safe.log().mean(-1, keepdim=True).exp()
    return geometric / (losses.shape[-1] * safe)


class GLS(WeightingMethod):
    """Geometric Loss Strategy (Chennupati et al., 2019): the geometric mean of the losses."""

    name = "gls"
    label = "Geometric Loss Strategy (GLS)"
    citation = (
        "Chennupati, Sistu, Yogamani & Rawashdeh (2019), MultiNet++: Multi-Stream Feature "
        "Aggregation and Geometric Loss Strategy for Multi-Task Learning, CVPR Workshops "
        "(arXiv:1904.08492)."
    )
    explanation = (
        "GLS minimises the geometric mean of the task losses instead of their sum. Its gradient "
        "weights each task by the geometric mean divided by T times that task's loss, so a task "
        "whose loss is already small gets a large weight: what counts is how much each loss "
        "falls relative to its size, not in absolute terms. The weights need only the losses "
        "and change at every step."
    )
    formula = (
        r"\mathcal{L} = \Big(\prod_{t=1}^{T} L_t\Big)^{1/T},\qquad "
        r"w_t = \frac{\partial \mathcal{L}}{\partial L_t} = \frac{\mathcal{L}}{T\, L_t}"
    )

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``[K, T]`` gradient of the geometric mean at this step's losses; grads are unused."""
        return gls_weights(losses)
