"""ConFIG: the direction with equal cosine to every task gradient, as long as their projections.

Liu, Q., Chu, M. & Thuerey, N. (2025). *ConFIG: Towards Conflict-free Training of Physics
Informed Neural Networks*. ICLR 2025 (arXiv:2408.11104), Equation 2.

With unit gradients ``u_t = g_t / |g_t|`` as the rows of ``U [T, P]``::

    b = U^+ 1                       (a direction with b . u_t = 1 for every t: equal angles)
    d = (sum_t g_t . b_hat) b_hat,  b_hat = b / |b|

``d`` makes the same angle with every task gradient, acute whenever such a direction exists, so
no task loss increases to first order, and its length is the sum of the gradients' projections on
it. In Gram form (``G = J J^T``, ``n_t = |g_t|``, the unit Gram ``C = G / (n n^T)``):
``b = U^T y`` with ``y = C^+ 1``, so ``b = sum_t a_t g_t`` with ``a_t = y_t / n_t``, and the
weights on the original gradients are ``w = a (1^T G a) / (a^T G a)``. A zero gradient is a zero
row of ``U`` (weight 0). If ``b = 0`` (1 is orthogonal to the range of ``C``, e.g. exactly
opposite gradients) the weights are zeros.

* ``T = 2``: the closed form. ``y = (1, 1) / (1 + cos)`` and ``w`` simplifies to
  ``w_t = (n_1 + n_2) / (2 n_t)``, i.e. ``d = (n_1 + n_2) / 2 (u_1 + u_2)``, with no inverse and no
  cancellation, exact when the gradients are nearly parallel or opposite (exactly opposite: ``d`` is
  0 to rounding). With one zero gradient ``d`` is the other gradient.
* ``T > 2``: ``y = C^+ 1`` by the pseudo-inverse (float64, eigenvalues below ``1e-12`` of the
  largest count as zero, the level of the Gram matrix's rounding).

This is TorchJD's ``ConFIG`` (0.18) with its default preference (ones), computed from the Gram
matrix instead of an SVD of ``U``: the two agree to rounding except where ``U``'s singular
values fall between TorchJD's cut-off (``max(T, P) eps``) and ours (``1e-6``, the square root of the
Gram cut-off), i.e. rows dependent to within ``1e-6`` for ``T > 2``.

Shapes: ``grads [..., T, P] -> weights [..., T]``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.weighting.base import WeightingMethod
from mtl.weighting.gradient import gram_matrix
from mtl.weighting.hparams import HParam

_PINV_RTOL = 1e-12
"""For ``T > 2``: eigenvalues of the unit Gram matrix below this fraction of the largest count as
zero in the pseudo-inverse."""


def config_weights(grads: torch.Tensor, gram: torch.Tensor | None = None) -> torch.Tensor:
    """ConFIG weights: ``grads [..., T, P] -> weights [..., T]`` (see the module docstring).

    ``gram``: ``[..., T, T]`` float64 ``grads @ grads^T`` if already computed.
    """
    G = gram if gram is not None else gram_matrix(grads)
    T = G.shape[-1]
    norms = G.diagonal(dim1=-2, dim2=-1).clamp_min(0.0).sqrt()
    nonzero = norms > 0
    safe = torch.where(nonzero, norms, 1.0)
    if T == 2:
        count = nonzero.sum(-1, keepdim=True).clamp_min(1).to(G.dtype)
        w = norms.sum(-1, keepdim=True) / (count * safe)
        return torch.where(nonzero, w, 0.0).to(grads.dtype)
    C = G / (safe.unsqueeze(-1) * safe.unsqueeze(-2))
    ones = torch.ones((*G.shape[:-1], 1), dtype=G.dtype, device=G.device)
    y = (torch.linalg.pinv(C, rtol=_PINV_RTOL, hermitian=True) @ ones).squeeze(-1)
    a = torch.where(nonzero, y / safe, 0.0)
    Ga = (G @ a.unsqueeze(-1)).squeeze(-1)
    length2 = (a * Ga).sum(-1, keepdim=True)  # |b|^2
    total = Ga.sum(-1, keepdim=True)  # sum_t g_t . b
    ok = length2 > 1e-24 * G.diagonal(dim1=-2, dim2=-1).sum(-1, keepdim=True) * (a * a).sum(
        -1, keepdim=True
    )
    w = torch.where(ok, a * total / torch.where(ok, length2, 1.0), 0.0)
    return w.to(grads.dtype)


class ConFIG(WeightingMethod):
    """ConFIG (Liu, Chu & Thuerey, 2025): equal angles to every gradient, projected length."""

    name = "config"
    label = "ConFIG"
    citation = (
        "Liu, Chu & Thuerey (2025), ConFIG: Towards Conflict-free Training of Physics Informed "
        "Neural Networks, ICLR (arXiv:2408.11104)."
    )
    kind = "gradient"
    combines = "gradients"
    hparams: ClassVar[tuple[HParam, ...]] = ()
    explanation = (
        "ConFIG looks for the one direction that makes the same angle with every task's gradient, "
        "so that every task improves and none is favoured. It then sets the step's length to the "
        "sum of the task gradients' projections on that direction. With two tasks the direction "
        "is the bisector of the two gradients."
    )
    formula = (
        r"b = U^{+} \mathbf{1},\ U = \Big[\frac{g_t}{\lVert g_t \rVert}\Big]_t, \quad "
        r"d = \Big(\sum_t g_t \cdot \hat b\Big) \hat b, \ \hat b = \frac{b}{\lVert b \rVert}"
    )

    @classmethod
    def from_grads(
        cls, grads: torch.Tensor, gram: torch.Tensor | None = None, **hparams: Any
    ) -> torch.Tensor:
        """ConFIG weights ``[..., T]`` from ``grads [..., T, P]`` (and their Gram, if known)."""
        cls.check_params(hparams)
        return config_weights(grads, gram)
