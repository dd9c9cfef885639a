"""GradDrop: keep, per feature of the shared representation, only one sign of the task gradients.

Chen, Z., Ngiam, J., Huang, Y., Luong, T., Kretzschmar, H., Chai, Y. & Anguelov, D. (2020).
*Just Pick a Sign: Optimizing Deep Multitask Models with Gradient Sign Dropout*. NeurIPS 2020
(arXiv:2010.06808), Algorithm 1.

GradDrop works on the gradients ``g_t = dL_t/dz`` on the shared representation ``z`` (the output
of the shared layers, ``[N, H]`` over a batch of ``N`` rows), not on the shared parameters. Per
feature ``h`` (batch-separated, as the paper's Section 3.2 and LibMTL: the batch is summed after
multiplying by the sign of the input ``z``)::

    s_t[h]  = sum_n sign(z[n, h]) g_t[n, h]
    P[h]    = 1/2 (1 + sum_t s_t[h] / sum_t |s_t[h]|)      # positive-sign purity, in [0, 1]
    U[h]    ~ Uniform(0, 1)
    M_t[h]  = [P[h] > U[h] and s_t[h] > 0]  or  [P[h] < U[h] and s_t[h] < 0]
    g~[n, h] = sum_t (leak + (1 - leak) M_t[h]) g_t[n, h]

and ``g~`` is back-propagated through the shared layers (``theta`` gets ``(dz/dtheta)^T g~``,
a vector-Jacobian product); each head gets its own task's gradient. With ``leak = 0`` every
feature keeps the positive parts of the task gradients with probability ``P`` (how much of the
gradient there is positive) and the negative parts otherwise: tasks that agree on a sign at a
feature pass through, conflicting ones are dropped at random, in proportion to their size.

Conventions:

* Where every ``s_t[h]`` is 0, ``P[h] = 1/2`` (LibMTL adds ``1e-7`` to the denominator, which
  also moves ``P`` toward 1/2 when the gradients are below ~1e-7; TorchJD divides and gets NaN,
  whose masks are then 0; the kept gradient is 0 in all three). So the masks are scale-invariant.
* TorchJD 0.18's ``GradDrop`` aggregator takes a matrix ``J [T, P]`` (no batch, no input signs):
  it is :func:`graddrop_combine` with ``N = 1`` and ``z = None``, and with the same draws ``U``
  the two agree to rounding. Its ``leak`` is a tensor per task; ours one number for all, as in
  LibMTL and the paper.
* Randomness: ``U`` comes from :func:`mtl.counter_rng.uniform` with the member seeds, stream
  :data:`~mtl.counter_rng.STREAM_GRADDROP` and the global step, so a population member draws
  exactly what its solo run draws.

GradDrop has no task weights: :meth:`GradDrop.weights` returns ones (every task's gradient
enters the sum; what is dropped is per feature and sign), which is what the page draws. It is not
in :func:`~mtl.weighting.gradient_weights` (its output is a direction, not weights); use
:func:`graddrop_combine`. Nor does CR-MOGM smoothing apply (weights that are always one).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.counter_rng import STREAM_GRADDROP, StepDraws
from mtl.limits import Range
from mtl.weighting.base import MethodContext, WeightingMethod
from mtl.weighting.hparams import HParam


def graddrop_purity(signed: torch.Tensor) -> torch.Tensor:
    """Positive-sign purity ``P [..., H]`` of the per-task signed gradients ``[..., T, H]``.

    ``P = 1/2 (1 + sum_t s_t / sum_t |s_t|)``, and ``1/2`` where every ``s_t`` is 0.
    """
    total = signed.sum(-2)
    mass = signed.abs().sum(-2)
    ratio = torch.where(mass > 0, total / torch.where(mass > 0, mass, 1.0), 0.0)
    return 0.5 * (1.0 + ratio)


def graddrop_masks(signed: torch.Tensor, u: torch.Tensor, leak: float = 0.0) -> torch.Tensor:
    """Per-task multipliers ``leak + (1 - leak) M_t [..., T, H]`` (see the module docstring).

    Args:
        signed: ``[..., T, H]`` the per-task (batch-summed, input-signed) gradients ``s_t``.
        u: ``[..., H]`` uniform draws in (0, 1), one per feature.
        leak: in [0, 1]; 1 keeps everything (the plain sum).
    """
    P = graddrop_purity(signed).unsqueeze(-2)
    u = u.unsqueeze(-2)
    keep = ((u < P) & (signed > 0)) | ((u > P) & (signed < 0))
    return leak + (1.0 - leak) * keep.to(signed.dtype)


def graddrop_combine(
    rep_grads: torch.Tensor, rep: torch.Tensor | None, u: torch.Tensor, leak: float = 0.0
) -> torch.Tensor:
    """GradDrop's combined representation gradient ``[..., N, H]``.

    Args:
        rep_grads: ``[..., T, N, H]`` each task's gradient on the representation.
        rep: ``[..., N, H]`` the representation's values (their signs weight the batch sum), or
            ``None`` for all-positive signs (TorchJD's matrix form, with ``N = 1``).
        u: ``[..., H]`` uniform draws in (0, 1).
        leak: in [0, 1].
    """
    signed = rep_grads if rep is None else rep_grads * rep.sign().unsqueeze(-3)
    masks = graddrop_masks(signed.sum(-2), u, leak)  # [..., T, H]
    return (rep_grads * masks.unsqueeze(-2)).sum(-3)


class GradDrop(WeightingMethod):
    """GradDrop (Chen et al., 2020): per feature, keep one sign of the task gradients at random."""

    name = "graddrop"
    label = "GradDrop"
    citation = (
        "Chen, Ngiam, Huang, Luong, Kretzschmar, Chai & Anguelov (2020), Just Pick a Sign: "
        "Optimizing Deep Multitask Models with Gradient Sign Dropout, NeurIPS (arXiv:2010.06808)."
    )
    kind = "gradient"
    combines = "gradients"
    gradients_of = "representation"
    combines_representation = True
    smoothable = False
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam(
            "leak",
            0.0,
            label="Leak",
            help=(
                "The share of every task's gradient that always passes, dropped sign or not: 0 "
                "is the paper's GradDrop, 1 the plain sum of the gradients."
            ),
            range=Range(0.0, 1.0),
        ),
    )
    explanation = (
        "GradDrop looks at the tasks' gradients on the shared layers' output, one feature at a "
        "time. Where the tasks push a feature the same way, it keeps their gradients. Where they "
        "disagree, it keeps only the positive parts or only the negative parts, chosen at random "
        "each step with a chance given by how much of the gradient is positive there, and "
        "back-propagates the result through the shared layers. There are no task weights: the "
        "chart shows 1 for each task."
    )
    formula = (
        r"P = \tfrac12\Big(1 + \frac{\sum_t s_t}{\sum_t |s_t|}\Big),\ "
        r"s_t = \sum_n \operatorname{sign}(z_n) \odot \nabla_{z_n} L_t,\ U \sim \mathcal{U}(0,1),"
        r"\ M_t = [P > U][s_t > 0] + [P < U][s_t < 0],"
        r"\ \tilde g = \sum_t (\ell + (1-\ell) M_t) \odot \nabla_z L_t"
    )

    def __init__(self, ctx: MethodContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.draws: StepDraws | None = None  # U per step, many steps per call (a memo)

    def weights(
        self,
        losses: torch.Tensor,
        grads: torch.Tensor,
        step: int,
        gram: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Ones ``[K, T]``: GradDrop sums the tasks' (sign-dropped) gradients, unweighted."""
        return torch.ones(losses.shape, dtype=losses.dtype)

    def representation_gradient(
        self, rep_grads: torch.Tensor, rep: torch.Tensor, step: int
    ) -> torch.Tensor:
        """GradDrop's combination ``[K, N, H]`` of ``rep_grads [K, T, N, H]`` at ``step``."""
        if self.draws is None or self.draws.n != rep.shape[-1]:
            self.draws = StepDraws(self.ctx.seeds, STREAM_GRADDROP, rep.shape[-1])
        u = self.draws(step)  # [K, H] float64: uniform(seeds, STREAM_GRADDROP, step, H)
        return graddrop_combine(rep_grads, rep, u.to(rep.device), self.params["leak"])
