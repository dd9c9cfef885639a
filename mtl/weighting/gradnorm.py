"""GradNorm: learn the task weights so that the tasks' gradient norms train at a common rate.

Chen, Z., Badrinarayanan, V., Lee, C.-Y. & Rabinovich, A. (2018). *GradNorm: Gradient
Normalization for Adaptive Loss Balancing in Deep Multitask Networks*. ICML 2018
(arXiv:1711.02257), Algorithm 1.

State: weights ``w [K, T]``, positive, each member's summing to ``T``. At every step, with ``W`` the
last shared layer (``G[..., ctx.last_shared]``: its weight matrix and bias, the slice of the shared
gradients ``[K, T, P_shared]`` the engine gives)::

    n_t      = |grad_W L_t|                                 [K, T]  raw gradient norms
    G_t      = w_t n_t                                      [K, T]  weighted gradient norms
    L~_t     = L_t / L_t(0)                                 [K, T]  inverse training rate (L(0): the
                                                                    first step's losses)
    r_t      = L~_t / mean_s L~_s                           [K, T]  relative inverse training rate
    target_t = mean_s(G_s) * r_t^alpha                      [K, T]  treated as a constant
    L_grad   = sum_t |G_t - target_t|
    dL_grad/dw_t = sign(G_t - target_t) * n_t               [K, T]

A task that trains slower than average (``r_t > 1``) gets a higher target norm, hence a larger
weight; ``alpha`` (default 1.5, the paper's value on NYUv2 and LibMTL's default) sets how
strongly tasks are pulled back to a common rate, and ``alpha = 0`` asks for equal gradient norms.

:meth:`GradNorm.weights` returns the weights in force for this step (it changes nothing);
:meth:`GradNorm.after_step` then updates them for the next step, from the same losses and
gradients: one Adam step on ``w`` with ``dL_grad/dw`` and learning rate ``weight_lr``, then
``w <- clamp(w, 1e-4)`` and ``w <- T w / sum_t w_t`` (the paper's renormalisation).

Decisions the paper leaves open:

* Optimizer for ``w``: Adam (Kingma & Ba, 2015) via :class:`~mtl.optim.FlatAdam`. ``dL_grad/dw_t``
  has the size of the raw gradient norm ``n_t``, which varies by orders of magnitude with the
  loss's scale (an MSE on targets of scale 5 against a cross-entropy); plain SGD with one fixed
  rate would either freeze the weights or throw them to the clamp. Adam's steps are about
  ``weight_lr`` whatever that scale, like the popular PyTorch re-implementations, which use Adam.
* ``weight_lr`` default 0.025: Adam then moves a weight by at most about 0.025 per step, so the
  weights can cross their range (0 to T = 2) in under a hundred steps, the length of a short
  full-batch run here. It is a hyper-parameter: raise it for faster balancing.
* Initial weights: the configured static weights renormalised to sum ``T``
  (``uses_base_weights = True``). The paper starts from ``w = 1``, which the default equal weights
  (0.5, 0.5) give exactly; other settings let a weight sweep show how GradNorm pulls different
  starting points together.
* ``L(0)`` is each member's first-step loss (clamped at 1e-12 against division by zero).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.limits import Range
from mtl.optim import FlatAdam
from mtl.weighting.base import MethodContext, WeightingMethod
from mtl.weighting.hparams import HParam

MIN_WEIGHT = 1e-4
"""Weights are clamped here before renormalising, so they stay positive."""
_TINY = 1e-12


def gradnorm_grad(
    weights: torch.Tensor,
    norms: torch.Tensor,
    losses: torch.Tensor,
    initial_losses: torch.Tensor,
    alpha: float,
) -> torch.Tensor:
    """``dL_grad/dw [..., T]`` (see the module docstring).

    Args:
        weights: ``w [..., T]`` in force.
        norms: ``n [..., T]`` raw gradient norms on the last shared layer.
        losses: ``L [..., T]`` this step's losses.
        initial_losses: ``L(0) [..., T]``.
        alpha: the restoring-force exponent.
    """
    inverse_rate = losses / initial_losses.clamp_min(_TINY)
    relative = inverse_rate / inverse_rate.mean(-1, keepdim=True).clamp_min(_TINY)
    G = weights * norms
    target = G.mean(-1, keepdim=True) * relative.pow(alpha)
    return torch.sign(G - target) * norms


class GradNorm(WeightingMethod):
    """GradNorm (Chen et al., 2018): weights ``[K, T]`` learned from last-shared-layer norms."""

    name = "gradnorm"
    step_cost = 86e-6
    label = "GradNorm"
    citation = (
        "Chen, Badrinarayanan, Lee & Rabinovich (2018), GradNorm: Gradient Normalization for "
        "Adaptive Loss Balancing in Deep Multitask Networks, ICML (arXiv:1711.02257)."
    )
    kind = "gradient"  # it reads the gradient norms on the last shared layer
    combines = "losses"  # and applies its weights as loss weights, everywhere
    uses_base_weights = True
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam(
            "alpha",
            1.5,
            label="alpha (restoring force)",
            help="How hard tasks that lag behind are pulled back to the pace of the others (0: "
            "equal gradient norms).",
            range=Range(0.0, 10.0),
        ),
        HParam(
            "weight_lr",
            0.025,
            label="Weight learning rate",
            help="Learning rate of GradNorm's weights (its own Adam).",
            range=Range(0.0, 10.0, lo_open=True),
        ),
    )
    """``alpha``: restoring force (1.5); ``weight_lr``: Adam step size on the weights (0.025)."""
    explanation = (
        "GradNorm looks at how strongly each task pushes the last shared layer (the size of its "
        "weighted gradient) and how fast each task's loss has fallen since the start. It learns "
        "the weights so that a task that lags behind gets a larger push and a task that races "
        "ahead a smaller one; alpha sets how hard the lagging tasks are pulled back. The weights "
        "always add up to the number of tasks."
    )
    formula = (
        r"G_t = w_t \lVert \nabla_W L_t \rVert,\quad "
        r"r_t = \frac{L_t / L_t(0)}{\operatorname{mean}_s L_s / L_s(0)},\quad "
        r"L_{\mathrm{grad}} = \sum_t \left| G_t - \overline{G}\, r_t^{\alpha} \right|,\quad "
        r"w \leftarrow \operatorname{Adam}(\nabla_w L_{\mathrm{grad}}),\ "
        r"w \leftarrow T\, w / \textstyle\sum_t w_t"
    )

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.alpha: float = self.params["alpha"]
        self.weight_lr: float = self.params["weight_lr"]
        base = ctx.base_weights.to(torch.float32).clamp_min(MIN_WEIGHT)
        self.w = ctx.n_tasks * base / base.sum(-1, keepdim=True)  # [K, T]
        self.optimizer = FlatAdam(self.w, self.weight_lr)
        self.initial_losses: torch.Tensor | None = None  # L(0) [K, T]

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The ``[K, T]`` weights in force for this step (a copy; nothing changes)."""
        return self.w.clone().to(losses.dtype)

    def after_step(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor | None = None,
        gram: torch.Tensor | None = None,
    ) -> None:
        """One update of the weights for the next step, from this step's losses and gradients.

        Args:
            losses: ``[K, T]`` this step's losses (the first call's are ``L(0)``).
            grads: ``[K, T, P_shared]``; only ``grads[..., ctx.last_shared]`` is used. Required.
            gram: unused (GradNorm needs the last shared layer's norms, not the Gram matrix).
        """
        if grads is None:
            raise ValueError("GradNorm.after_step needs this step's gradients")
        losses = losses.to(self.w.dtype)
        if self.initial_losses is None:
            self.initial_losses = losses.clone()
        norms = grads[..., self.ctx.last_shared].to(self.w.dtype).norm(dim=-1)  # [K, T]
        grad = gradnorm_grad(self.w, norms, losses, self.initial_losses, self.alpha)
        self.optimizer.step(grad)
        self.w.clamp_(min=MIN_WEIGHT)
        self.w.mul_(self.ctx.n_tasks / self.w.sum(-1, keepdim=True))
