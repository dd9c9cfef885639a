"""Gradient-based weighting: the Gram-matrix helpers every gradient method shares.

Every gradient-based method here (MGDA, PCGrad, CAGrad, IMTL-G, UPGrad, DualProj, Aligned-MTL,
ConFIG) depends on the per-task gradients only through their Gram matrix ``G = grads @ grads^T``,
``[..., T, T]`` with ``G_ij = g_i . g_j``.
The engine forms it once per step, in float64 (a cheap ``T x T`` matrix per member, and float64
keeps the cancellations in ``|g_1 - g_2|^2 = G_11 + G_22 - 2 G_12`` harmless), and shares it with
the conflict diagnostics; every solver works on it (the pure functions accept it as ``gram`` and
compute it themselves when it is not given), and the parameter axis ``P`` is never touched again.
Weights come back in the gradients' dtype.


All functions follow the TorchJD convention: they return weights ``w`` ``[..., T]`` such that the
update direction is ``(w.unsqueeze(-1) * grads).sum(-2)``, and they are vectorised over any leading
batch dimensions (the population's members), with no Python loop over them.
"""

from __future__ import annotations

import torch


def check_grads(grads: torch.Tensor) -> torch.Tensor:
    """Validate a per-task gradient stack ``[..., T, P]`` and return it unchanged.

    Raises:
        ValueError: ``grads`` is not a floating-point tensor with at least two dimensions and at
            least one task.
    """
    if not isinstance(grads, torch.Tensor):
        raise ValueError(f"grads must be a torch.Tensor [..., T, P], got {type(grads).__name__}")
    if grads.ndim < 2 or grads.shape[-2] < 1:
        raise ValueError(f"grads must have shape [..., T, P] with T >= 1, got {tuple(grads.shape)}")
    if not grads.is_floating_point():
        raise ValueError(f"grads must be floating point, got {grads.dtype}")
    return grads


def gram_matrix(grads: torch.Tensor) -> torch.Tensor:
    """The float64 Gram matrix ``G = grads @ grads^T``: ``[..., T, P] -> [..., T, T]``."""
    g = check_grads(grads).to(torch.float64)
    return g @ g.mT


def gram_entry(G: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """``G[..., i, j]`` for per-batch index tensors ``i``, ``j`` ``[...]`` (long): ``[...]``."""
    T = G.shape[-1]
    rows = G.gather(-2, i[..., None, None].expand(*i.shape, 1, T)).squeeze(-2)  # [..., T]
    return rows.gather(-1, j[..., None]).squeeze(-1)
