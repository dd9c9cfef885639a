"""Dynamic Weight Average: weight each task by how slowly its loss fell over the last epoch.

Liu, S., Johns, E. & Davison, A. J. (2019). *End-to-End Multi-Task Learning with Attention*.
CVPR 2019 (arXiv:1803.10704), where DWA is introduced alongside the MTAN architecture.

With ``L_t(e)`` the mean training loss of task ``t`` over epoch ``e`` (epochs counted from 1, as
:meth:`~mtl.weighting.base.WeightingMethod.epoch_end` reports them), the weights used during epoch
``e`` are::

    r_t(e - 1) = L_t(e - 1) / L_t(e - 2)                                  [K, T]
    w_t(e)     = T exp(r_t(e - 1) / Temp) / sum_s exp(r_s(e - 1) / Temp)   [K, T]

and ``w_t = 1`` during the first two epochs, before two epoch losses exist. A task whose loss fell
less over the last epoch (larger ratio ``r``) gets more weight; the weights always sum to ``T``.
The temperature ``Temp`` (``temperature``, default 2.0 as in the paper) softens the softmax: as
``Temp -> inf`` the weights tend to 1.

Weights change only at epoch boundaries, so with mini-batches they are constant within an epoch;
in full-batch mode an epoch is one step. An epoch loss of exactly 0 gives ratio 1 for that task
(instead of dividing by zero). ``uses_base_weights`` is False: the paper starts from ones.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.limits import Range
from mtl.weighting.base import MethodContext, WeightingMethod
from mtl.weighting.hparams import HParam


def dwa_weights(last: torch.Tensor, before: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T softmax(r / Temp)`` with ``r = last / before``: ``[..., T], [..., T] -> [..., T]``.

    Args:
        last: ``L(e - 1) [..., T]`` the last epoch's mean losses.
        before: ``L(e - 2) [..., T]`` the epoch before's.
        temperature: ``Temp > 0``.
    """
    ratio = torch.where(before != 0, last / torch.where(before != 0, before, 1.0), 1.0)
    return last.shape[-1] * torch.softmax(ratio / temperature, dim=-1)


class DWA(WeightingMethod):
    """Dynamic Weight Average (Liu, Johns & Davison, 2019): ``T softmax(L(e-1)/L(e-2) / Temp)``."""

    name = "dwa"
    step_cost = 33e-6
    label = "Dynamic Weight Average (DWA)"
    citation = (
        "Liu, Johns & Davison (2019), End-to-End Multi-Task Learning with Attention, CVPR "
        "(arXiv:1803.10704)."
    )
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam(
            "temperature",
            2.0,
            label="Temperature",
            help="Softmax temperature: larger values keep the weights closer to 1; small ones "
            "react strongly to which loss is falling slowest.",
            range=Range(0.0, 100.0, lo_open=True),
        ),
    )
    """``temperature``: softmax temperature (2.0, the paper's); larger means weights closer to 1."""
    explanation = (
        "After each epoch DWA compares every task's loss with its loss one epoch earlier. A task "
        "whose loss fell less (a ratio closer to 1, or above it) is learning more slowly, so it "
        "gets more weight in the next epoch. A softmax with a temperature turns the ratios into "
        "weights that add up to the number of tasks; the first two epochs use weight 1."
    )
    formula = (
        r"r_t(e-1) = \frac{L_t(e-1)}{L_t(e-2)},\qquad "
        r"w_t(e) = \frac{T \exp\left(r_t(e-1)/\tau\right)}{\sum_s \exp\left(r_s(e-1)/\tau\right)}"
    )

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.temperature: float = self.params["temperature"]
        self.w = torch.ones(ctx.n_members, ctx.n_tasks)  # [K, T], in force for the next epoch
        self.last: torch.Tensor | None = None  # L(e - 1) [K, T]
        self.before: torch.Tensor | None = None  # L(e - 2) [K, T]

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The ``[K, T]`` weights of the current epoch; losses and grads are unused."""
        return self.w.to(losses.dtype)

    def epoch_end(self, epoch: int, mean_losses: torch.Tensor) -> None:
        """Record epoch ``epoch``'s mean losses ``[K, T]`` and set the next epoch's weights."""
        self.before, self.last = self.last, mean_losses.detach().to(torch.float32).clone()
        if self.before is not None:
            self.w = dwa_weights(self.last, self.before, self.temperature)
