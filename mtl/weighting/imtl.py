"""IMTL: impartial multi-task learning, by gradient balance (IMTL-G) and loss balance (IMTL-L).

Liu, L., Li, Y., Kuang, Z., Xue, J.-H., Chen, Y., Yang, W., Liao, Q. & Zhang, W. (2021). *Towards
Impartial Multi-task Learning*. ICLR 2021 (https://openreview.net/forum?id=IMPnRXEWpvr).

IMTL-G (shared parameters). Find weights ``alpha`` with ``sum_t alpha_t = 1`` such that the
direction ``d = sum_t alpha_t g_t`` has equal projections on every unit gradient
``u_t = g_t / |g_t|``. In the paper's notation (task 1 is the reference)::

    D = [g_1 - g_2, ..., g_1 - g_T],   U = [u_1 - u_2, ..., u_1 - u_T]     (rows, [T-1, P])
    alpha_{2:T} = g_1 U^T (D U^T)^{-1},   alpha_1 = 1 - sum_{t>=2} alpha_t

Equivalently, in Gram form (``G = grads grads^T``, ``n_t = |g_t| = sqrt(G_tt)``): ``d . u_t``
equal for all ``t`` means ``G alpha = lambda n``, so ``alpha = G^{-1} n / (1^T G^{-1} n)``.

* ``T = 2``: the closed form. The paper's formula gives
  ``alpha = (|g_2|, |g_1|) / (|g_1| + |g_2|)``, so ``d`` is a positive multiple of the bisector
  ``u_1 + u_2``; it needs no inverse, so it stays exact when the two gradients are (nearly)
  parallel or opposite, where ``G`` is (nearly) singular: exactly opposite gradients give
  ``d = 0`` (the paper's ``D U^T`` is then ``2 (|g_1| + |g_2|) != 0``). A zero gradient imposes
  no constraint: it gets weight 0 and the other weight 1; two zero gradients give zeros.
* ``T > 2``: ``v = G^+ n`` by the pseudo-inverse (float64; eigenvalues below ``1e-12`` of the
  largest, a few thousand float64 epsilons, the level of the Gram matrix's own rounding, count as
  zero) and ``alpha = v / sum(v)``: the generalisation of TorchJD's ``IMTLGWeighting`` (Quinton
  & Rey, 2024, *Jacobian Descent for Multi-Objective Optimization*) that also covers linearly
  dependent gradients, and equals the paper's formula whenever the gradients are linearly
  independent. If ``|sum(v)|`` vanishes (no direction has equal non-zero projections) the
  weights are zeros, as in TorchJD.

Earlier versions used the pseudo-inverse with a ``1e-10`` cut-off for ``T = 2`` too: two
gradients within ``1e-5`` rad of parallel or opposite then had their small eigenvalue cut, and
the direction came out about ``1e6`` times too large (e.g. weights ``(-1, 2)`` instead of
``(2/3, 1/3)`` for ``g_1 = (1, 0)``, ``g_2 = -2 (cos 1e-5, -sin 1e-5)``). TorchJD (0.18) keeps
the plain pseudo-inverse for ``T = 2`` as well; it agrees with the closed form except on exactly
dependent rows, where its pseudo-inverse gives e.g. ``(-0.5, 1.5)`` for ``(g, -3 g)`` (a
direction that increases the first loss) and the paper's formula gives ``(3/4, 1/4)``, ``d = 0``.

IMTL-L (all parameters). A learnable scale ``s_t`` per task; the loss is ``e^{s_t} L_t - s_t``, so
the task weight is ``e^{s_t}`` and ``s`` follows the gradient
``d/ds_t (e^{s_t} L_t - s_t) = e^{s_t} L_t - 1``, whose fixed point ``e^{s_t} = 1 / L_t`` equalises
the scaled losses. We update ``s`` by plain SGD with the model's learning rate,
``s <- s - lr (e^s L - 1)``, after every step, from that step's losses (the paper trains ``s`` with
the model's optimizer; plain SGD keeps the method independent of the optimizer state). ``s``
starts at 0 (weights 1). Members whose losses are not finite keep their ``s``.

Hybrid IMTL (the paper's full method, the default): the losses are scaled by IMTL-L, so the task
gradients become ``e^{s_t} g_t``, and IMTL-G balances those; the weight on the original ``g_t`` is
``alpha_t(e^s g) * e^{s_t}``.

``mode``: ``"hybrid"`` (default), ``"gradient"`` (IMTL-G only) or ``"loss"`` (IMTL-L only); the
old numeric codes 0, 1, 2 of links map to them in this order (:data:`MODES`).

As in the paper, IMTL-L's scales also weight each task's head: :meth:`IMTL.head_weights` gives
the heads ``e^{s_t}`` in modes hybrid and loss (and 1 in mode gradient).

Shapes: ``grads [..., T, P] -> weights [..., T]``; the method's state ``s`` is ``[K, T]``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.errors import ConfigError
from mtl.weighting.base import MethodContext, WeightingMethod
from mtl.weighting.gradient import gram_matrix
from mtl.weighting.hparams import HParam

_PINV_RTOL = 1e-12
"""For ``T > 2``: eigenvalues of ``G`` below this fraction of the largest count as zero in the
pseudo-inverse (about 4500 float64 epsilons: the Gram matrix's own rounding is a few epsilons of
its trace, so smaller eigenvalues are noise)."""

_SUM_TOL = 1e-9
"""``|sum(v)| max_t |g_t|`` below this counts as zero (no impartial direction)."""


MODES: tuple[str, ...] = ("hybrid", "gradient", "loss")
"""IMTL's ``mode`` values, in the order of the old numeric codes (0 hybrid, 1 IMTL-G, 2 IMTL-L)."""


