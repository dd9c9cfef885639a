"""Aligned-MTL: make the task gradients' system well conditioned, then combine.

Senushkin, D., Patakin, N., Kuznetsov, A. & Konushin, A. (2023). *Independent Component Alignment
for Multi-Task Learning*. CVPR 2023, Algorithm 1.

The paper measures the conflict and dominance of the task gradients by the condition number of
the gradient matrix ``J [T, P]`` and replaces ``J`` by the nearest matrix with condition number 1
(orthogonal rows of equal length, up to a scale), then combines its rows with the preference
weights (``1/T``). In Gram form (``G = J J^T = V Lambda V^T``, keeping the ``r`` eigenvalues above
``lambda_max T eps``, TorchJD's rank test)::

    B = sqrt(lambda_scale) V_r Lambda_r^{-1/2} V_r^T,      w = B (1/T, ..., 1/T)
    d = J^T w

``J^T V_r Lambda_r^{-1/2}`` has orthonormal columns (the principal directions of the gradients),
so ``d`` combines those directions with equal singular values ``sqrt(lambda_scale)``: by
default the smallest one, ``sigma_min`` (``scale_mode="min"``, the paper's Algorithm 1); ``median``
uses the median eigenvalue (the lower one for an even count, as ``torch.median``) and ``rmse``
their mean (the original code's option). Rank 0 (every gradient zero) gives ``w = 1/T``.

This is TorchJD's ``AlignedMTLWeighting`` (0.18), vectorised over the batch: the weights agree to
rounding. The weights are scale-invariant and the direction is permutation-invariant; unlike MGDA
or UPGrad, ``d`` may still conflict with a task. The rank test makes the method discontinuous
near rank-deficient gradients (two nearly parallel gradients: the small eigenvalue sets the
scale), as in the reference.

Shapes: ``grads [..., T, P] -> weights [..., T]``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mtl.weighting.base import WeightingMethod
from mtl.weighting.gradient import gram_matrix
from mtl.weighting.hparams import HParam

SCALE_MODES: tuple[str, ...] = ("min", "median", "rmse")
"""Which eigenvalue sets the common singular value: the smallest, the median, the mean."""


def aligned_mtl_weights(
    grads: torch.Tensor, *, scale_mode: str = "min", gram: torch.Tensor | None = None
) -> torch.Tensor:
    """Aligned-MTL weights: ``grads [..., T, P] -> weights [..., T]`` (module docstring).

    Args:
        grads: ``[..., T, P]`` per-task gradients.
        scale_mode: ``"min"`` (the paper), ``"median"`` or ``"rmse"``.
        gram: ``[..., T, T]`` float64 ``grads @ grads^T`` if already computed.
    """
    if scale_mode not in SCALE_MODES:
        raise ValueError(f"scale_mode must be one of {SCALE_MODES}, got {scale_mode!r}")
    G = gram if gram is not None else gram_matrix(grads)
    T = G.shape[-1]
    lam, V = torch.linalg.eigh(G)  # ascending
    tol = lam[..., -1:] * T * torch.finfo(G.dtype).eps
    valid = lam > tol  # [..., T], the top r
    rank = valid.sum(-1, keepdim=True)  # [..., 1]
    safe = torch.where(valid, lam, 1.0)
    first = (T - rank).clamp_max(T - 1)  # ascending index of the smallest kept eigenvalue
    if scale_mode == "min":
        scale = lam.gather(-1, first)
    elif scale_mode == "median":
        scale = lam.gather(-1, (first + (rank - 1).clamp_min(0) // 2).clamp_max(T - 1))
    else:
        scale = (lam * valid).sum(-1, keepdim=True) / rank.clamp_min(1)
    inv_sqrt = torch.where(valid, safe.rsqrt(), 0.0) * scale.clamp_min(0.0).sqrt()  # [..., T]
    pref = torch.full((T, 1), 1.0 / T, dtype=G.dtype, device=G.device)
    w = (V * inv_sqrt.unsqueeze(-2)) @ (V.mT @ pref)  # B 1/T
    w = w.squeeze(-1)
    return torch.where(rank > 0, w, 1.0 / T).to(grads.dtype)


class AlignedMTL(WeightingMethod):
    """Aligned-MTL (Senushkin et al., 2023): combine the gradients' aligned principal directions."""

    name = "aligned_mtl"
    label = "Aligned-MTL"
    citation = (
        "Senushkin, Patakin, Kuznetsov & Konushin (2023), Independent Component Alignment for "
        "Multi-Task Learning, CVPR."
    )
    kind = "gradient"
    combines = "gradients"
    hparams: ClassVar[tuple[HParam, ...]] = (
        HParam(
            "scale_mode",
            "min",
            label="Scale",
            help="Which of the gradients' singular values all the aligned directions get: the "
            "smallest (the paper), the median, or the mean.",
            choices=SCALE_MODES,
            choice_labels=("smallest (the paper)", "median", "mean (rmse)"),
        ),
    )
    explanation = (
        "Aligned-MTL sees conflict and dominance as a badly conditioned system: some directions "
        "of the task gradients are much stronger than others. It finds the gradients' principal "
        "directions, gives them all the same strength (by default the weakest one's), and "
        "combines them. No single task dominates the step, and its size follows the weakest "
        "direction."
    )
    formula = (
        r"G = J J^\top = V \Lambda V^\top, \quad w = \sqrt{\lambda_{\min}}\, V \Lambda^{-1/2} "
        r"V^\top \tfrac{1}{T}\mathbf{1}, \quad d = J^\top w"
    )

    @classmethod
    def from_grads(
        cls, grads: torch.Tensor, gram: torch.Tensor | None = None, **hparams: Any
    ) -> torch.Tensor:
        """Aligned-MTL weights ``[..., T]`` from ``grads [..., T, P]`` (and their Gram)."""
        mode = cls.resolve_params(hparams)["scale_mode"]
        return aligned_mtl_weights(grads, scale_mode=mode, gram=gram)
