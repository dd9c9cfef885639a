"""Gradient-based weighting: shared Gram-matrix helpers and the :func:`gradient_weights` dispatcher.

Every gradient-based method here (MGDA, PCGrad, CAGrad, IMTL-G) depends on the per-task gradients
only through their Gram matrix ``G = grads @ grads^T``, ``[..., T, T]`` with ``G_ij = g_i . g_j``.
It is formed once, in float64 (a cheap ``T x T`` matrix per member, and float64 keeps the
cancellations in ``|g_1 - g_2|^2 = G_11 + G_22 - 2 G_12`` harmless), and every solver works on it;
the parameter axis ``P`` is never touched again. Weights come back in the gradients' dtype.

All functions follow the TorchJD convention: they return weights ``w`` ``[..., T]`` such that the
update direction is ``(w.unsqueeze(-1) * grads).sum(-2)``, and they are vectorised over any leading
batch dimensions (the population's members), with no Python loop over them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from mtl.errors import ConfigError
from mtl.limits import Range

GRADIENT_METHODS: tuple[str, ...] = ("mgda", "pcgrad", "cagrad", "imtl")
"""The names :func:`gradient_weights` accepts (``"imtl"`` is IMTL-G, the gradient part of IMTL)."""


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


def _table() -> dict[str, tuple[Callable[..., torch.Tensor], dict[str, Range]]]:
    # Imported here, not at module level: the method modules import the helpers above.
    from mtl.weighting.cagrad import CAGrad, cagrad_weights
    from mtl.weighting.imtl import imtl_g_weights
    from mtl.weighting.mgda import MGDA, mgda_weights
    from mtl.weighting.pcgrad import pcgrad_weights

    return {
        "mgda": (mgda_weights, dict(MGDA.hparams)),
        "pcgrad": (pcgrad_weights, {}),
        "cagrad": (cagrad_weights, dict(CAGrad.hparams)),
        "imtl": (imtl_g_weights, {}),
    }


def gradient_weights(name: str, grads: torch.Tensor, **hparams: Any) -> torch.Tensor:
    """Task weights of a gradient-based method: ``grads [..., T, P] -> weights [..., T]``.

    The update direction is ``(weights.unsqueeze(-1) * grads).sum(-2)`` (the TorchJD convention).

    Args:
        name: one of ``"mgda"``, ``"pcgrad"``, ``"cagrad"``, ``"imtl"`` (IMTL-G: the gradient part
            of IMTL, the only part that is a pure function of the gradients).
        grads: ``[..., T, P]`` per-task gradients, any leading batch dimensions.
        **hparams: the method's hyper-parameters, e.g. ``c=0.5`` for CAGrad or ``normalize=1`` for
            MGDA; PCGrad and IMTL-G take none.

    Raises:
        ConfigError: unknown ``name``, unknown hyper-parameter or value out of range (the field is
            ``weighting.method`` or ``weighting.params.<name>``).
    """
    table = _table()
    if name not in table:
        raise ConfigError("weighting.method", name, "one of " + ", ".join(GRADIENT_METHODS))
    fn, allowed = table[name]
    for key, value in hparams.items():
        if key not in allowed:
            raise ConfigError(
                f"weighting.params.{key}",
                value,
                f"one of: {', '.join(allowed)}" if allowed else f"no hyper-parameters for {name}",
            )
        if not allowed[key].contains(value):
            raise ConfigError(f"weighting.params.{key}", value, allowed[key].describe())
    return fn(grads, **hparams)