def imtl_g_weights(grads: torch.Tensor, gram: torch.Tensor | None = None) -> torch.Tensor:
    """IMTL-G weights: ``grads [..., T, P] -> alpha [..., T]`` with ``sum(alpha) = 1``.

    The direction ``d = (alpha[..., None] * grads).sum(-2)`` has equal projections
    ``d . g_t / |g_t|`` on every task with a non-zero gradient (see the module docstring).
    ``gram``: ``[..., T, T]`` float64 ``grads @ grads^T`` if already computed.
    """
    G = gram if gram is not None else gram_matrix(grads)
    norms = G.diagonal(dim1=-2, dim2=-1).clamp_min(0.0).sqrt()
    if G.shape[-1] == 2:
        return _two_task_weights(norms).to(grads.dtype)
    v = (torch.linalg.pinv(G, rtol=_PINV_RTOL, hermitian=True) @ norms.unsqueeze(-1)).squeeze(-1)
    total = v.sum(-1, keepdim=True)
    ok = total.abs() * norms.amax(-1, keepdim=True) > _SUM_TOL
    alpha = torch.where(ok, v / torch.where(ok, total, 1.0), 0.0)
    return alpha.to(grads.dtype)


def _two_task_weights(norms: torch.Tensor) -> torch.Tensor:
    """IMTL-G's closed form for two tasks: ``norms [..., 2] -> alpha [..., 2]``.

    ``alpha = (|g_2|, |g_1|) / (|g_1| + |g_2|)`` (the paper's ``g_1 U^T (D U^T)^{-1}`` for
    ``T = 2``, no inverse involved); a zero gradient gets 0 and the other 1; both zero: zeros.
    """
    n1, n2 = norms[..., 0], norms[..., 1]
    total = n1 + n2
    both = (n1 > 0) & (n2 > 0)
    alpha = torch.stack([n2, n1], dim=-1) / torch.where(both, total, 1.0).unsqueeze(-1)
    single = torch.stack([(n1 > 0), (n2 > 0)], dim=-1).to(norms.dtype)  # the non-zero one
    return torch.where(both.unsqueeze(-1), alpha, torch.where(total.unsqueeze(-1) > 0, single, 0.0))


