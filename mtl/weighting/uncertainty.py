"""Uncertainty weighting: each task's weight is a learned (homoscedastic) noise level.

Kendall, A., Gal, Y. & Cipolla, R. (2018). *Multi-Task Learning Using Uncertainty to Weigh Losses
for Scene Geometry and Semantics*. CVPR 2018 (arXiv:1705.07115).

Each task ``t`` gets an observation noise ``sigma_t`` learned with the model. We learn the
log-variance ``s_t = log sigma_t^2`` (state ``s [K, T]``, initialised to 0, i.e. ``sigma = 1``),
which is unconstrained and numerically stable. The objective is the negative log-likelihood::

    regression     (Gaussian likelihood):         L_t / (2 sigma_t^2) + log sigma_t
                                                = 0.5 e^{-s_t} L_t + 0.5 s_t
    classification (scaled-softmax approximation): L_t / sigma_t^2 + log sigma_t
                                                = e^{-s_t} L_t + 0.5 s_t

So the task weights are ``w_t = c_t e^{-s_t}`` with ``c_t = 0.5`` (regression) or ``1``
(classification), ``[K, T]``, and the derivative of the objective with respect to ``s_t`` is::

    dJ/ds_t = -c_t e^{-s_t} L_t + 0.5 = 0.5 - w_t L_t

Its fixed point is ``w_t L_t = 1/2``, i.e. ``w_t = 1 / (2 L_t)`` in both forms
(``s_t* = log(2 c_t L_t)``): each task's weighted loss settles at 1/2, whatever its scale.

Update: the paper trains ``s`` as extra parameters of the model. We do the same: ``s`` is
updated after every step (:meth:`UncertaintyWeighting.after_step`, with that step's losses, so the
gradient with respect to ``s`` is taken at the same point as the model's gradient) by an optimizer
of the model's kind and learning rate (``ctx.optimizer``, ``ctx.lr``): :class:`~mtl.optim.FlatSGD`
or :class:`~mtl.optim.FlatAdam`. SGD runs without momentum, because
:class:`~mtl.weighting.base.MethodContext` does not carry the model's momentum. With SGD the fixed
point is stable for ``lr < 4`` (the curvature of ``J`` in ``s`` there is ``w_t L_t = 1/2``).

Why the total loss can be negative: ``log sigma_t = 0.5 s_t`` is negative whenever
``sigma_t < 1``. Once a task's loss is small, its sigma shrinks (``s_t* = log(2 c_t L_t) < 0``
when ``L_t < 1 / (2 c_t)``), its weighted loss stays at 1/2 while ``0.5 s_t`` keeps falling, so
the objective ``sum_t (w_t L_t + 0.5 s_t)`` goes below zero. That is not a bug: it is a negative
log-likelihood of a continuous density, which is unbounded below as the noise shrinks.

Differences from other implementations: LibMTL's ``UW`` uses the regression form for every task
and starts from ``s = -0.5``; we follow the paper's two forms and ``sigma = 1``. Tasks are matched
to forms by name through :data:`mtl.limits.TASKS` (``regression`` -> 0.5, anything else -> 1); a
population with a different number of tasks uses the regression form for every task.

``uses_base_weights`` is False: the paper starts every ``sigma`` at 1, whatever weights were set.
"""

from __future__ import annotations

import torch

from mtl.limits import TASKS
from mtl.optim import FlatAdam, FlatSGD
from mtl.weighting.base import MethodContext, WeightingMethod

FORM_SCALE: dict[str, float] = {"regression": 0.5, "classification": 1.0}
"""``c_t`` by task name: ``1 / (2 sigma^2)`` for a Gaussian likelihood, else ``1 / sigma^2``."""


def form_scales(n_tasks: int) -> torch.Tensor:
    """``c [T]``: 0.5 for regression, 1 for classification tasks (see the module docstring)."""
    if n_tasks != len(TASKS):
        return torch.full((n_tasks,), FORM_SCALE["regression"])
    return torch.tensor([FORM_SCALE.get(name, 1.0) for name in TASKS])


class UncertaintyWeighting(WeightingMethod):
    """Uncertainty weighting (Kendall, Gal & Cipolla, 2018): learned log-variances ``s [K, T]``."""

    name = "uncertainty"
    step_cost = 49e-6
    label = "Uncertainty weighting"
    citation = (
        "Kendall, Gal & Cipolla (2018), Multi-Task Learning Using Uncertainty to Weigh Losses for "
        "Scene Geometry and Semantics, CVPR (arXiv:1705.07115)."
    )
    explanation = (
        "Each task gets a learned noise level sigma, trained with the model: a task's loss is "
        "divided by its sigma squared, and a log sigma penalty stops sigma from growing forever. "
        "Noisy or hard tasks learn a large sigma and so a small weight; the balance is reached "
        "when every weighted loss equals 1/2, i.e. weight = 1/(2L). The total loss can be "
        "negative: once a task's loss is small its sigma shrinks below 1, and log sigma < 0 "
        "then dominates the sum."
    )
    formula = (
        r"J = \sum_t \left( c_t\, e^{-s_t} L_t + \tfrac{1}{2} s_t \right),\quad "
        r"s_t = \log \sigma_t^2,\quad c_{\mathrm{reg}} = \tfrac12,\ c_{\mathrm{cls}} = 1;\quad "
        r"w_t = c_t\, e^{-s_t},\quad s_t \leftarrow s_t - \eta \left(\tfrac12 - w_t L_t\right)"
    )

    def __init__(self, ctx: MethodContext) -> None:
        super().__init__(ctx)
        self.scales = form_scales(ctx.n_tasks)  # c [T]
        self.log_vars = torch.zeros(ctx.n_members, ctx.n_tasks)  # s [K, T]
        self.optimizer: FlatSGD | FlatAdam = (
            FlatAdam(self.log_vars, ctx.lr)
            if ctx.optimizer == "adam"
            else FlatSGD(self.log_vars, ctx.lr)
        )

    def _current(self) -> torch.Tensor:
        """``w = c e^{-s}``, ``[K, T]``, a fresh tensor."""
        return self.scales * torch.exp(-self.log_vars)

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``w_t = c_t e^{-s_t}`` ``[K, T]`` for the current log-variances; grads are unused."""
        return self._current().to(losses.dtype)

    def after_step(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor | None = None,
        gram: torch.Tensor | None = None,
    ) -> None:
        """One optimizer step on ``s`` with ``dJ/ds = 0.5 - w L`` at this step's losses."""
        self.optimizer.step(0.5 - self._current() * losses.to(self.log_vars.dtype))

    def total_loss(self, losses: torch.Tensor) -> torch.Tensor:
        """The objective ``sum_t (w_t L_t + 0.5 s_t)`` per member, ``[K]``, at the current ``s``.

        This is the quantity that goes negative once small losses have shrunk their sigmas.
        """
        return (self._current() * losses + 0.5 * self.log_vars).sum(-1)
