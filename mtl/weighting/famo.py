"""FAMO: decrease every task's log-loss at an equal rate, learning the balance from loss changes.

Liu, B., Feng, Y., Stone, P. & Liu, Q. (2023). *FAMO: Fast Adaptive Multitask Optimization*.
NeurIPS 2023 (arXiv:2306.03792), Algorithm 1; official code github.com/Cranial-XIX/FAMO.

State: logits ``xi [K, T]``, initialised to 0; ``z = softmax(xi)`` ``[K, T]`` lies on the simplex.
With ``D_t = L_t - min_loss_t + 1e-8`` (``min_loss = 0``, the official default), the model
minimises ``sum_t z_t log D_t / c`` with ``c = sum_t z_t / D_t`` held constant, i.e. it takes a
step along ``sum_t w_t grad L_t`` with the effective (detached) loss weights::

    w_t = (z_t / D_t) / sum_s (z_s / D_s)         [K, T]   (positive, sum to 1)

The logits learn from how much each log-loss fell over the previous step (the paper's eq. 10,
a one-step amortised descent on the dual problem ``min_z |J z|^2`` of balanced improvement)::

    delta_t = log D_t(prev) - log D_t(curr)                       [K, T]
    grad_xi = J_softmax(xi)^T delta = z * (delta - sum_s z_s delta_s)   [K, T]
    xi     <- Adam(grad_xi + gamma * xi; lr = w_lr)                (the paper's eq. 12 decay)

so a task whose loss fell less than average gains weight. ``torch.optim.Adam(weight_decay=gamma)``
in the official code adds ``gamma * xi`` to the gradient (L2, not AdamW's decoupled decay); we do
the same through :class:`~mtl.optim.FlatAdam`, so the update is exactly the official one.

Defaults: ``w_lr = 0.025`` (the official code's; the paper's step size ``beta`` on the logits).
``gamma = 0.001``: the paper picks ``gamma`` from {0.0001, 0.001, 0.01} by validation loss and
reports 0.001 on every supervised benchmark but CityScapes (0.01). The official code's defaults
vary (``methods/weight_methods.py`` 1e-5, the standalone ``famo.py`` 0.01); its run scripts pass
the paper's per-benchmark values.

Timing in our engine: the official loop recomputes the losses on the same batch right after the
model step and updates the logits with them. Our engine evaluates each loss once per step, so the
"current" loss of the update is the *next* step's loss: the weights of a step come from the logits
updated with ``(previous step's losses, this step's losses)`` when a previous step exists.
:meth:`FAMO.weights` computes that update without applying it (it never changes the state);
:meth:`FAMO.after_step` applies it. In full-batch training the next step's loss *is* the loss right
after the update on the same data, so this is exact; with mini-batches the new loss is one batch
later, which is the paper's cheaper variant (no extra forward pass). The official code also clips
the shared gradient norm at 1.0 (``max_norm``); that belongs to the optimizer, and we do not clip.


``uses_base_weights`` is False: the paper starts from ``xi = 0`` (``z`` uniform).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.limits import Range
from mtl.optim import FlatAdam
from mtl.weighting.base import MethodContext, WeightingMethod
from mtl.weighting.hparams import HParam

EPS = 1e-8
"""Added to ``L - min_loss`` before the log and the division (the official code's constant)."""


def famo_loss_weights(logits: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
    """Effective loss weights ``w_t = (z_t / D_t) / sum_s z_s / D_s``, ``[..., T]``."""
    ratio = torch.softmax(logits, dim=-1) / (losses + EPS)
    return ratio / ratio.sum(-1, keepdim=True)


def famo_logit_grad(
    logits: torch.Tensor, previous: torch.Tensor, current: torch.Tensor
) -> torch.Tensor:
    """``J_softmax(xi)^T delta`` with ``delta = log D(prev) - log D(curr)``, ``[..., T]``."""
    z = torch.softmax(logits, dim=-1)
    delta = torch.log(previous + EPS) - torch.log(current + EPS)
    return z * (delta - (z * delta).sum(-1, keepdim=True))


class FAMO(WeightingMethod):
    """FAMO (Liu, Feng, Stone & Liu, 2023): softmax logits ``[K, T]`` learned from loss changes."""

    name = "famo"
    step_cost = 87e-6
    label = "FAMO"
    citation = (
        "Liu, Feng, Stone & Liu (2023), FAMO: Fast Adaptive Multitask Optimization, NeurIPS "
        "(arXiv:2306.03792)."
    )
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam(
            "w_lr",
            0.025,
            label="Preference learning rate",
            help="Learning rate of FAMO's task preferences (its own Adam).",
            range=Range(0.0, 10.0, lo_open=True),
        ),
        HParam(
            "gamma",
            0.001,
            label="Preference decay (gamma)",
            help="Decay that pulls the preferences back towards equal.",
            range=Range(0.0, 10.0),
        ),
    )
    """``w_lr``: Adam learning rate of the logits (0.025); ``gamma``: their decay (0.001)."""
    explanation = (
        "FAMO aims to make every task's loss fall by the same fraction at each step. It keeps a "
        "learned preference per task and, after every step, checks how much each log-loss "
        "actually fell: tasks that improved less than the others get more preference next time. "
        "The applied weight is the preference divided by the task's current loss, rescaled to sum "
        "to 1, so it needs only the losses (no per-task gradients)."
    )
    formula = (
        r"z = \operatorname{softmax}(\xi),\quad "
        r"w_t = \frac{z_t / L_t}{\sum_s z_s / L_s};\quad "
        r"\delta_t = \log L_t^{\mathrm{prev}} - \log L_t^{\mathrm{curr}},\quad "
        r"\xi \leftarrow \operatorname{Adam}\!\left(J_{\mathrm{softmax}}(\xi)^{\top} \delta "
        r"+ \gamma\, \xi\right)"
    )

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.w_lr: float = self.params["w_lr"]
        self.gamma: float = self.params["gamma"]
        self.logits = torch.zeros(ctx.n_members, ctx.n_tasks)  # xi [K, T]
        self.optimizer = FlatAdam(self.logits, self.w_lr)
        self.previous: torch.Tensor | None = None  # the last step's losses [K, T]

    def _logit_grad(self, current: torch.Tensor) -> torch.Tensor:
        """The pending update's gradient ``J^T delta + gamma xi`` for this step's losses."""
        assert self.previous is not None
        grad = famo_logit_grad(self.logits, self.previous, current)
        return grad.add_(self.logits, alpha=self.gamma)

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """This step's ``[K, T]`` weights, from the logits the pending update will give.

        The logits learn from the change between the last step's losses and ``losses``; this
        previews that update (:meth:`~mtl.optim.FlatAdam.preview`) without applying it, and
        :meth:`after_step` applies exactly it, so the state changes only there.

        Args:
            losses: ``[K, T]`` this step's losses (the "current" losses of the pending update).
            grads: unused.
            step: unused.
            gram: unused.
        """
        current = losses.to(self.logits.dtype)
        logits = self.logits
        if self.previous is not None:
            logits = self.optimizer.preview(self._logit_grad(current))
        return famo_loss_weights(logits, current).to(losses.dtype)

    def after_step(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor | None = None,
        gram: torch.Tensor | None = None,
    ) -> None:
        """Apply the pending logit update with this step's losses, then remember them."""
        current = losses.to(self.logits.dtype)
        if self.previous is not None:
            self.optimizer.step(self._logit_grad(current))
        self.previous = current.clone()