class IMTL(WeightingMethod):
    """IMTL (Liu et al., 2021): impartial gradients (IMTL-G), impartial losses (IMTL-L), or both.

    Stateful in modes hybrid and loss: ``log_scale`` ``[K, T]`` (``s``) is updated in
    :meth:`after_step`. Members whose losses are not finite keep their ``s``.
    """

    name = "imtl"
    step_cost = 132e-6
    label = "IMTL"
    citation = (
        "Liu, Li, Kuang, Xue, Chen, Yang, Liao & Zhang (2021), Towards Impartial Multi-task "
        "Learning, ICLR."
    )
    kind = "gradient"
    combines = "gradients"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam(
            "mode",
            "hybrid",
            label="Mode",
            help="IMTL-G balances the gradients' projections, IMTL-L learns loss scales, IMTL "
            "uses both.",
            choices=MODES,
            choice_labels=("IMTL (gradients and losses)", "IMTL-G (gradients)", "IMTL-L (losses)"),
        ),
    )
    explanation = (
        "IMTL aims to train the tasks impartially. Its gradient part (IMTL-G) chooses weights so "
        "that the combined update makes the same progress along every task's gradient direction. "
        "Its loss part (IMTL-L) learns a scale per task that brings every scaled loss towards 1. "
        "The default combines both."
    )
    formula = (
        r"d = \sum_t \alpha_t g_t,\ \sum_t \alpha_t = 1,\ d \cdot \frac{g_t}{\lVert g_t \rVert}"
        r" \text{ equal for all } t; \qquad L_t \to e^{s_t} L_t - s_t"
    )

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.log_scale = torch.zeros(
            ctx.n_members, ctx.n_tasks, dtype=torch.float64, device=ctx.base_weights.device
        )

    @property
    def mode(self) -> str:
        """``"hybrid"``, ``"gradient"`` or ``"loss"``."""
        return str(self.params["mode"])

    @classmethod
    def from_grads(
        cls, grads: torch.Tensor, gram: torch.Tensor | None = None, **hparams: Any
    ) -> torch.Tensor:
        """IMTL-G weights ``[..., T]``; ``mode`` may only be ``"gradient"``, the stateless one."""
        mode = hparams.get("mode", "gradient")
        cls.check_params({"mode": mode})
        if mode != "gradient":
            raise ConfigError(
                "weighting.params.mode", mode, "'gradient' (IMTL-G, the only stateless mode)"
            )
        return imtl_g_weights(grads, gram)

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Weights ``[K, T]`` on the original gradients ``[K, T, P]`` for this step."""
        if self.mode == "gradient":
            return imtl_g_weights(grads, gram)
        scale = self.log_scale.exp()
        if self.mode == "loss":
            return scale.to(grads.dtype)
        # the scaled gradients e^{s_t} g_t have the Gram matrix diag(e^s) G diag(e^s)
        G = self.gram_of(grads, gram)
        alpha = imtl_g_weights(grads, G * (scale.unsqueeze(-1) * scale.unsqueeze(-2)))
        return (alpha.to(torch.float64) * scale).to(grads.dtype)

    def head_weights(
        self, weights: torch.Tensor, losses: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The heads follow their scaled losses: ``e^{s_t}`` (ones in mode gradient), ``[K, T]``."""
        if self.mode == "gradient":
            return torch.ones_like(weights)
        return self.log_scale.exp().to(weights.dtype)

    def after_step(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor | None = None,
        gram: torch.Tensor | None = None,
    ) -> None:
        """One SGD step on ``s`` with the model's learning rate: ``s -= lr (e^s L - 1)``."""
        if self.mode == "gradient":
            return
        losses = losses.detach().to(self.log_scale)
        updated = self.log_scale - self.ctx.lr * (self.log_scale.exp() * losses - 1.0)
        self.log_scale = torch.where(torch.isfinite(updated), updated, self.log_scale)
