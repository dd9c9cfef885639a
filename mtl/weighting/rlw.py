"""Random Loss Weighting: fresh random weights at every step.

Lin, B., Ye, F., Zhang, Y. & Tsang, I. W. (2022). *Reasonable Effectiveness of Random Weighting:
A Litmus Test for Multi-Task Learning*. Transactions on Machine Learning Research (TMLR), 2022
(arXiv:2111.10603, first titled "A Closer Look at Loss Weighting in Multi-Task Learning").

At every step each member draws::

    z ~ N(0, I_T)        [K, T]
    w = softmax(z)       [K, T]   (positive, sums to 1)

The paper studies several distributions for the weights; the softmax of a standard normal is its
main variant and LibMTL's ``RLW`` implementation, whose weights sum to 1 (not ``T``) as here.

Randomness: ``z`` comes from :func:`mtl.counter_rng.normal` with the member seeds, stream
:data:`~mtl.counter_rng.STREAM_WEIGHTS` and the global step as counter. So member ``k`` of a
population draws exactly what a solo run with its seed draws, different seeds draw differently,
and no Python loop over members is needed. ``uses_base_weights`` is False.
"""

from __future__ import annotations

from typing import Any

import torch

from mtl.counter_rng import STREAM_WEIGHTS, StepDraws
from mtl.weighting.base import MethodContext, WeightingMethod


class RLW(WeightingMethod):
    """Random Loss Weighting (Lin et al., 2022): ``w = softmax(z)``, ``z ~ N(0, I)`` every step."""

    name = "rlw"
    step_cost = 234e-6
    label = "Random Loss Weighting (RLW)"
    citation = (
        "Lin, Ye, Zhang & Tsang (2022), Reasonable Effectiveness of Random Weighting: A Litmus "
        "Test for Multi-Task Learning, TMLR (arXiv:2111.10603)."
    )
    explanation = (
        "At every step the weights are drawn at random: a softmax of normal noise, so they are "
        "positive and add up to 1. No task can dominate for long, and the paper found this "
        "simple baseline competitive with many carefully designed methods, which makes it a "
        "litmus test: a new method should at least beat random weights."
    )
    formula = (
        r"z \sim \mathcal{N}(0, I_T),\qquad w_t = \frac{e^{z_t}}{\sum_s e^{z_s}} "
        r"\quad \text{(new draw every step)}"
    )

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        # the draws, many steps per call (a memo of a pure function of the step, not state)
        self.draws = StepDraws(ctx.seeds, STREAM_WEIGHTS, ctx.n_tasks, normal=True)

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``softmax(z) [K, T]``, ``z`` each member's draw for ``step``; losses, grads unused."""
        z = self.draws(step)  # [K, T] float64: normal(seeds, STREAM_WEIGHTS, step, T)
        return torch.softmax(z, dim=-1).to(losses.dtype)
