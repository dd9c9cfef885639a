"""Optimizers over a flat population parameter matrix ``theta [K, P]``.

They apply exactly the update rules of ``torch.optim.SGD`` (with momentum, no dampening or
Nesterov) and ``torch.optim.Adam`` (no weight decay, no AMSGrad), element-wise, hence member by
member, to one tensor in a few in-place ops per step. ``torch.optim`` would do the same
arithmetic with far more per-step bookkeeping, which dominates for the small models here.
The equality with ``torch.optim`` is tested.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from mtl.config import OptimSpec

Rate = float | torch.Tensor
"""A learning rate: one for every member, or a ``[K, 1]`` tensor of one per member."""


class FlatSGD:
    """``theta -= lr * v`` with ``v = g`` (plain) or ``v = momentum * v + g`` (heavy ball).

    Robbins & Monro (1951); momentum as in Polyak (1964) and ``torch.optim.SGD``.
    """

    def __init__(self, theta: torch.Tensor, lr: Rate, momentum: float = 0.0) -> None:
        """``theta`` is ``[..., K, P]``: leading copies all receive the same ``[K, P]`` update.

        ``lr`` is one rate for every member (the fast path) or a ``[K, 1]`` tensor of rates, one
        per member (:func:`member_rates`).
        """
        self.theta, self.lr, self.momentum = theta, lr, momentum
        self.rates = _rates(lr, theta)
        self.buffer: torch.Tensor | None = None

    def step(self, grad: torch.Tensor) -> None:
        """Apply one update with ``grad [K, P]``."""
        if self.momentum:
            if self.buffer is None:
                self.buffer = grad.clone()
            else:
                self.buffer.mul_(self.momentum).add_(grad)
            grad = self.buffer
        if self.rates is None:
            self.theta.add_(grad, alpha=-float(self.lr))
        else:  # theta + (-lr) g, as add_'s alpha computes it, member by member
            self.theta.sub_(grad * self.rates)


class FlatAdam:
    """Adam (Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization", ICLR).

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``theta -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.
    """

    def __init__(
        self,
        theta: torch.Tensor,
        lr: Rate,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        """``theta`` is ``[..., K, P]``: leading copies all receive the same ``[K, P]`` update.

        ``lr`` is one rate for every member (the fast path) or a ``[K, 1]`` tensor of rates, one
        per member (:func:`member_rates`).
        """
        self.theta, self.lr, self.betas, self.eps = theta, lr, betas, eps
        self.rates = None if isinstance(lr, float | int) else lr.to(torch.float64)
        self.m = torch.zeros(theta.shape[-2:], device=theta.device)
        self.v = torch.zeros(theta.shape[-2:], device=theta.device)
        self.t = 0

    def step(self, grad: torch.Tensor) -> None:
        """Apply one update with ``grad [K, P]``."""
        self.t += 1
        self._advance(grad, self.m, self.v, self.theta, self.t)

    def preview(self, grad: torch.Tensor) -> torch.Tensor:
        """``theta`` after :meth:`step` with ``grad``, computed on copies: nothing changes.

        The same operations as :meth:`step` on clones, so ``preview(g)`` equals what ``step(g)``
        then gives, bit for bit.
        """
        theta = self.theta.clone()
        self._advance(grad, self.m.clone(), self.v.clone(), theta, self.t + 1)
        return theta

    def _advance(
        self, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, theta: torch.Tensor, t: int
    ) -> None:
        """One Adam update of ``m``, ``v`` and ``theta`` in place, as step ``t``."""
        beta1, beta2 = self.betas
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (v.sqrt() / math.sqrt(1 - beta2**t)).add_(self.eps)
        if self.rates is None:
            theta.addcdiv_(m, denom, value=-(float(self.lr) / (1 - beta1**t)))
            return
        # per member: the step size in float64 like the scalar's Python float, then float32, and
        # theta - (step m) / denom, the order addcdiv_ computes theta + (-step) m / denom in
        step_size = (self.rates / (1 - beta1**t)).to(theta.dtype)
        theta.sub_((m * step_size).div_(denom))


def member_rates(lrs: Sequence[float], device: torch.device | None = None) -> torch.Tensor:
    """One learning rate per member as the ``[K, 1]`` float64 tensor the optimizers take."""
    return torch.tensor([[float(lr)] for lr in lrs], dtype=torch.float64, device=device)


def _rates(lr: Rate, theta: torch.Tensor) -> torch.Tensor | None:
    """SGD's per-member rates in ``theta``'s dtype (what ``alpha`` is cast to), or None."""
    return None if isinstance(lr, float | int) else lr.to(theta.dtype)


def make_optimizer(
    spec: OptimSpec, theta: torch.Tensor, lr: Rate | None = None
) -> FlatSGD | FlatAdam:
    """The optimizer ``spec`` names, updating ``theta [..., K, P]`` in place.

    ``lr`` overrides ``spec.lr``: a ``[K, 1]`` tensor gives each member its own rate (a mixed
    population, :class:`mtl.engine.Population` ``lrs``).
    """
    rate: Rate = spec.lr if lr is None else lr
    if spec.kind == "adam":
        return FlatAdam(theta, rate)
    return FlatSGD(theta, rate, spec.momentum)
